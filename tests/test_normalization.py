"""Batch and layer normalisation against their formulas, jax.grad and each other."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

N = gc.normalization


@pytest.fixture
def batch(key):
    kx, kg, kb = jax.random.split(key, 3)
    x = 3.0 + 2.5 * jax.random.normal(kx, (32, 6))
    params = N.Affine(jax.random.normal(kg, (6,)), jax.random.normal(kb, (6,)))
    return params, x


def _manual_batch_norm(gamma, beta, x, eps=1e-5):
    m = x.shape[0]
    mu = jnp.sum(x, axis=0) / m
    var = jnp.sum((x - mu) ** 2, axis=0) / m
    return gamma * (x - mu) / jnp.sqrt(var + eps) + beta


def test_batch_norm_standardises_each_feature(batch):
    _, x = batch
    y = N.batch_norm(N.affine_init(6), x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    # Variance sigma^2 / (sigma^2 + eps), with sigma^2 about 6: 1 to within 1e-5.
    np.testing.assert_allclose(y.var(axis=0), 1.0, atol=1e-5)


def test_batch_norm_equals_manual_formula_and_gamma_beta(batch):
    params, x = batch
    y = N.batch_norm(params, x)
    np.testing.assert_allclose(y, _manual_batch_norm(*params, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y.mean(axis=0), params.beta, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), jnp.abs(params.gamma), rtol=1e-4)


def test_batch_norm_gradient_equals_jax_grad_of_manual_formula(batch, key):
    params, x = batch
    cot = jax.random.normal(key, x.shape)

    def ours(p, x_):
        return jnp.sum(cot * N.batch_norm(N.Affine(*p), x_))

    def manual(p, x_):
        return jnp.sum(cot * _manual_batch_norm(p[0], p[1], x_))

    g_ours = jax.grad(ours, argnums=(0, 1))(tuple(params), x)
    g_manual = jax.grad(manual, argnums=(0, 1))(tuple(params), x)
    for a, b in zip(jax.tree.leaves(g_ours), jax.tree.leaves(g_manual), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # The analytic input gradient of Ioffe & Szegedy (2015, section 3):
    # dx = gamma / sigma * (g - mean(g) - xhat * mean(g * xhat)).
    sigma = jnp.sqrt(x.var(axis=0) + 1e-5)
    xhat = (x - x.mean(axis=0)) / sigma
    dx = params.gamma / sigma * (cot - cot.mean(0) - xhat * (cot * xhat).mean(0))
    np.testing.assert_allclose(g_ours[1], dx, rtol=1e-4, atol=1e-5)


def test_batch_norm_is_invariant_to_weight_scale(batch, key):
    params, x = batch
    w = jax.random.normal(key, (5, 6))
    p5 = N.affine_init(5)

    def loss(w_):
        return jnp.sum(jnp.sin(N.batch_norm(p5, x @ w_.T)))

    np.testing.assert_allclose(
        N.batch_norm(p5, x @ (7.0 * w).T), N.batch_norm(p5, x @ w.T), atol=1e-4
    )
    np.testing.assert_allclose(jax.grad(loss)(7.0 * w), jax.grad(loss)(w) / 7.0,
                               rtol=1e-3, atol=1e-6)  # fmt: skip


def test_batch_norm_evaluation_uses_given_stats(batch):
    params, x = batch
    stats = N.Stats(jnp.full(6, 2.0), jnp.full(6, 4.0))
    y = N.batch_norm(params, x, stats, eps=1e-5)
    expected = params.gamma * (x - 2.0) / jnp.sqrt(4.0 + 1e-5) + params.beta
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    # With fixed statistics, each example's output does not depend on the others.
    np.testing.assert_allclose(N.batch_norm(params, x[:3], stats), y[:3], rtol=1e-6)
    assert not np.allclose(N.batch_norm(params, x[:3]), N.batch_norm(params, x)[:3])


def test_layer_norm_standardises_each_example(batch):
    _, x = batch
    y = N.layer_norm(N.affine_init(6), x)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(N.layer_norm(N.affine_init(6), x[:1]), y[:1], rtol=1e-6)
    # It is batch norm of the transposed problem.
    np.testing.assert_allclose(y, N.batch_norm(N.affine_init(32), x.T).T, atol=1e-5)


def test_zero_padding_rows_move_batch_norm_but_not_layer_norm(batch):
    """The padding experiment of the batch-normalisation chapter: rows of zeros added to
    the batch change batch norm's output for the real rows, never layer norm's."""
    _, x = batch
    padded = jnp.concatenate([x, jnp.zeros((3 * x.shape[0], x.shape[1]))])
    aff = N.affine_init(x.shape[1])
    np.testing.assert_array_equal(
        N.layer_norm(aff, padded)[: x.shape[0]], N.layer_norm(aff, x)
    )
    assert (
        np.abs(N.batch_norm(aff, padded)[: x.shape[0]] - N.batch_norm(aff, x)).max()
        > 0.5
    )


def test_ema_running_average():
    running = N.Stats(jnp.zeros(2), jnp.ones(2))
    new = N.ema(running, N.Stats(jnp.ones(2), jnp.full(2, 3.0)), decay=0.9)
    np.testing.assert_allclose(new.mean, 0.1, rtol=1e-6)
    np.testing.assert_allclose(new.var, 1.2, rtol=1e-6)


def test_normalization_validates_arguments(batch):
    params, x = batch
    with pytest.raises(ValueError, match="eps"):
        N.batch_norm(params, x, eps=0.0)
    with pytest.raises(ValueError, match="x must have 2"):
        N.batch_norm(params, x[0])
    with pytest.raises(ValueError, match="eps"):
        N.layer_norm(params, x, eps=-1.0)
    with pytest.raises(ValueError, match="decay"):
        N.ema(N.Stats(x[0], x[0]), N.Stats(x[0], x[0]), decay=1.0)
    with pytest.raises(ValueError, match="features"):
        N.affine_init(0)
