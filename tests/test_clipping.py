"""Clipping against optax, and its bound as a property over random gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc


def _random_tree(key, scale):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "w": jax.random.normal(k1, (6, 5)) * scale,
        "b": jax.random.cauchy(k2, (5,)) * scale,
        "stack": jax.random.normal(k3, (3, 4, 4)) * scale,
    }


def _trees(key, n=60):
    # Gradient scales from 1e-4 to 1e4, so both branches (inside / outside) occur.
    keys = jax.random.split(key, n)
    scales = np.logspace(-4, 4, n)
    return [_random_tree(k, s) for k, s in zip(keys, scales, strict=True)]


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 1.0, 30.0])
def test_clip_by_global_norm_equals_optax_and_respects_bound(key, max_norm):
    ours, theirs = (
        gc.clipping.clip_by_global_norm(max_norm),
        optax.clip_by_global_norm(max_norm),
    )
    n_clipped = 0
    for g in _trees(key):
        got, _ = ours.update(g, ours.init(g))
        want, _ = theirs.update(g, theirs.init(g))
        for leaf in g:
            np.testing.assert_allclose(got[leaf], want[leaf], rtol=1e-6, atol=0)
        norm = float(gc.clipping.global_norm(got))
        assert norm <= max_norm * (1 + 1e-5)
        before = float(gc.clipping.global_norm(g))
        if before >= max_norm:
            n_clipped += 1
            assert norm == pytest.approx(max_norm, rel=1e-5)
        else:
            assert all(bool(jnp.array_equal(got[k], g[k])) for k in g)
    assert 0 < n_clipped < 60  # both branches were exercised


def test_clip_by_global_norm_keeps_direction_and_layer_ratios(key):
    g = _random_tree(key, 100.0)
    clipped, norm = gc.clipping.clip_tree_by_global_norm(g, 1.0)
    factor = 1.0 / float(norm)
    for leaf in g:
        np.testing.assert_allclose(clipped[leaf], g[leaf] * factor, rtol=1e-6)
    ratio = jnp.linalg.norm(g["w"]) / jnp.linalg.norm(g["b"])
    ratio_clipped = jnp.linalg.norm(clipped["w"]) / jnp.linalg.norm(clipped["b"])
    assert float(ratio_clipped) == pytest.approx(float(ratio), rel=1e-5)


def test_global_norm_equals_optax(key):
    for g in _trees(key, 10):
        assert float(gc.clipping.global_norm(g)) == pytest.approx(
            float(optax.tree.norm(g)), rel=1e-6
        )


@pytest.mark.parametrize("max_delta", [1e-2, 1.0, 5.0])
def test_clip_by_value_equals_optax_and_respects_bound(key, max_delta):
    ours, theirs = gc.clipping.clip(max_delta), optax.clip(max_delta)
    for g in _trees(key, 20):
        got, _ = ours.update(g, ours.init(g))
        want, _ = theirs.update(g, theirs.init(g))
        for leaf in g:
            np.testing.assert_array_equal(got[leaf], want[leaf])
            assert float(jnp.max(jnp.abs(got[leaf]))) <= max_delta
            inside = jnp.abs(g[leaf]) <= max_delta
            assert bool(jnp.all(jnp.where(inside, got[leaf] == g[leaf], True)))


def test_clipping_chains_with_an_optimizer_like_optax(key):
    g = _random_tree(key, 50.0)
    params = jax.tree.map(jnp.zeros_like, g)
    ours = optax.chain(gc.clipping.clip_by_global_norm(1.0), gc.optim.adam(1e-3))
    theirs = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
    got, _ = ours.update(g, ours.init(params), params)
    want, _ = theirs.update(g, theirs.init(params), params)
    for leaf in g:
        np.testing.assert_allclose(got[leaf], want[leaf], rtol=1e-5)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: gc.clipping.clip_by_global_norm(0.0), "max_norm"),
        (lambda: gc.clipping.clip_by_global_norm(-1.0), "max_norm"),
        (lambda: gc.clipping.clip(0.0), "max_delta"),
        (
            lambda: gc.clipping.clip_tree_by_value(jnp.ones(2), float("inf")),
            "max_delta",
        ),
        (lambda: gc.clipping.clip_tree_by_global_norm(jnp.ones(2), None), "max_norm"),
    ],
)
def test_clipping_rejects_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_clip_each_by_norm_bounds_every_leaf_separately(key):
    opt = gc.clipping.clip_each_by_norm(1.0)
    for g in _trees(key, 30):
        got, _ = opt.update(g, opt.init(g))
        for leaf in g:
            norm = float(jnp.linalg.norm(g[leaf]))
            want = g[leaf] * min(1.0, 1.0 / norm)
            np.testing.assert_allclose(got[leaf], want, rtol=1e-5)
            assert float(jnp.linalg.norm(got[leaf])) <= 1.0 + 1e-5
    with pytest.raises(ValueError, match="max_norm"):
        gc.clipping.clip_each_by_norm(-2.0)


@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_global_norm_neither_underflows_nor_overflows(key, scale):
    # Squares of 1e-30 underflow float32 to 0 and squares of 1e30 overflow to Inf; the
    # rescaled norm is exactly homogeneous instead.
    g = _random_tree(key, 1.0)
    unit = float(gc.clipping.global_norm(g))
    big_or_tiny = jax.tree.map(lambda a: a * scale, g)
    got = float(gc.clipping.global_norm(big_or_tiny))
    assert got == pytest.approx(unit * scale, rel=1e-5)
    plain = float(optax.tree.norm(big_or_tiny))  # the unscaled sqrt(sum(g**2))
    assert plain == (0.0 if scale < 1 else np.inf)


def test_clip_by_global_norm_bounds_a_gradient_whose_squares_overflow(key):
    g = _random_tree(key, 1e25)
    clipped, norm = gc.clipping.clip_tree_by_global_norm(g, 1.0)
    assert np.isfinite(float(norm))
    assert float(gc.clipping.global_norm(clipped)) == pytest.approx(1.0, rel=1e-5)


def test_global_norm_of_an_empty_tree_is_zero():
    assert float(gc.clipping.global_norm({})) == 0.0


def test_clip_tree_by_global_norm_accepts_a_traced_bound(key):
    g = _random_tree(key, 10.0)
    bounds = jnp.array([0.5, 3.0, 1e6])
    got = jax.jit(jax.vmap(lambda c: gc.clipping.clip_tree_by_global_norm(g, c)[0]))(
        bounds
    )
    for i, c in enumerate(bounds.tolist()):
        want, _ = gc.clipping.clip_tree_by_global_norm(g, c)
        for leaf in g:
            np.testing.assert_allclose(got[leaf][i], want[leaf], rtol=1e-6)

    def relative(g):  # a bound computed from the gradient itself, inside jit
        return gc.clipping.clip_tree_by_global_norm(g, 0.1 * gc.clipping.global_norm(g))

    clipped, norm = jax.jit(relative)(g)
    assert float(gc.clipping.global_norm(clipped)) == pytest.approx(
        0.1 * float(norm), rel=1e-5
    )
