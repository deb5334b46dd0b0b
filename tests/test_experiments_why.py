"""The first chapter's experiments: forward collapse and read-outs, on other seeds."""

import jax
import numpy as np
import optax
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


@pytest.mark.parametrize("seed", [3, 4])
def test_chain_local_derivatives_multiply_to_jax_grad(seed):
    w = jax.random.normal(jax.random.key(seed), (8,))
    local = why.chain_local_derivatives(0.3, w)
    assert local.shape == (8,)
    assert np.all(np.abs(local) <= 0.25 * np.abs(w) + 1e-7)  # sigmoid' <= 1/4
    grad = jax.grad(why.sigmoid_chain)(0.3, w)
    np.testing.assert_allclose(np.prod(local), grad, rtol=1e-5)


def test_backprop_by_hand_equals_jax_grad_and_probe(digits, key):
    params = why.init_network(key, width=16, depth=5)
    xs, ys = digits.x_train[:32], digits.y_train[:32]
    grads, hidden = why.backprop_by_hand(params, xs, ys)
    auto = jax.grad(gc.networks.loss)(params, xs, ys, "sigmoid")
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(auto), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-9)
    probe = gc.probes.grad_norms(params, xs, ys, "sigmoid")
    np.testing.assert_allclose(hidden, probe.hidden, rtol=1e-4)


def test_probe_scaled_sigmoid_vanishes_wide_tanh_explodes(digits):
    nets = why.init_networks(
        jax.random.split(jax.random.key(21), 3), width=32, depth=12
    )
    xs, ys = digits.x_train[:128], digits.y_train[:128]
    sig = why.probe_scaled(nets, xs, ys, "sigmoid")
    tanh = why.probe_scaled(nets, xs, ys, "tanh", sigma_w=3.0)
    assert sig.hidden.shape == (3, 12)
    assert np.all(gc.probes.layer_ratio(sig.hidden) < 1e-5)  # ~0.23 per layer
    assert np.all(gc.probes.layer_ratio(tanh.hidden) > 10)  # ~1.35 per layer
    # sigma_w = 1 is the plain probe of each network
    one = jax.tree.map(lambda a: a[1], nets)
    np.testing.assert_allclose(
        sig.hidden[1], gc.probes.grad_norms(one, xs, ys, "sigmoid").hidden, rtol=1e-5
    )


def test_first_update_sgd_copies_gradient_adam_flattens(digits):
    """The claim of the chapter's optimiser section, on another network."""
    params = why.init_network(jax.random.key(31), width=64, depth=10)
    grads, _ = why.backprop_by_hand(params, digits.x_train[:256], digits.y_train[:256])
    sgd = why.first_update(optax.sgd(0.1), grads, params)
    for u, g in zip(jax.tree.leaves(sgd), jax.tree.leaves(grads), strict=True):
        np.testing.assert_allclose(u, -0.1 * g, rtol=1e-6)
    adam = why.first_update(optax.adam(1e-3), grads, params)
    g_prof = np.asarray(gc.probes.layer_grad_norms(grads))[:-1]
    a_prof = np.asarray(gc.probes.layer_grad_norms(adam))[:-1]
    assert g_prof[-1] / g_prof[0] > 1e3
    assert a_prof.max() / a_prof.min() < 10


def test_layer_movement_first_layers_barely_move(digits):
    deep = why.layer_movement(jax.random.key(5), digits, depth=10)
    shallow = why.layer_movement(jax.random.key(6), digits, depth=2)
    assert deep.moved.shape == (11,) and shallow.moved.shape == (3,)
    assert deep.moved[9] > 1e3 * deep.moved[0]
    assert deep.accuracy < 0.2  # ten classes: chance is 0.1
    assert shallow.accuracy > 0.85


def test_relative_change_is_zero_for_the_same_network(key):
    params = why.init_network(key, width=8, depth=3)
    assert np.all(why.relative_change(params, params) == 0.0)


def test_why_experiments_reject_bad_input(digits, key):
    with pytest.raises(ValueError, match="width"):
        why.init_networks(jax.random.split(key, 2), width=0)
    with pytest.raises(ValueError, match="depth"):
        why.init_network(key, depth=0)
    nets = why.init_networks(jax.random.split(key, 2), width=8, depth=3)
    with pytest.raises(ValueError, match="sigma_w"):
        why.probe_scaled(nets, digits.x_train[:8], digits.y_train[:8], "tanh", 0.0)
    with pytest.raises(ValueError, match="depth"):
        why.layer_movement(key, digits, depth=11)
    with pytest.raises(ValueError, match="steps"):
        why.layer_movement(key, digits, depth=2, steps=0)
