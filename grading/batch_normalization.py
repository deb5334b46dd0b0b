"""Hidden checks for book/batch_normalization.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp

import gradcourse as gc


def check_normalize(batch_normalize):
    x = jax.random.normal(jax.random.key(17), (32, 5)) * jnp.arange(1.0, 6.0) - 3
    ref = gc.normalization.batch_norm(gc.normalization.affine_init(5), x)
    assert jnp.allclose(batch_normalize(x), ref, atol=1e-5), "wrong values"
    ref = gc.normalization.batch_norm(gc.normalization.affine_init(5), x, eps=0.5)
    assert jnp.allclose(batch_normalize(x, eps=0.5), ref, atol=1e-5), "eps is ignored"


def check_layer_norm(layer_normalize):
    x = jax.random.normal(jax.random.key(18), (6, 10)) * 4 + jnp.arange(6.0)[:, None]
    ref = gc.normalization.layer_norm(gc.normalization.affine_init(10), x)
    assert jnp.allclose(layer_normalize(x), ref, atol=1e-5), "wrong values"
    one = layer_normalize(x[:1])
    assert jnp.allclose(one, ref[:1], atol=1e-5), (
        "an example must not depend on the batch"
    )


EXERCISES = {
    "batchnorm-ex-auto-normalize": {"check": check_normalize, "points": 1},
    "batchnorm-ex-auto-layer-norm": {"check": check_layer_norm, "points": 1},
}
