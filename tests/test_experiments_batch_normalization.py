"""Tests of gradcourse.experiments.batch_normalization, on other seeds than the chapter's."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc

B = gc.experiments.batch_normalization
N = gc.normalization


@pytest.fixture
def net_and_batch(key):
    k_p, k_x = jax.random.split(key)
    return gc.norm_mlp.init_norm_mlp(k_p, 8, 8, 4, 3), jax.random.normal(k_x, (16, 8))


def test_residual_forward_is_the_first_layer_when_branches_are_off(net_and_batch):
    p, xs = net_and_batch
    out = B.residual_forward(p, xs, "relu", branch_scale=0.0)
    aff = N.Affine(p.norm.gamma[0], p.norm.beta[0])
    h1 = jax.nn.relu(N.batch_norm(aff, xs @ p.first.w.T + p.first.b))
    np.testing.assert_allclose(out, h1 @ p.readout.w.T + p.readout.b, atol=1e-5)


def test_residual_forward_adds_each_branch_to_its_input(net_and_batch):
    p, xs = net_and_batch
    aff = lambda i: N.Affine(p.norm.gamma[i], p.norm.beta[i])  # noqa: E731
    h = jax.nn.relu(N.batch_norm(aff(0), xs @ p.first.w.T + p.first.b))
    for i in range(3):
        z = h @ p.hidden.w[i].T + p.hidden.b[i]
        h = h + 0.5 * jax.nn.relu(N.batch_norm(aff(i + 1), z))
    want = h @ p.readout.w.T + p.readout.b
    got = B.residual_forward(p, xs, "relu", branch_scale=0.5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_model_with_stats_matches_forward(net_and_batch):
    p, xs = net_and_batch
    out, trace = B.model_with_stats("sigmoid")(p, xs)
    want_out, want_trace, want_stats = gc.norm_mlp.forward(p, xs, "sigmoid")
    np.testing.assert_allclose(out, want_out, atol=1e-6)
    np.testing.assert_allclose(trace.post, want_trace.post, atol=1e-6)
    np.testing.assert_allclose(trace.stats.var, want_stats.var, atol=1e-6)
    # A value, not a cached object: equal models share the compiled training loop.
    assert B.model_with_stats("sigmoid") == B.StatsModel("sigmoid")
    assert hash(B.model_with_stats("relu")) == hash(B.StatsModel("relu"))
    assert B.model_with_stats("relu") != B.model_with_stats("sigmoid")


def test_running_stats_equals_a_loop_of_ema(key):
    k_m, k_v = jax.random.split(key)
    hist = N.Stats(
        jax.random.normal(k_m, (7, 2, 3)), jax.random.uniform(k_v, (7, 2, 3)) + 0.5
    )
    run = N.Stats(jnp.zeros((2, 3)), jnp.ones((2, 3)))
    for t in range(7):
        scaled = N.Stats(hist.mean[t], hist.var[t] * 4 / 3)
        run = N.ema(run, scaled, decay=0.8)
    got = B.running_stats(hist, 0.8, unbiased_batch=4)
    np.testing.assert_allclose(got.mean, run.mean, rtol=1e-6)
    np.testing.assert_allclose(got.var, run.var, rtol=1e-6)


def test_running_stats_rejects_a_decay_of_one(key):
    hist = N.Stats(jnp.zeros((2, 1, 1)), jnp.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="decay"):
        B.running_stats(hist, 1.0)


def test_fit_records_the_batch_statistics(net_and_batch, key):
    p, xs = net_and_batch
    ys = jnp.arange(16) % 3
    _, hist = gc.train.fit(
        key,
        p,
        xs,
        ys,
        model=B.model_with_stats("sigmoid"),
        optimizer=optax.sgd(0.0),
        steps=2,
        batch_size=16,
        record=B.record_stats,
    )
    want = gc.norm_mlp.forward(p, xs, "sigmoid")[2]
    np.testing.assert_allclose(hist.records.mean[0], want.mean, atol=1e-5)


# --- the chapter's experiments, on other seeds and smaller networks ---


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits(jax.random.key(11))


def test_output_moments_are_beta_and_gamma(key):
    x = 1.0 - 4.0 * jax.random.normal(key, (128, 3))
    aff = N.Affine(jnp.array([0.5, 1.0, 3.0]), jnp.array([2.0, 0.0, -1.0]))
    mean, var, std = B.output_moments(aff, x)
    np.testing.assert_allclose(mean, aff.beta, atol=1e-4)
    np.testing.assert_allclose(std, aff.gamma, rtol=1e-4)
    np.testing.assert_allclose(var, aff.gamma**2, rtol=1e-4)


def test_backward_formula_holds_for_unit_gamma_only(key):
    k_x, k_g = jax.random.split(key)
    x = 2.0 + 3.0 * jax.random.normal(k_x, (32, 5))
    g = jax.random.normal(k_g, x.shape)
    assert bool(B.backward_matches_formula(N.affine_init(5), x, g))
    doubled = N.Affine(jnp.full(5, 2.0), jnp.zeros(5))  # the formula omits gamma
    assert not bool(B.backward_matches_formula(doubled, x, g))


def test_gradient_profiles_match_jax_grad_of_forward(key, digits):
    params = B.init_networks(jax.random.split(key, 2), width=16, depth=5)
    xs, ys = digits.x_train[:64], digits.y_train[:64]
    got = B.gradient_profiles(params, xs, ys)
    assert set(got) == {"sigmoid", "relu"} and set(got["relu"]) == set(N.NORMS)
    for act, norm in [("relu", "layer"), ("sigmoid", "none")]:
        one = B.pick(params, 1)

        def loss(q, act=act, norm=norm):
            return gc.networks.LOSSES["cross_entropy"](
                gc.norm_mlp.forward(q, xs, act, norm=norm)[0], ys
            )

        want = gc.probes.layer_grad_norms(jax.jit(jax.grad(loss))(one))
        np.testing.assert_allclose(got[act][norm][1], want, rtol=1e-4)
        assert got[act][norm].shape == (2, 6)


def test_gradient_profiles_rejects_bad_input(key):
    params = B.init_networks(jax.random.split(key, 1), width=4, depth=2)
    with pytest.raises(ValueError, match="activations"):
        B.gradient_profiles(
            params, jnp.ones((8, 64)), jnp.zeros(8, int), activations=()
        )
    with pytest.raises(ValueError, match="xs"):
        B.gradient_profiles(params, jnp.ones(8), jnp.zeros(8, int))


def test_batch_norm_keeps_a_deep_sigmoid_gradient_alive(key, digits):
    """The chapter's claim on other seeds and a narrower network: without normalisation
    the first layer's gradient vanishes; with batch norm it stays within 10x the last."""
    params = B.init_networks(jax.random.split(key, 3), width=32, depth=30)
    profiles = B.gradient_profiles(
        params, digits.x_train[:128], digits.y_train[:128], activations=("sigmoid",)
    )["sigmoid"]
    first_over_last = {n: p[:, 0] / p[:, 29] for n, p in profiles.items()}
    assert np.all(first_over_last["none"] < 1e-8)
    assert np.all((first_over_last["batch"] > 0.1) & (first_over_last["batch"] < 10))


def test_train_digits_learns_with_batch_norm_only(key, digits):
    """The chapter's training claim on other seeds: a 30-layer sigmoid network learns the
    digits with batch norm (every seed), not without."""
    k_init, k_fit, k_pop = jax.random.split(key, 3)
    params = B.init_networks(jax.random.split(k_init, 2), width=32, depth=30)
    fit_keys, pop_keys = jax.random.split(k_fit, 2), jax.random.split(k_pop, 2)
    runs = {
        norm: B.train_digits(fit_keys, pop_keys, params, digits, norm=norm, steps=150)
        for norm in ["none", "batch"]
    }
    assert np.max(runs["none"].accuracy) < 0.2
    assert np.min(runs["batch"].accuracy) > 0.8
    assert runs["none"].stats is None and runs["batch"].stats.mean.shape == (2, 30, 32)
    # Running averages with PyTorch's decay come close to the population statistics.
    test = (digits.x_test, digits.y_test)
    run9 = B.running_accuracy(runs["batch"], *test, decay=0.9, unbiased_batch=64)
    assert np.all(run9 > runs["batch"].accuracy - 0.15)
    with pytest.raises(ValueError, match="run"):
        B.running_accuracy(runs["none"], *test, decay=0.9)
    with pytest.raises(ValueError, match="decay"):
        B.running_accuracy(runs["batch"], *test, decay=1.0)


def test_train_digits_rejects_bad_settings(key, digits, net_and_batch):
    p = B.init_networks(jax.random.split(key, 1), width=8, depth=2)
    keys = jax.random.split(key, 1)
    for bad, match in [
        ({"norm": "group"}, "norm"),
        ({"learning_rate": 0.0}, "learning"),
    ]:
        kwargs = {"norm": "batch", **bad}
        with pytest.raises(ValueError, match=match):
            B.train_digits(keys, keys, p, digits, steps=1, **kwargs)


def test_rescale_layer_is_scale_invariant(key, digits):
    p = B.pick(B.init_networks(jax.random.split(key, 1), width=16, depth=6), 0)
    xs, ys = digits.x_train[:64], digits.y_train[:64]
    scales = np.array([1.0, 3.0, 30.0], np.float32)
    changes, g_norms = B.rescale_layer(p, xs, ys, layer=4, scales=scales)
    assert changes[0] == 0 and np.all(changes < 1e-3)
    np.testing.assert_allclose(scales * g_norms, g_norms[0], rtol=1e-3)
    with pytest.raises(ValueError, match="layer"):
        B.rescale_layer(p, xs, ys, layer=1, scales=scales)
    with pytest.raises(ValueError, match="scales"):
        B.rescale_layer(p, xs, ys, layer=3, scales=[2.0, 3.0])


def test_logit_spread_shrinks_as_the_batch_grows(key, digits):
    k_p, k_b = jax.random.split(key)
    p = B.pick(B.init_networks(k_p[None], width=16, depth=4), 0)
    spreads = B.logit_spread(k_b, p, digits.x_test, batch_sizes=(3, 12, 96), draws=30)
    assert spreads[3] > spreads[12] > spreads[96] > 0
    with pytest.raises(ValueError, match="batch_sizes"):
        B.logit_spread(k_b, p, digits.x_test[:10], batch_sizes=(4, 11))
    with pytest.raises(ValueError, match="draws"):
        B.logit_spread(k_b, p, digits.x_test, draws=1)


def test_mode_accuracies_agree_when_the_batch_is_the_whole_set(key, digits):
    p = B.pick(B.init_networks(key[None], width=16, depth=3), 0)
    xs, ys = digits.x_test[:60], digits.y_test[:60]
    whole = gc.norm_mlp.forward(p, xs)[2]  # the batch's own (biased) statistics
    eval_acc, by_size = B.mode_accuracies(p, whole, xs, ys, batch_sizes=(60,))
    assert by_size[60] == pytest.approx(eval_acc)
    with pytest.raises(ValueError, match="batch_sizes"):
        B.mode_accuracies(p, whole, xs, ys, batch_sizes=(7,))


def test_skip_profiles_without_branches_leave_hidden_layers_without_gradient(
    key, digits
):
    params = B.init_networks(jax.random.split(key, 2), width=16, depth=4)
    xs, ys = digits.x_train[:32], digits.y_train[:32]
    off = B.skip_profiles(params, xs, ys, "relu", 0.0)
    on = B.skip_profiles(params, xs, ys, "relu", 1.0)
    assert off.shape == (2, 5)
    assert np.all(off[:, 1:4] == 0) and np.all(on[:, 1:4] > 0)


def test_layer_norm_is_batch_independent_and_batch_norm_is_not(key):
    x = 3.0 * jax.random.normal(key, (20, 6)) + 1.0
    ln_same, bn_same = B.batch_independence(N.affine_init(6), x)
    assert bool(ln_same) and not bool(bn_same)


def test_padding_moves_batch_norm_only(key):
    tokens = jax.random.normal(key, (5, 8)) + 2.0
    pad = B.padding_change(N.affine_init(8), tokens, rows=(8, 20))
    np.testing.assert_allclose(pad["layer"], 0.0, atol=1e-5)
    assert 0 < pad["batch"][0] < pad["batch"][1]
    with pytest.raises(ValueError, match="rows"):
        B.padding_change(N.affine_init(8), tokens, rows=(4,))


def test_stats_model_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        B.StatsModel("relu").activation = "tanh"
