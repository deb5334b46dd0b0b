"""Hidden checks for book/detecting_gradient_problems.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp

import gradcourse as gc


def check_ratio(classify):
    cases = [
        (jnp.array([1e-4, 1e-2, 1.0]), {}, "vanishing"),
        (jnp.array([50.0, 1.0]), {}, "healthy"),
        (jnp.array([1e3, 1.0]), {}, "exploding"),
        (jnp.array([0.5, 1.0]), {"low": 0.9}, "vanishing"),
        (jnp.array([5.0, 1.0]), {"high": 2.0}, "exploding"),
    ]
    for norms, kwargs, expected in cases:
        got = classify(norms, **kwargs)
        assert got == expected, f"norms {norms.tolist()} {kwargs}: got {got!r}"


def check_saturated(saturated_share):
    post = jnp.tanh(3 * jax.random.normal(jax.random.key(13), (5, 4, 7)))
    for tol in (0.01, 0.1):
        got = jnp.asarray(saturated_share(post, tol))
        expected = gc.health.saturated_fraction(post, "tanh", tol)
        assert got.shape == (4,), f"expected one value per layer, got shape {got.shape}"
        assert jnp.allclose(got, expected, atol=1e-6), f"tol = {tol}: wrong fractions"


EXERCISES = {
    "detecting-ex-auto-ratio": {"check": check_ratio, "points": 1},
    "detecting-ex-auto-saturated": {"check": check_saturated, "points": 1},
}
