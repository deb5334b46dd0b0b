"""The first chapter's experiments: forward collapse and read-outs, on other seeds."""

import jax
import numpy as np
import pytest

import gradcourse as gc

why = gc.experiments.why_deep_networks_stop_learning


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits(jax.random.key(11))


def test_sigmoid_layers_equal_forward_batch(key):
    params = gc.networks.init_mlp(key, 5, 7, 4, 3)
    xs = jax.random.normal(jax.random.fold_in(key, 1), (6, 5))
    _, trace = gc.networks.forward_batch(params, xs, "sigmoid")
    posts = why.sigmoid_layers(params, xs)
    assert len(posts) == 4
    for layer, h in enumerate(posts):
        np.testing.assert_allclose(h, np.asarray(trace.post[:, layer]), atol=1e-6)


@pytest.mark.parametrize("seed", [5, 6])
def test_input_spread_collapses_with_depth(digits, seed):
    params = gc.networks.init_mlp(jax.random.key(seed), 64, 64, 10, 10)
    spread = why.input_spread(params, digits.x_test)
    assert spread.shape == (10,)
    assert np.all(np.diff(np.log(spread)) < 0)  # every layer forgets more
    assert spread[0] > 0.1 and spread[-1] < 1e-4


def test_input_spread_of_identical_inputs_is_zero(key):
    params = gc.networks.init_mlp(key, 3, 4, 2, 2)
    assert np.all(why.input_spread(params, np.ones((5, 3))) == 0.0)


@pytest.mark.parametrize("seed", [7, 8])
def test_readout_learns_from_layer_one_not_layer_ten(digits, seed):
    params = gc.networks.init_mlp(jax.random.key(seed), 64, 64, 10, 10)
    data = (digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    assert why.readout_accuracy(params, 1, *data) > 0.85
    assert why.readout_accuracy(params, 10, *data) < 0.2


def test_readout_accuracy_rejects_bad_layer(digits, key):
    params = gc.networks.init_mlp(key, 64, 8, 3, 10)
    data = (digits.x_train, digits.y_train, digits.x_test, digits.y_test)
    with pytest.raises(ValueError, match="layer"):
        why.readout_accuracy(params, 4, *data)
    with pytest.raises(ValueError, match="layer"):
        why.readout_accuracy(params, 0, *data)
    with pytest.raises(ValueError, match="ridge"):
        why.readout_accuracy(params, 1, *data, ridge=0.0)


def test_input_spread_needs_two_examples(key):
    params = gc.networks.init_mlp(key, 3, 4, 2, 2)
    with pytest.raises(ValueError, match="2 examples"):
        why.input_spread(params, np.ones((1, 3)))
