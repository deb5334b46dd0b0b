"""Hidden checks for book/sigmoid.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp
import numpy as np

import gradcourse as gc


def check_saturation(saturation_threshold):
    for eps in (1e-3, 0.05, 0.2):
        x = float(saturation_threshold(eps))
        assert x > 0, f"eps = {eps}: the threshold must be positive, got {x:.3g}"
        s = 1 / (1 + np.exp(-x))
        assert abs(s * (1 - s) - eps) < 1e-4 * eps + 1e-7, (
            f"eps = {eps}: got x = {x:.4g}"
        )


def check_via_tanh(sigmoid_grad_via_tanh):
    x = jnp.linspace(-9.0, 9.0, 37)
    got = jnp.asarray(sigmoid_grad_via_tanh(x))
    assert got.shape == x.shape, "must work elementwise on arrays"
    expected = jax.vmap(jax.grad(gc.activations.sigmoid))(x)
    assert jnp.allclose(got, expected, atol=1e-6), "wrong values on [-9, 9]"


EXERCISES = {
    "sigmoid-ex-auto-saturation": {"check": check_saturation, "points": 1},
    "sigmoid-ex-auto-via-tanh": {"check": check_via_tanh, "points": 1},
}
