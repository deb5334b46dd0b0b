"""Tests for gradcourse.health: known answers, hand-computed ratios, NaN origins."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc
from gradcourse import health
from gradcourse.networks import Trace, init_mlp
from tests._builders import DEPTH, IN, OUT, WIDTH, constant_mlp, layer_sizes


def test_layer_norms_equal_hand_computation():
    fills = [1.0, 2.0, -3.0, 0.5, 4.0]
    np.testing.assert_allclose(
        gc.probes.layer_grad_norms(constant_mlp(fills)),
        np.abs(fills) * np.sqrt(layer_sizes()),
        rtol=1e-6,
    )


def test_layer_norms_stay_positive_for_tiny_gradients():
    """Entries of 1e-25 square to 1e-50, below float32's range: an unscaled
    sqrt(sum(g**2)) would say 0. The scaled norm keeps them."""
    fills = [1e-25, 3e-30, 1e-21, 2e-28, 5e-26]
    tree = constant_mlp(fills)
    norms = np.asarray(gc.probes.layer_grad_norms(tree), np.float64)
    assert (norms > 0).all()
    np.testing.assert_allclose(
        norms, np.array(fills) * np.sqrt(layer_sizes()), rtol=1e-5
    )
    post = jnp.full((2, DEPTH, WIDTH), 0.5)
    h = health.step_health(constant_mlp([1.0] * 5), tree, tree, Trace(post, post))
    assert (np.asarray(h.grad_ratio) > 0).all() and (
        np.asarray(h.update_ratio) > 0
    ).all()


def test_layer_finite_catches_a_bias_nan():
    tree = constant_mlp([1.0] * (DEPTH + 1))
    tree = tree._replace(
        hidden=tree.hidden._replace(b=tree.hidden.b.at[1, 3].set(jnp.nan))
    )
    assert health.layer_finite(tree).tolist() == [True, True, False, True, True]


def test_health_ratios_equal_hand_computation():
    p_fill, g_fill, u_fill = (
        [1.0, 2.0, 4.0, 0.5, 1.0],
        [0.1] * 5,
        [-0.01, 0, 0.02, 1, 3],
    )
    params, grads, updates = (
        constant_mlp(p_fill),
        constant_mlp(g_fill),
        constant_mlp(u_fill),
    )
    post = jnp.zeros((2, DEPTH, WIDTH))
    h = health.step_health(params, grads, updates, Trace(post, post), saturation="tanh")
    # Constant matrices: ||c * 1||_F = |c| sqrt(size), so the sizes cancel in a ratio.
    np.testing.assert_allclose(h.grad_ratio, np.divide(g_fill, p_fill), rtol=1e-6)
    np.testing.assert_allclose(h.update_ratio, np.abs(u_fill) / p_fill, rtol=1e-6)
    np.testing.assert_allclose(
        h.stats.param_norm, np.abs(p_fill) * np.sqrt(layer_sizes())
    )
    assert h.activation_finite.tolist() == [True] * DEPTH


def test_health_ratio_matches_optax_sgd_update(key):
    """With plain SGD the update ratio is the learning rate times the gradient ratio."""
    params = init_mlp(key, IN, WIDTH, DEPTH, OUT)
    xs = jax.random.normal(jax.random.fold_in(key, 1), (16, IN))
    ys = jnp.arange(16) % OUT
    model = gc.networks.mlp_model("tanh")

    def loss(p):
        out, _ = model(p, xs)
        return optax.softmax_cross_entropy_with_integer_labels(out, ys).mean()

    grads = jax.grad(loss)(params)
    opt = optax.sgd(0.3)
    updates, _ = opt.update(grads, opt.init(params), params)
    h = health.step_health(params, grads, updates, model(params, xs)[1])
    np.testing.assert_allclose(h.update_ratio, 0.3 * h.grad_ratio, rtol=1e-5)
    assert np.isnan(np.asarray(h.saturated)).all()  # no asymptotes given


def test_saturated_fraction_known_answer_sigmoid():
    # layer 1: 0.005 and 0.996 saturated, 0.02 and 0.5 not; layer 2: none; tol = 0.01.
    post = jnp.array([[[0.005, 0.5], [0.3, 0.7]], [[0.996, 0.02], [0.5, 0.985]]])
    np.testing.assert_allclose(
        health.saturated_fraction(post, "sigmoid"), [0.5, 0.0], atol=0
    )


def test_saturated_fraction_known_answer_tanh():
    post = jnp.array([[[-0.995, 0.98, 0.999, 0.0]]])  # 2 of 4 beyond |h| > 0.99
    np.testing.assert_allclose(health.saturated_fraction(post, "tanh"), [0.5])
    np.testing.assert_allclose(health.saturated_fraction(post, "tanh", 0.05), [0.75])


def test_saturated_fraction_matches_derivative_threshold(key):
    """|tanh| > 1 - tol is the same event as tanh' < 2 tol - tol**2."""
    z = 4.0 * jax.random.normal(key, (64, 3, 16))
    tol = 0.01
    by_output = health.saturated_fraction(jnp.tanh(z), "tanh", tol)
    by_slope = jnp.mean(gc.activations.tanh_grad(z) < 2 * tol - tol**2, axis=(0, 2))
    np.testing.assert_allclose(by_output, by_slope, atol=1 / (64 * 16) + 1e-7)


def test_dead_fraction_known_answer():
    # 3 examples, 1 layer, 4 units: unit 0 always 0 (dead), unit 1 zero twice (alive),
    # unit 2 always positive, unit 3 always 0 (dead).
    post = jnp.array(
        [[[0.0, 0.0, 1.0, 0.0]], [[0.0, 2.0, 1.0, 0.0]], [[0.0, 0.0, 3.0, 0.0]]]
    )
    np.testing.assert_allclose(health.dead_fraction(post), [0.5])
    np.testing.assert_allclose(health.dead_fraction(post + 0.5, atol=0.6), [0.5])


def test_monitored_keeps_updates_and_records_stats(key):
    params = init_mlp(key, IN, WIDTH, DEPTH, OUT)
    grads = jax.tree.map(lambda p: 0.1 * jnp.ones_like(p), params)
    inner = optax.adam(1e-2)
    opt = health.monitored(inner)
    state = opt.init(params)
    assert state.stats.grad_norm.shape == (DEPTH + 1,)
    updates, state = jax.jit(opt.update)(grads, state, params)
    ref, _ = inner.update(grads, inner.init(params), params)
    for a, b in zip(jax.tree.leaves(updates), jax.tree.leaves(ref), strict=True):
        np.testing.assert_array_equal(a, b)
    expected = health.step_stats(params, grads, ref)
    for a, b in zip(state.stats, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_recorder_binds_settings():
    record = health.recorder("sigmoid", tol=0.05)
    assert record == health.Recorder("sigmoid", 0.05, 0.0)
    assert hash(record) == hash(health.recorder("sigmoid", tol=0.05))
    params = constant_mlp([1.0] * 5)
    post = jnp.full((2, DEPTH, WIDTH), 0.5)
    expected = health.step_health(params, params, params, Trace(post, post),
                                  saturation="sigmoid", tol=0.05)  # fmt: skip
    for a, b in zip(jax.tree.leaves(record(params, params, params, Trace(post, post))),
                    jax.tree.leaves(expected), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


# ----- argument validation, one test per public function -----


def test_layer_norms_rejects_non_mlp():
    with pytest.raises(ValueError, match="tree"):
        gc.probes.layer_grad_norms({"w": jnp.ones(3)})


def test_layer_finite_rejects_non_mlp():
    with pytest.raises(ValueError, match="tree"):
        health.layer_finite([jnp.ones(3)])


def test_saturated_fraction_rejects_bad_arguments():
    post = jnp.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="activation"):
        health.saturated_fraction(post, "relu")
    with pytest.raises(ValueError, match="tol"):
        health.saturated_fraction(post, "tanh", tol=0.5)
    with pytest.raises(ValueError, match="post"):
        health.saturated_fraction(jnp.zeros((3, 4)), "tanh")


def test_dead_fraction_rejects_bad_arguments():
    with pytest.raises(ValueError, match="atol"):
        health.dead_fraction(jnp.zeros((2, 3, 4)), atol=-1.0)
    with pytest.raises(ValueError, match="post"):
        health.dead_fraction(jnp.zeros(4))


def test_step_stats_rejects_non_mlp():
    with pytest.raises(ValueError, match="grads"):
        health.step_stats(constant_mlp([1.0] * 5), {"a": 1}, constant_mlp([1.0] * 5))


def test_health_rejects_bad_arguments():
    p = constant_mlp([1.0] * 5)
    post = jnp.zeros((2, DEPTH, WIDTH))
    with pytest.raises(ValueError, match="saturation"):
        health.step_health(p, p, p, Trace(post, post), saturation="relu")
    with pytest.raises(ValueError, match="trace.post"):
        health.step_health(p, p, p, Trace(post[0], post[0]))


def test_recorder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="saturation"):
        health.recorder("softsign")
    with pytest.raises(ValueError, match="tol"):
        health.recorder("tanh", tol=0.0)
    with pytest.raises(ValueError, match="dead_atol"):
        health.recorder(None, dead_atol=-0.1)


def test_monitored_rejects_bad_arguments(key):
    with pytest.raises(ValueError, match="inner"):
        health.monitored(lambda g: g)
    opt = health.monitored(optax.sgd(0.1))
    params = init_mlp(key, IN, WIDTH, DEPTH, OUT)
    with pytest.raises(ValueError, match="params"):
        opt.update(params, opt.init(params))


def test_dead_units_is_the_one_definition():
    pre = jnp.array([[[-1.0, 0.5, 0.0]], [[-2.0, -0.1, 0.0]]])  # 2 examples, 1 layer
    assert health.dead_units(pre).tolist() == [[True, False, True]]
    assert health.dead_units(pre, threshold=0.5).tolist() == [[True, True, True]]
    # dead_fraction is the output-side reading: |h| <= atol on every example.
    relu = jnp.maximum(pre, 0.0)
    np.testing.assert_allclose(health.dead_fraction(relu), [2 / 3])
    with pytest.raises(ValueError, match="values"):
        health.dead_units(jnp.zeros(3))
