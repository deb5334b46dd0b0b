"""Hidden checks for book/tanh.ipynb (used only by scripts/grade.py)."""

import jax.numpy as jnp
import numpy as np


def check_from_sigmoid(tanh_from_sigmoid):
    x = jnp.linspace(-7.0, 7.0, 29)
    got = jnp.asarray(tanh_from_sigmoid(x))
    assert got.shape == x.shape, "must work elementwise on arrays"
    assert jnp.allclose(got, jnp.tanh(x), atol=1e-6), "wrong values on [-7, 7]"


def check_slope_ratio(slope_ratio):
    x = jnp.array([-4.0, -1.5, 0.5, 2.0, 5.0])
    got = jnp.asarray(slope_ratio(x))
    x64 = np.asarray(x, np.float64)
    sig = 1 / (1 + np.exp(-x64))
    expected = (1 / np.cosh(x64) ** 2) / (sig * (1 - sig))
    assert np.allclose(np.asarray(got), expected, rtol=2e-3), "wrong values away from 0"


EXERCISES = {
    "tanh-ex-auto-from-sigmoid": {"check": check_from_sigmoid, "points": 1},
    "tanh-ex-auto-slope-ratio": {"check": check_slope_ratio, "points": 1},
}
