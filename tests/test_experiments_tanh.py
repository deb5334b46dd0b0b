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
