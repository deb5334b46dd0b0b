"""The sigmoid chapter's experiments, on other seeds and smaller networks."""

import jax
import numpy as np
import pytest

import gradcourse as gc

EXP = gc.experiments.sigmoid


@pytest.fixture(scope="module")
def batch():
    split = gc.data.digits(jax.random.key(31))
    return split.x_train[:128], split.y_train[:128]


@pytest.fixture(scope="module")
def keys():
    return jax.random.split(jax.random.key(32), 3)


def test_init_seeds_draws_the_probed_networks(keys, batch):
    xs, ys = batch
    params = EXP.init_seeds(keys, 64, 10, EXP.Networks(sigma_w=2.0, depth=6, width=16))
    assert params.hidden.w.shape == (3, 5, 16, 16)
    direct = gc.probes.grad_norms(
        jax.tree.map(lambda a: a[1], params), xs, ys, "sigmoid"
    )
    probed = gc.probes.probe_seeds(
        keys,
        xs,
        ys,
        width=16,
        depth=6,
        activation="sigmoid",
        w_init=gc.initializers.lecun_normal(2.0),
    )
    np.testing.assert_allclose(direct.hidden, probed.hidden[1], rtol=1e-5)


def test_gradient_factor_is_below_quarter_and_predicted(keys, batch):
    nets = EXP.Networks(sigma_w=1.0, depth=12, width=48)
    r = EXP.gradient_factor(keys, *batch, nets)
    assert r.factor.shape == r.rms_slope.shape == (3,)
    assert r.slopes.shape == (3, 128, 11, 48)
    assert np.all((r.factor > 0.2) & (r.factor < 0.25)), r.factor
    assert np.all(r.slopes <= 0.25 + 1e-6)  # float32 round-off at the peak
    np.testing.assert_allclose(r.factor, r.predicted, rtol=0.07)
    np.testing.assert_allclose(r.max_sv, 2.0, rtol=0.15)  # Marchenko-Pastur edge
    np.testing.assert_allclose(r.factor, EXP.factor_per_layer(keys, *batch, nets))


def test_large_weights_vanish_more_slowly_then_explode(keys, batch):
    f = [
        EXP.factor_per_layer(keys, *batch, EXP.Networks(sigma_w=s, depth=12, width=48))
        for s in (1.0, 4.0, 16.0)
    ]
    assert np.all(f[0] < f[1]) and np.all(f[1] < 1.0)
    assert np.all(f[2] > 1.0)  # beyond the edge of chaos (sigma_w ~ 10)


def test_slope_not_output_bound_sets_the_factor(keys, batch):
    def sigmoid_of_4x(x):
        return gc.activations.sigmoid(4.0 * x)

    plain = EXP.factor_per_layer(keys, *batch, EXP.Networks(depth=12, width=48))
    steep = EXP.factor_per_layer(
        keys, *batch, EXP.Networks(sigmoid_of_4x, depth=12, width=48)
    )
    assert np.all(steep > 2 * plain)


def test_input_saturation_matches_gaussian_prediction(keys, batch):
    xs, _ = batch
    params = EXP.init_seeds(keys, 64, 10, EXP.Networks(depth=2, width=32))
    scales = np.geomspace(0.3, 30, 5)
    measured, predicted = EXP.input_saturation(
        params.first.w, xs, scales, threshold=0.02
    )
    assert measured.shape == (3, 5) and predicted.shape == (5,)
    assert np.max(np.abs(measured - predicted)) < 0.05
    assert predicted[0] < 0.01 and predicted[-1] > 0.5


def test_first_layer_moments_mean_adds_an_eigenvalue(keys, batch):
    xs, _ = batch
    w = EXP.init_seeds(keys, 64, 10, EXP.Networks(depth=2, width=32)).first.w[2]
    mean, top, top_centred = EXP.first_layer_moments(w, xs)
    assert 0.4 < mean < 0.6
    assert top == pytest.approx(32 * mean**2, rel=0.1)
    assert top > 5 * top_centred


def test_sigmoid_experiments_reject_bad_arguments(keys, batch):
    xs, ys = batch
    with pytest.raises(ValueError, match="sigma_w"):
        EXP.Networks(sigma_w=0.0)
    with pytest.raises(ValueError, match="depth"):
        EXP.Networks(depth=1)
    with pytest.raises(ValueError, match="width"):
        EXP.Networks(width=0)
    with pytest.raises(ValueError, match="activation"):
        EXP.gradient_factor(keys, xs, ys, EXP.Networks(gc.activations.sigmoid))
    with pytest.raises(ValueError, match="threshold"):
        EXP.input_saturation(np.ones((1, 4, 64)), xs, [1.0], threshold=0.3)
    with pytest.raises(ValueError, match="scales"):
        EXP.input_saturation(np.ones((1, 4, 64)), xs, [-1.0], threshold=0.01)
    with pytest.raises(ValueError, match="w"):
        EXP.first_layer_moments(np.ones(4), xs)
    with pytest.raises(ValueError, match="xs"):
        EXP.forward_seeds(EXP.init_seeds(keys, 64, 10, EXP.Networks(depth=2)), xs[0])
