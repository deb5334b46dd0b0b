"""Tests of gradcourse.experiments.gradient_clipping, on other seeds than the chapter's."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc

E = gc.experiments.gradient_clipping


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits(jax.random.key(31))


def test_cosine_of_pytrees():
    a = {"w": jnp.array([[1.0, 0.0]]), "b": jnp.array([0.0])}
    b = {"w": jnp.array([[0.0, 2.0]]), "b": jnp.array([0.0])}
    assert float(E.cosine(a, a)) == pytest.approx(1.0)
    assert float(E.cosine(a, b)) == pytest.approx(0.0)
    c = {"w": jnp.array([[1.0, 1.0]]), "b": jnp.array([1.0])}
    assert float(E.cosine(a, c)) == pytest.approx(1 / np.sqrt(3), rel=1e-6)


def test_norm_clipping_keeps_the_direction_value_clipping_turns_it():
    check = E.clipping_directions(jax.random.key(32), max_norm=2.0, max_delta=0.5)
    assert bool(check.equal_optax)
    assert float(check.norm_before) > 2.0
    assert float(check.norm_after) == pytest.approx(2.0, rel=1e-5)
    assert float(check.cos_norm) == pytest.approx(1.0, abs=1e-5)
    assert float(check.cos_value) < 0.99
    with pytest.raises(ValueError, match="max_norm"):
        E.clipping_directions(jax.random.key(0), max_norm=0.0)


def test_linear_networks_grow_the_gradient_above_unit_variance(digits):
    xs, ys = digits.x_train[:128], digits.y_train[:128]
    keys = jax.random.split(jax.random.key(33), 3)
    _, up = E.init_and_probe(keys, xs, ys, depth=16, width=32, sigma2=1.3)
    _, down = E.init_and_probe(keys, xs, ys, depth=16, width=32, sigma2=0.7)
    assert np.all(np.asarray(up) > 2) and np.all(np.asarray(down) < 1)
    with pytest.raises(ValueError, match="sigma2"):
        E.init_and_probe(keys, xs, ys, sigma2=0.0)


def test_clipping_saves_the_exploding_linear_network(digits):
    """The chapter's claim on other seeds: without clipping every run overflows, first in
    a forward activation; clipped by global norm at 1, none does."""
    xs, ys = digits.x_train[:128], digits.y_train[:128]
    params, _ = E.init_and_probe(jax.random.split(jax.random.key(34), 3), xs, ys)
    keys = jax.random.split(jax.random.key(35), 3)
    plain = E.train(keys, params, digits, optax.sgd(0.03))
    clipped_sgd = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.03))
    clipped = E.train(keys, params, digits, clipped_sgd)
    assert all(o is not None and o.where == "activation" for o in plain.nonfinite)
    assert all(o is None for o in clipped.nonfinite)
    assert np.all(np.isfinite(np.asarray(clipped.loss)))
    # Most clipped steps are clipped: the median norm before clipping is above 1.
    assert np.median(E.global_grad_norms(clipped)) > 1.0


def test_global_grad_norms_combine_the_layers():
    history = gc.train.History(
        loss=np.zeros((1, 2)),
        grad_norms=np.array([[[3.0, 4.0], [1e30, 1e30]]], np.float32),
        finite_activations=np.ones((1, 2, 2), bool),
        records=None,
        nonfinite=None,
    )
    want = [[5.0, np.sqrt(2) * 1e30]]
    np.testing.assert_allclose(E.global_grad_norms(history), want, rtol=1e-6)


def test_clipping_keeps_a_vanishing_gradient_vanishing(digits):
    xs, ys = digits.x_train[:128], digits.y_train[:128]
    v = E.clip_vanishing(jax.random.key(36), xs, ys, depth=20, width=16, fraction=0.2)
    before, after = np.asarray(v.before), np.asarray(v.after)
    assert before[0] / before[-2] < 1e-6  # the sigmoid gradient vanishes
    np.testing.assert_allclose(after / after[-1], before / before[-1], rtol=1e-5)
    assert np.all(after <= before)
    clipped = gc.clipping.clip_tree_by_global_norm(v.grads, v.threshold)[0]
    norm = float(gc.clipping.global_norm(clipped))
    assert norm == pytest.approx(float(v.threshold), rel=1e-5)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            E.clip_vanishing(jax.random.key(0), xs, ys, fraction=bad)


def test_keras_translations(digits):
    xs, ys = digits.x_train[:128], digits.y_train[:128]
    v = E.clip_vanishing(jax.random.key(37), xs, ys, depth=12, width=16)
    each, same_update = E.keras_checks(v.grads, v.net, v.threshold)
    assert bool(same_update)
    each, before = np.asarray(each), np.asarray(v.before)
    # Per tensor: the large layers are cut to the threshold, so the ratio moves.
    assert np.all(each <= float(v.threshold) / 5 * (1 + 1e-5))
    assert each[0] / each[-2] > before[0] / before[-2]
