"""The gradient-norm probe against jax.grad of the loss, and its vmap over seeds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc


@pytest.fixture
def problem(key):
    kp, kx = jax.random.split(key)
    params = gc.networks.init_mlp(kp, in_dim=6, width=10, depth=7, out_dim=3)
    xs = jax.random.normal(kx, (9, 6))
    ys = jnp.arange(9) % 3
    return params, xs, ys


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_weight_norms_equal_jax_grad(problem, activation):
    params, xs, ys = problem
    g = jax.grad(gc.networks.loss)(params, xs, ys, activation)
    expected = np.concatenate(
        [
            [np.linalg.norm(g.first.w)],
            np.linalg.norm(np.asarray(g.hidden.w).reshape(6, -1), axis=1),
            [np.linalg.norm(g.readout.w)],
        ]
    )
    got = gc.probes.grad_norms(params, xs, ys, activation)
    np.testing.assert_allclose(got.weights, expected, rtol=1e-5)
    assert float(got.loss) == pytest.approx(
        float(gc.networks.loss(params, xs, ys, activation)), rel=1e-6
    )


def test_hidden_norms_equal_grad_wrt_activations(problem):
    params, xs, ys = problem
    _, trace = gc.networks.forward_batch(params, xs, "tanh")

    def loss_from_layer(h_l, layer):
        # Finish the forward pass from layer `layer` (1-based) onwards.
        h = h_l
        for i in range(layer - 1, params.depth - 1):
            h = jnp.tanh(h @ params.hidden.w[i].T + params.hidden.b[i])
        logits = h @ params.readout.w.T + params.readout.b
        return gc.networks.LOSSES["cross_entropy"](logits, ys)

    got = gc.probes.grad_norms(params, xs, ys, "tanh").hidden
    for layer in [1, 4, 7]:
        g = jax.grad(loss_from_layer)(trace.post[:, layer - 1], layer)
        assert float(got[layer - 1]) == pytest.approx(
            float(jnp.linalg.norm(g)), rel=1e-4
        )


def test_last_hidden_norm_is_readout_backprop(problem):
    # dL/dH_L = dL/dlogits @ W_out, exactly.
    params, xs, ys = problem
    logits, _ = gc.networks.forward_batch(params, xs, "sigmoid")
    dlogits = jax.grad(lambda o: gc.networks.LOSSES["cross_entropy"](o, ys))(logits)
    expected = jnp.linalg.norm(dlogits @ params.readout.w)
    got = gc.probes.grad_norms(params, xs, ys, "sigmoid").hidden[-1]
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


def test_mse_kind(problem):
    params, xs, _ = problem
    targets = jnp.ones((9, 3))
    got = gc.probes.grad_norms(params, xs, targets, "tanh", kind="mse")
    g = jax.grad(gc.networks.loss)(params, xs, targets, "tanh", "mse")
    assert float(got.weights[0]) == pytest.approx(
        float(jnp.linalg.norm(g.first.w)), rel=1e-5
    )


def test_probe_seeds_equals_one_at_a_time(key):
    kx, kseeds = jax.random.split(key)
    xs, ys = jax.random.normal(kx, (8, 5)), jnp.arange(8) % 2
    keys = jax.random.split(kseeds, 3)
    batched = gc.probes.probe_seeds(
        keys, xs, ys, width=6, depth=4, activation="sigmoid"
    )
    assert batched.weights.shape == (3, 5) and batched.hidden.shape == (3, 4)
    for i in range(3):
        p = gc.networks.init_mlp(keys[i], 5, 6, 4, 2)
        single = gc.probes.grad_norms(p, xs, ys, "sigmoid")
        np.testing.assert_allclose(batched.hidden[i], single.hidden, rtol=1e-5)


def test_sigmoid_gradients_vanish_toward_the_input(key):
    # The chapter's headline claim, over several seeds: at depth 20 the first layer's
    # back-propagated signal is at least 1e5 times smaller than the last one's, for every
    # seed (0.25 per layer bounds the decay rate from below; 20 layers allow ~1e12).
    kx, kseeds = jax.random.split(key)
    xs, ys = jax.random.normal(kx, (64, 16)), jnp.arange(64) % 4
    res = gc.probes.probe_seeds(
        jax.random.split(kseeds, 5), xs, ys, width=32, depth=20, activation="sigmoid"
    )
    ratio = gc.probes.layer_ratio(res.hidden)
    assert bool(jnp.all(ratio < 1e-5)), ratio
    tanh = gc.probes.probe_seeds(
        jax.random.split(kseeds, 5), xs, ys, width=32, depth=20, activation="tanh"
    )
    assert bool(jnp.all(gc.probes.layer_ratio(tanh.hidden) > 1e-3))


def test_grad_norms_validates(problem):
    params, xs, ys = problem
    with pytest.raises(ValueError, match="xs must have 2 dimensions"):
        gc.probes.grad_norms(params, xs[0], ys)
    with pytest.raises(ValueError, match="ys must have the batch size"):
        gc.probes.grad_norms(params, xs, ys[:3])
    with pytest.raises(ValueError, match="kind must be one of"):
        gc.probes.grad_norms(params, xs, ys, kind="l1")
    with pytest.raises(ValueError, match="norms must have >= 2 layers"):
        gc.probes.layer_ratio(jnp.ones(1))


@pytest.mark.parametrize("activation", ["relu", jax.nn.gelu])
def test_weight_norms_equal_jax_grad_for_other_activations(problem, activation):
    params, xs, ys = problem
    g = jax.grad(gc.networks.loss)(params, xs, ys, activation)
    got = gc.probes.grad_norms(params, xs, ys, activation)
    np.testing.assert_allclose(
        got.weights[1:-1], gc.probes.layer_grad_norms(g)[1:-1], 1e-5
    )
    np.testing.assert_allclose(got.weights[0], np.linalg.norm(g.first.w), rtol=1e-5)


def test_one_layer_network(key):
    params = gc.networks.init_mlp(key, in_dim=4, width=5, depth=1, out_dim=2)
    xs, ys = jnp.ones((3, 4)), jnp.array([0, 1, 1])
    got = gc.probes.grad_norms(params, xs, ys)
    g = jax.grad(gc.networks.loss)(params, xs, ys)
    assert got.weights.shape == (2,) and got.hidden.shape == (1,)
    np.testing.assert_allclose(got.weights[1], np.linalg.norm(g.readout.w), rtol=1e-5)


def test_tiny_gradients_are_not_rounded_to_zero(key):
    # 40 sigmoid layers: the first layer's gradient is far below 1e-19, where squaring
    # float32 entries underflows; the rescaled norm still reports it.
    params = gc.networks.init_mlp(key, in_dim=8, width=16, depth=40, out_dim=3)
    xs, ys = jax.random.normal(key, (8, 8)), jnp.arange(8) % 3
    w = gc.probes.grad_norms(params, xs, ys, "sigmoid").weights
    assert float(w[0]) < 1e-19 and float(w[0]) > 0


def test_layer_grad_norms_equal_numpy_for_each_layout(problem, key):
    params, _, _ = problem
    expected = [np.linalg.norm(params.first.w)]
    expected += [np.linalg.norm(w) for w in np.asarray(params.hidden.w)]
    expected += [np.linalg.norm(params.readout.w)]
    np.testing.assert_allclose(gc.probes.layer_grad_norms(params), expected, rtol=1e-6)
    # A two-layer residual branch (W, V) is one layer per block.
    w, v = (jax.random.normal(k, (4, 5, 5)) for k in jax.random.split(key))
    branch = tuple(gc.networks.Dense(a, jnp.zeros((4, 5))) for a in (w, v))
    tree = (params.first, branch, params.readout)
    blocks = np.sqrt(
        np.linalg.norm(np.asarray(w), axis=(1, 2)) ** 2
        + np.linalg.norm(np.asarray(v), axis=(1, 2)) ** 2
    )
    np.testing.assert_allclose(
        gc.probes.layer_grad_norms(tree),
        [expected[0], *blocks, expected[-1]],
        rtol=1e-6,
    )
    # Leaves that are not Dense (a PReLU slope) are not layers.
    assert gc.probes.layer_grad_norms((params, jnp.ones(3))).shape == (8,)


def test_layer_grad_norms_rejects_tree_without_dense():
    with pytest.raises(ValueError, match="tree"):
        gc.probes.layer_grad_norms({"w": jnp.ones(3)})
