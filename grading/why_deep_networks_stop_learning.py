"""Hidden checks for book/why_deep_networks_stop_learning.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp
import numpy as np


def check_chain(chain_derivative):
    pre = jax.random.normal(jax.random.key(11), (7,)) * 2
    s = 1 / (1 + np.exp(-np.asarray(pre, np.float64)))
    expected = np.prod(s * (1 - s))
    got = float(chain_derivative(pre))
    assert abs(got - expected) <= 1e-4 * expected, f"7 random layers: got {got:.4g}"
    assert float(chain_derivative(jnp.array([3.0]))) < 0.25, "one saturated layer"


def check_depth(depth_to_vanish):
    for factor, threshold in [(0.25, 1e-6), (0.5, 1e-3), (0.9, 0.01), (0.1, 0.5)]:
        brute = next(n for n in range(1, 1000) if factor**n < threshold)
        got = depth_to_vanish(factor, threshold)
        assert got == brute, f"factor {factor}, threshold {threshold}: got {got}"


EXERCISES = {
    "why-ex-auto-chain": {"check": check_chain, "points": 1},
    "why-ex-auto-depth": {"check": check_depth, "points": 1},
}
