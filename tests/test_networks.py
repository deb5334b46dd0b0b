"""The scanned MLP: shapes, initialisation, agreement with an unrolled reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

net = gc.networks


def test_init_mlp_shapes(key):
    p = net.init_mlp(key, in_dim=7, width=11, depth=5, out_dim=3)
    assert p.first.w.shape == (11, 7) and p.first.b.shape == (11,)
    assert p.hidden.w.shape == (4, 11, 11) and p.hidden.b.shape == (4, 11)
    assert p.readout.w.shape == (3, 11) and p.readout.b.shape == (3,)
    assert p.depth == 5 and p.width == 11


def test_init_mlp_default_variance_is_one_over_fan_in(key):
    p = net.init_mlp(key, in_dim=64, width=256, depth=9, out_dim=10)
    # 8 * 256 * 256 draws: the sample variance is within 1% of 1/256 with margin.
    assert float(p.hidden.w.var()) == pytest.approx(1 / 256, rel=0.01)
    assert float(p.first.w.var()) == pytest.approx(1 / 64, rel=0.03)


def test_init_mlp_hidden_layers_are_independent(key):
    p = net.init_mlp(key, in_dim=4, width=8, depth=4, out_dim=2)
    assert not np.allclose(p.hidden.w[0], p.hidden.w[1])


def test_init_mlp_depth_one_has_empty_stack(key):
    p = net.init_mlp(key, in_dim=3, width=5, depth=1, out_dim=2)
    assert p.hidden.w.shape == (0, 5, 5)
    out, trace = net.forward_with_trace(p, jnp.ones(3))
    assert out.shape == (2,) and trace.post.shape == (1, 5)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
@pytest.mark.parametrize("arg", ["in_dim", "width", "depth", "out_dim"])
def test_init_mlp_rejects_bad_sizes(key, arg, bad):
    sizes = dict(in_dim=3, width=4, depth=2, out_dim=2)
    sizes[arg] = bad
    with pytest.raises(ValueError, match=f"{arg} must be an integer >= 1"):
        net.init_mlp(key, **sizes)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", jax.nn.relu])
def test_scanned_forward_equals_unrolled(key, activation):
    kp, kx = jax.random.split(key)
    p = net.init_mlp(kp, in_dim=6, width=16, depth=12, out_dim=4)
    x = jax.random.normal(kx, (6,))
    np.testing.assert_allclose(
        net.forward(p, x, activation),
        net.forward_unrolled(p, x, activation),
        rtol=1e-5,
        atol=1e-6,
    )


def test_trace_matches_manual_recursion(key):
    kp, kx = jax.random.split(key)
    p = net.init_mlp(kp, in_dim=5, width=8, depth=4, out_dim=3)
    x = jax.random.normal(kx, (5,))
    _, trace = net.forward_with_trace(p, x, "tanh")
    h = jnp.tanh(p.first.w @ x + p.first.b)
    np.testing.assert_allclose(trace.post[0], h, rtol=1e-6)
    for i in range(3):
        z = p.hidden.w[i] @ h + p.hidden.b[i]
        h = jnp.tanh(z)
        np.testing.assert_allclose(trace.pre[i + 1], z, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(trace.post[i + 1], h, rtol=1e-5, atol=1e-6)


def test_forward_batch_equals_loop(key):
    kp, kx = jax.random.split(key)
    p = net.init_mlp(kp, in_dim=5, width=8, depth=3, out_dim=3)
    xs = jax.random.normal(kx, (4, 5))
    outs, trace = net.forward_batch(p, xs, "sigmoid")
    assert trace.post.shape == (4, 3, 8)
    for i in range(4):
        np.testing.assert_allclose(outs[i], net.forward(p, xs[i], "sigmoid"), rtol=1e-6)


def test_forward_rejects_batched_input(key):
    p = net.init_mlp(key, in_dim=5, width=8, depth=3, out_dim=3)
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        net.forward(p, jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="xs must have 2 dimensions"):
        net.forward_batch(p, jnp.ones(5))


def test_loss_cross_entropy_matches_optax_and_manual(key):
    kp, kx = jax.random.split(key)
    p = net.init_mlp(kp, in_dim=5, width=8, depth=3, out_dim=4)
    xs, ys = jax.random.normal(kx, (6, 5)), jnp.array([0, 1, 2, 3, 0, 1])
    logits, _ = net.forward_batch(p, xs, "tanh")
    manual = -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(6), ys])
    assert float(net.loss(p, xs, ys, "tanh")) == pytest.approx(float(manual), rel=1e-5)


def test_loss_rejects_unknown_kind(key):
    p = net.init_mlp(key, in_dim=2, width=3, depth=2, out_dim=2)
    with pytest.raises(ValueError, match="kind must be one of"):
        net.loss(p, jnp.ones((1, 2)), jnp.zeros(1, int), kind="hinge")


def test_scan_compile_is_not_unrolled(key):
    # The scanned program has one loop body whatever the depth; the unrolled one grows.
    def hlo_size(fn, depth):
        p = net.init_mlp(key, in_dim=4, width=4, depth=depth, out_dim=2)
        return len(jax.jit(fn).lower(p, jnp.ones(4)).as_text())

    assert hlo_size(net.forward, 64) < 1.2 * hlo_size(net.forward, 8)
    assert hlo_size(net.forward_unrolled, 64) > 4 * hlo_size(net.forward_unrolled, 8)
