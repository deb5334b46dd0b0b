"""Hidden checks for book/gradient_clipping.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp
import numpy as np

import gradcourse as gc


def check_global(clip_global):
    tree = {"a": jnp.arange(6.0).reshape(2, 3), "b": [jnp.array([-7.0]), jnp.ones(4)]}
    for c in (0.5, 3.0, 100.0):
        got = clip_global(tree, c)
        ref, _ = gc.clipping.clip_tree_by_global_norm(tree, c)
        same = jax.tree.map(lambda x, y: bool(jnp.allclose(x, y, atol=1e-6)), got, ref)
        assert all(jax.tree.leaves(same)), f"max_norm {c}: wrong result"


def check_cosine(clipped_cosine):
    g = jax.random.normal(jax.random.key(21), (50,)) * 3
    for delta in (0.5, 2.0, 100.0):
        got = float(clipped_cosine(g, delta))
        c = np.clip(np.asarray(g, np.float64), -delta, delta)
        gg = np.asarray(g, np.float64)
        expected = gg @ c / (np.linalg.norm(gg) * np.linalg.norm(c))
        assert abs(got - expected) < 1e-5, f"delta {delta}: got {got:.4g}"


EXERCISES = {
    "clipping-ex-auto-global": {"check": check_global, "points": 1},
    "clipping-ex-auto-cosine": {"check": check_cosine, "points": 1},
}
