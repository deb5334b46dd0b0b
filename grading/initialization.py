"""Hidden checks for book/initialization.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp

import gradcourse as gc


def check_he_std(he_std):
    for shape in [(64, 32), (5, 500), (300, 3)]:
        got = float(he_std(shape))
        assert abs(got - (2 / shape[1]) ** 0.5) < 1e-6, f"shape {shape}: got {got:.4g}"
    w = gc.initializers.he_normal()(jax.random.key(15), (200, 400))
    assert abs(float(jnp.std(w)) / float(he_std((200, 400))) - 1) < 0.05, "vs samples"


def check_glorot_limit(glorot_limit):
    for shape in [(20, 80), (7, 3), (256, 256)]:
        got = float(glorot_limit(shape))
        assert abs(got - (6 / sum(shape)) ** 0.5) < 1e-6, (
            f"shape {shape}: got {got:.4g}"
        )
    w = gc.initializers.glorot_uniform()(jax.random.key(16), (100, 300))
    r = float(glorot_limit((100, 300)))
    assert 0.98 * r < float(jnp.max(jnp.abs(w))) <= r * (1 + 1e-6), "vs samples"


EXERCISES = {
    "initialization-ex-auto-he-std": {"check": check_he_std, "points": 1},
    "initialization-ex-auto-glorot-limit": {"check": check_glorot_limit, "points": 1},
}
