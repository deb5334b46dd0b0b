"""Hidden checks for book/residual_connections.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp
import numpy as np


def check_jacobian(residual_jacobian):
    kw, kb, kh = jax.random.split(jax.random.key(19), 3)
    w = jax.random.normal(kw, (7, 7))
    b = jax.random.normal(kb, (7,))
    h = jax.random.normal(kh, (7,))
    ref = jax.jacfwd(lambda v: v + jax.nn.relu(w @ v + b))(h)
    assert jnp.allclose(residual_jacobian(w, b, h), ref, atol=1e-5), "wrong Jacobian"


def check_correlation(neighbour_corr):
    noise = jax.random.normal(jax.random.key(20), (200,))
    for v in (noise, jnp.cos(jnp.linspace(0.0, 9.0, 80)), jnp.arange(10.0) ** 2):
        got = float(neighbour_corr(v))
        a, b = np.asarray(v[:-1], np.float64), np.asarray(v[1:], np.float64)
        expected = float(np.corrcoef(a, b)[0, 1])
        assert abs(got - expected) < 1e-4, (
            f"got {got:.4g} on a length-{v.shape[0]} array"
        )


EXERCISES = {
    "residual-ex-auto-jacobian": {"check": check_jacobian, "points": 1},
    "residual-ex-auto-correlation": {"check": check_correlation, "points": 1},
}
