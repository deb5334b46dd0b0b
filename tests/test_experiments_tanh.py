"""The tanh chapter's depth sweep, on other seeds: sigma_w = 1 is critical with no bias."""

import jax
import numpy as np
import pytest

import gradcourse as gc


@pytest.fixture(scope="module")
def batch():
    kx, ky = jax.random.split(jax.random.key(21))
    return jax.random.normal(kx, (64, 16)), jax.random.randint(ky, (64,), 0, 4)


def test_factor_by_depth_tends_to_one_at_sigma_w_one(batch):
    keys = jax.random.split(jax.random.key(22), 4)
    f = gc.experiments.tanh.factor_by_depth(
        keys, *batch, sigma_w=1.0, depths=(10, 60, 200), width=32
    )
    assert f.shape == (4, 3)
    med = np.median(f, axis=0)
    assert np.all(med < 1.0) and np.all(np.diff(med) > 0)  # below one, rising to it
    assert med[-1] > 0.97


def test_factor_by_depth_explodes_slowly_above(batch):
    keys = jax.random.split(jax.random.key(23), 4)
    f = gc.experiments.tanh.factor_by_depth(
        keys, *batch, sigma_w=1.2, depths=(200,), width=32
    )
    sqrt_chi = float(np.sqrt(gc.meanfield.mean_field(1.44, 0.0, "tanh").chi))
    assert np.median(f) > 1.0
    assert np.median(f) == pytest.approx(sqrt_chi, abs=0.01)


def test_factor_by_depth_rejects_bad_arguments(batch):
    keys = jax.random.split(jax.random.key(24), 2)
    with pytest.raises(ValueError, match="depth"):
        gc.experiments.tanh.factor_by_depth(keys, *batch, sigma_w=1.0, depths=(1,))
    with pytest.raises(ValueError, match="sigma_w"):
        gc.experiments.tanh.factor_by_depth(keys, *batch, sigma_w=0.0, depths=(5,))


def test_mean_activation_tanh_near_zero_sigmoid_near_half(batch):
    keys = jax.random.split(jax.random.key(25), 3)
    xs, _ = batch
    tanh, sig = (
        gc.experiments.tanh.mean_activation(
            keys, xs, gc.experiments.sigmoid.Networks(act, depth=8)
        )
        for act in ("tanh", "sigmoid")
    )
    assert tanh.shape == sig.shape == (3, 8)
    assert np.all(np.abs(tanh) < 0.1)
    assert np.all((sig > 0.4) & (sig < 0.6))


def test_weight_sweep_vanishes_below_explodes_above(batch):
    keys = jax.random.split(jax.random.key(26), 3)
    sigma_ws = (0.5, 1.0, 3.0)
    sweep = gc.experiments.tanh.weight_sweep(
        keys, *batch, sigma_ws=sigma_ws, depth=12, width=32
    )
    assert sweep.factor.shape == sweep.rms_slope.shape == sweep.saturated.shape
    assert sweep.factor.shape == (3, 3)
    assert np.all(sweep.factor[:, 0] < 1) and np.all(sweep.factor[:, 2] > 1)
    assert np.all(
        np.diff(sweep.rms_slope, axis=1) < 0
    )  # larger weights, flatter slopes
    assert np.all(np.diff(sweep.saturated, axis=1) >= 0)
    assert np.all(sweep.saturated[:, 2] > 0.2)
    # the factor is close to sigma_w times the RMS slope (mean-field sqrt(chi))
    product = np.asarray(sigma_ws) * sweep.rms_slope
    np.testing.assert_allclose(sweep.factor, product, rtol=0.15)


def test_weight_sweep_and_mean_activation_reject_bad_arguments(batch):
    keys = jax.random.split(jax.random.key(27), 2)
    with pytest.raises(ValueError, match="sigma_w"):
        gc.experiments.tanh.weight_sweep(keys, *batch, sigma_ws=(-1.0,), depth=4)
    with pytest.raises(ValueError, match="depth"):
        gc.experiments.tanh.weight_sweep(keys, *batch, sigma_ws=(1.0,), depth=1)
    with pytest.raises(ValueError, match="width"):
        gc.experiments.tanh.mean_activation(
            keys, batch[0], gc.experiments.sigmoid.Networks("tanh", width=0)
        )
