"""Tests of gradcourse.experiments.batch_normalization, on other seeds than the chapter's."""

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
    return N.init_norm_mlp(k_p, 8, 8, 4, 3), jax.random.normal(k_x, (16, 8))


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
    want_out, want_trace, want_stats = N.forward(p, xs, "sigmoid")
    np.testing.assert_allclose(out, want_out, atol=1e-6)
    np.testing.assert_allclose(trace.post, want_trace.post, atol=1e-6)
    np.testing.assert_allclose(trace.stats.var, want_stats.var, atol=1e-6)
    assert B.model_with_stats("sigmoid") is B.model_with_stats("sigmoid")


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
    want = N.forward(p, xs, "sigmoid")[2]
    np.testing.assert_allclose(hist.records.mean[0], want.mean, atol=1e-5)
