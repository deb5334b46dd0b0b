"""Hidden checks for book/leaky_relu_family.ipynb (used only by scripts/grade.py)."""

import jax.numpy as jnp

import gradcourse as gc


def check_grad(leaky_grad):
    x = jnp.array([-3.0, -0.5, 0.0, 0.25, 4.0])
    for slope in (0.01, 0.3):
        got = jnp.asarray(leaky_grad(x, slope))
        expected = gc.leaky.leaky_relu_grad(x, slope)
        assert jnp.allclose(got, expected), f"slope {slope}: got {got.tolist()}"


def check_gain(leaky_gain):
    for a in (0.01, 0.2, 0.5, 1.0):
        got = float(leaky_gain(a))
        assert abs(got - (2 / (1 + a**2)) ** 0.5) < 1e-3, f"a = {a}: got {got:.4g}"


EXERCISES = {
    "leaky-ex-auto-grad": {"check": check_grad, "points": 1},
    "leaky-ex-auto-gain": {"check": check_gain, "points": 1},
}
