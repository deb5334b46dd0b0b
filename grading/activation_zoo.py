"""Hidden checks for book/activation_zoo.ipynb (used only by scripts/grade.py)."""

import numpy as np

import gradcourse as gc


def check_max_slope(measured_max_slope):
    for name in ("relu", "elu", "silu", "gelu", "softplus", "mish"):
        grid = np.linspace(-10, 10, 20001)
        expected = float(np.max(np.abs(np.asarray(gc.registry.get(name).grad(grid)))))
        got = float(measured_max_slope(name))
        assert abs(got - expected) < 1e-4, f"{name}: got {got:.4g}"


def check_second_moment(second_moment_gain):
    z = np.linspace(-12, 12, 200_001)
    pdf = np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
    for name in ("tanh", "elu", "selu", "leaky_relu"):
        fn = gc.registry.get(name).fn
        second = np.sum(np.asarray(fn(z), np.float64) ** 2 * pdf) * (z[1] - z[0])
        got = float(second_moment_gain(name))
        assert abs(got - second**-0.5) < 2e-3, f"{name}: got {got:.4g}"


EXERCISES = {
    "zoo-ex-auto-max-slope": {"check": check_max_slope, "points": 1},
    "zoo-ex-auto-second-moment": {"check": check_second_moment, "points": 1},
}
