"""Hidden checks for book/jacobian_products.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp
import numpy as np

import gradcourse as gc


def check_radius(spectral_radius):
    a = jax.random.normal(jax.random.key(12), (6, 6))
    cases = [
        a,
        jnp.array([[0.5, 100.0], [0.0, 0.5]]),
        jnp.diag(jnp.array([-3.0, 1.0, 2.0])),
    ]
    for m in cases:
        expected = float(np.max(np.abs(np.linalg.eigvals(np.asarray(m, np.float64)))))
        got = float(spectral_radius(m))
        assert abs(got - expected) < 1e-4 * expected, f"{m.shape} matrix: got {got:.4g}"


def check_log_growth(predicted_log_norm):
    for n, sigma, depth in [(16, 1.0, 10), (128, 1.5, 30), (8, 0.7, 100)]:
        mean, _ = gc.randmat.gaussian_log_growth(n, sigma)
        got = float(predicted_log_norm(n, sigma, depth))
        assert abs(got - depth * mean) < 1e-4 * abs(depth * mean) + 1e-6, (
            f"n={n}, sigma={sigma}, depth={depth}: got {got:.4g}"
        )


EXERCISES = {
    "jacobian_products-ex-auto-radius": {"check": check_radius, "points": 1},
    "jacobian_products-ex-auto-log-growth": {"check": check_log_growth, "points": 1},
}
