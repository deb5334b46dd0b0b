"""Tests of gradcourse.experiments.initialization, on other seeds than the chapter's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

E = gc.experiments.initialization


def test_layer_snapshot_delta_gives_the_weight_gradient(key):
    k_p, k_x, k_y = jax.random.split(key, 3)
    p = gc.networks.init_mlp(k_p, 6, 8, 4, 3)
    xs = jax.random.normal(k_x, (5, 6))
    ys = jax.random.randint(k_y, (5,), 0, 3)
    snap = E.layer_snapshot(p, xs, ys, "tanh")
    grads = jax.grad(gc.networks.loss)(p, xs, ys, "tanh")
    assert snap.post.shape == snap.delta.shape == (4, 5, 8)
    # dL/dW_1 = delta_1^T x and dL/dW_l = delta_l^T h_{l-1}
    np.testing.assert_allclose(snap.delta[0].T @ xs, grads.first.w, atol=1e-6)
    for i in range(1, 4):
        np.testing.assert_allclose(
            snap.delta[i].T @ snap.post[i - 1], grads.hidden.w[i - 1], atol=1e-6
        )
    np.testing.assert_allclose(
        snap.post, gc.networks.forward_batch(p, xs)[1].post.swapaxes(0, 1), atol=1e-6
    )


def test_layer_mean_squares_log_spread_matches_five_over_width(key):
    """Log of q_25/q_5 over 24 seeds: ReLU, sigma_w^2 = 2 (He), width 64: sd ~ sqrt(5*20/64)."""
    xs = jax.random.normal(key, (64, 32))
    q = np.asarray(
        E.layer_mean_squares(
            jax.random.split(jax.random.fold_in(key, 1), 24),
            xs,
            gc.initializers.he_normal(),
            "relu",
            width=64,
            depth=25,
        )
    )
    log_ratio = np.log(q[:, 24] / q[:, 4])
    theory = np.sqrt(5 * 20 / 64)
    assert 0.6 * theory < log_ratio.std(ddof=1) < 1.5 * theory
    assert abs(np.median(log_ratio)) < 1.5 * theory  # He keeps the mean: no drift


def test_layer_mean_squares_rejects_bad_input(key):
    with pytest.raises(ValueError, match="xs"):
        E.layer_mean_squares(
            jax.random.split(key, 2), jnp.ones(3), gc.initializers.he_normal()
        )
    with pytest.raises(ValueError, match="width"):
        E.layer_mean_squares(
            jax.random.split(key, 2),
            jnp.ones((2, 3)),
            gc.initializers.he_normal(),
            width=0,
        )
