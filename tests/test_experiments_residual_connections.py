"""Tests of gradcourse.experiments.residual_connections, on other seeds than the chapter's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

E = gc.experiments.residual_connections


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits(jax.random.key(21))


@pytest.fixture(scope="module")
def nets():
    return E.init_networks(jax.random.split(jax.random.key(22), 2), width=32, depth=100)


def test_pick_block_is_one_block_of_one_seed(nets):
    layer = E.pick_block(nets, seed=1, index=7)
    np.testing.assert_array_equal(layer[0].w, nets.branch[0].w[1, 7])
    assert layer[0].w.shape == (32, 32)
    with pytest.raises(ValueError, match="index"):
        E.pick_block(nets, seed=0, index=100)
    with pytest.raises(ValueError, match="seed"):
        E.pick_block(nets, seed=2, index=0)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_closed_form_jacobian_matches_jacfwd(nets, key, activation):
    layer = E.pick_block(nets, seed=1, index=30)
    h = jax.random.normal(key, (32,))
    assert bool(E.jacobian_matches_jacfwd(layer, h, activation, (1.0, 0.3, 0.05)))


def test_scaled_block_singular_values_obey_weyl(nets, key):
    layer = E.pick_block(nets, seed=0, index=60)
    h = jax.random.normal(key, (32,))
    alpha = 0.1
    s = E.block_singular_values(layer, h, "tanh", branch_scale=alpha)
    bound = alpha * s["plain"].max()
    assert bound < 1
    assert np.all(np.abs(s["scaled"] - 1) <= bound + 1e-5)
    assert (
        s["scaled"].min() > s["residual"].min()
    )  # the unscaled branch guarantees less
    assert np.all(np.diff(s["plain"]) <= 0)  # largest first
    with pytest.raises(ValueError, match="branch_scale"):
        E.block_singular_values(layer, h, branch_scale=0.0)


def test_shortcuts_trade_vanishing_for_growth_unless_scaled(nets, digits):
    """The chapter's claim on other seeds and width 32: plain tanh vanishes, unscaled
    shortcuts explode, alpha = 1/sqrt(L) stays near 1."""
    xs, ys = digits.x_train[:64], digits.y_train[:64]
    norms = E.grad_norms_by_wiring(
        nets, xs, ys, residual=[False, True, True], branch_scale=[1.0, 1.0, 0.1]
    )
    assert norms.shape == (3, 2, 101)
    ratio = norms[:, :, 0] / norms[:, :, -1]
    assert np.all(ratio[0] < 0.5)
    assert np.all(ratio[1] > 20)
    assert np.all((ratio[2] > 0.5) & (ratio[2] < 2))
    plain = gc.probes.grad_norms(
        jax.tree.map(lambda a: a[1], nets), xs, ys, "tanh", residual=False
    )
    np.testing.assert_allclose(norms[0, 1], plain.hidden, rtol=1e-4)
    with pytest.raises(ValueError, match="branch_scale"):
        E.grad_norms_by_wiring(nets, xs, ys, residual=[True], branch_scale=[1.0, 0.5])


def test_degradation_deep_plain_trains_worse_than_shallow_and_residual(digits):
    """He et al.'s degradation at laptop scale, on another key and three seeds."""
    blocks = jnp.arange(24)
    wirings = {
        "plain, 6": (blocks >= 6, jnp.where(blocks < 6, 1.0, 0.0)),
        "plain, 24": (blocks < 0, jnp.ones(24)),
        "residual, 24": (blocks >= 0, jnp.full(24, 1 / np.sqrt(24))),
    }
    deg = E.degradation(jax.random.key(23), digits, wirings, seeds=3)
    assert deg.final_loss.shape == deg.accuracy.shape == (3, 3)
    assert deg.losses.shape == (3, 3, 100)
    assert deg.wiring.branch_scale.shape == (9, 24)  # beside the weights, per run
    identity = np.asarray(deg.wiring.branch_scale) == 0  # the 6-block network's tail
    np.testing.assert_array_equal(
        deg.params.branch[0].w[identity], deg.start.branch[0].w[identity]
    )
    plain6, plain24, res24 = deg.final_loss
    assert plain24.min() > plain6.max()
    assert res24.max() < plain24.min()


def test_degradation_rejects_bad_wirings(digits):
    with pytest.raises(ValueError, match="wirings"):
        E.degradation(jax.random.key(0), digits, {})
    ragged = {"a": (jnp.ones(3), jnp.ones(4))}
    with pytest.raises(ValueError, match="wirings"):
        E.degradation(jax.random.key(0), digits, ragged)


def test_plain_networks_shatter_residual_ones_resist():
    grid = jnp.linspace(-2.0, 2.0, 128)[:, None]
    keys = jax.random.split(jax.random.key(24), 3)
    shat = E.shattering(keys, grid, depth=30, width=32)
    assert shat.rho.shape == (2, 3, 31) and shat.f_prime.shape == (2, 3, 128, 31)
    plain_end, res_end = np.median(shat.rho[:, :, -1], axis=1)
    assert plain_end < res_end and res_end > 0.95
    assert plain_end < np.median(shat.rho[0, :, 0])  # the plain one decorrelates
    # Without biases a ReLU network of a scalar input bends only at 0 (the exercise).
    flat = E.shattering(keys, grid, depth=30, width=32, bias_std=0.0)
    assert np.min(flat.rho[0, :, -1]) > 0.95


def test_shattering_rejects_bad_input():
    keys = jax.random.split(jax.random.key(0), 1)
    with pytest.raises(ValueError, match="grid"):
        E.shattering(keys, jnp.linspace(-1, 1, 8))
    with pytest.raises(ValueError, match="bias_std"):
        E.shattering(keys, jnp.zeros((8, 1)), bias_std=-1.0)


def test_the_buggy_block_doubles_the_branch_and_loses_its_input(nets, key):
    layer = E.pick_block(nets, seed=1, index=3)
    as_derived, x0, bug_off, fix_off = E.compare_buggy_block(layer, key)
    assert bool(as_derived)
    np.testing.assert_array_equal(bug_off, 0.0)
    np.testing.assert_allclose(fix_off, x0)
    x = jax.random.normal(key, (32,))
    branch = gc.residual.block(layer, x, "relu", residual=False)
    np.testing.assert_allclose(E.buggy_block(layer, x), 2 * branch, rtol=1e-6)
