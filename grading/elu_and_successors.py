"""Hidden checks for book/elu_and_successors.ipynb (used only by scripts/grade.py)."""

import jax.numpy as jnp
import numpy as np

import gradcourse as gc


def check_grad_from_output(elu_grad_from_output):
    x = jnp.linspace(-5.0, 3.0, 33)
    for alpha in (0.5, 2.0):
        y = gc.activations.elu(x, alpha)
        got = jnp.asarray(elu_grad_from_output(y, alpha))
        expected = gc.activations.elu_grad(x, alpha)
        assert jnp.allclose(got, expected, atol=1e-5), f"alpha = {alpha}: wrong values"


def check_selu_moments(selu_moments):
    mean, second = selu_moments()
    z = np.linspace(-12, 12, 400_001)
    pdf = np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
    y = np.asarray(gc.activations.selu(z), np.float64)
    dz = z[1] - z[0]
    assert abs(float(mean) - np.sum(y * pdf) * dz) < 3e-3, (
        f"mean: got {float(mean):.4g}"
    )
    assert abs(float(second) - np.sum(y**2 * pdf) * dz) < 3e-3, (
        f"second: {float(second):.4g}"
    )


EXERCISES = {
    "elu-ex-auto-grad-from-output": {"check": check_grad_from_output, "points": 1},
    "elu-ex-auto-selu-moments": {"check": check_selu_moments, "points": 1},
}
