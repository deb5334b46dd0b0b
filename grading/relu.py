"""Hidden checks for book/relu.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp

import gradcourse as gc


def check_born_dead(born_dead):
    for width, depth in [(1, 1), (3, 20), (5, 100), (10, 50)]:
        expected = 1 - (1 - 0.5**width) ** depth
        got = float(born_dead(width, depth))
        assert abs(got - expected) < 1e-5, (
            f"width {width}, depth {depth}: got {got:.4g}"
        )


def check_dead_units(dead_share):
    z = jax.random.normal(jax.random.key(14), (6, 3, 8)) - 1.5
    post = gc.activations.relu(z)
    got = jnp.asarray(dead_share(post))
    assert got.shape == (3,), f"expected one value per layer, got shape {got.shape}"
    assert jnp.allclose(got, gc.health.dead_fraction(post)), "wrong fractions"


EXERCISES = {
    "relu-ex-auto-born-dead": {"check": check_born_dead, "points": 1},
    "relu-ex-auto-dead-units": {"check": check_dead_units, "points": 1},
}
