"""The normalised MLP: forward pass, training-mode model, inference statistics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

N = gc.normalization
M = gc.norm_mlp


@pytest.fixture
def net(key):
    kp, kx = jax.random.split(key)
    params = M.init_norm_mlp(kp, 8, 16, 12, 3)
    xs = 2.0 + jax.random.normal(kx, (40, 8))
    return params, xs


def test_forward_batch_norm_activations_standardised_per_layer(net):
    params, xs = net
    out, trace, stats = M.forward(params, xs, "sigmoid")
    assert out.shape == (40, 3)
    assert trace.pre.shape == trace.post.shape == (40, 12, 16)
    assert stats.mean.shape == (12, 16)
    np.testing.assert_allclose(trace.pre.mean(axis=0), 0.0, atol=1e-5)
    # Unit variance up to the epsilon: sigma^2 / (sigma^2 + eps) exactly.
    expected = stats.var / (stats.var + 1e-5)
    np.testing.assert_allclose(trace.pre.var(axis=0), expected, rtol=1e-3)
    assert float(expected.min()) > 0.99
    np.testing.assert_allclose(trace.post, jax.nn.sigmoid(trace.pre), rtol=1e-6)


def test_forward_matches_layer_by_layer_loop(net):
    params, xs = net
    h = jax.nn.sigmoid(N.batch_norm(N.Affine(params.norm.gamma[0], params.norm.beta[0]),
                                    xs @ params.first.w.T + params.first.b))  # fmt: skip
    for i in range(params.depth - 1):
        aff = N.Affine(params.norm.gamma[i + 1], params.norm.beta[i + 1])
        h = jax.nn.sigmoid(
            N.batch_norm(aff, h @ params.hidden.w[i].T + params.hidden.b[i])
        )
    expected = h @ params.readout.w.T + params.readout.b
    np.testing.assert_allclose(M.forward(params, xs)[0], expected, rtol=1e-4, atol=1e-5)
    # norm="none" is the plain MLP of gradcourse.networks.
    plain = gc.networks.MLP(params.first, params.hidden, params.readout)
    np.testing.assert_allclose(
        M.forward(params, xs, "tanh", norm="none")[0],
        gc.networks.forward_batch(plain, xs, "tanh")[0],
        rtol=1e-4,
        atol=1e-5,
    )


def test_forward_equal_width_matches_layer_by_layer_loop(key):
    # in_dim == width takes the single-scan path; it must be the same network.
    kp, kx = jax.random.split(key)
    params = M.init_norm_mlp(kp, 16, 16, 6, 3)
    xs = 1.0 + jax.random.normal(kx, (24, 16))
    layers = [params.first] + [
        gc.networks.Dense(params.hidden.w[i], params.hidden.b[i])
        for i in range(params.depth - 1)
    ]
    h = xs
    for i, dense in enumerate(layers):
        aff = N.Affine(params.norm.gamma[i], params.norm.beta[i])
        h = jnp.tanh(N.layer_norm(aff, h @ dense.w.T + dense.b))
    out, trace, stats = M.forward(params, xs, "tanh", norm="layer")
    np.testing.assert_allclose(out, h @ params.readout.w.T + params.readout.b,
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(trace.post[:, -1], h, rtol=1e-5, atol=1e-6)
    assert trace.pre.shape == (24, 6, 16) and stats.mean.shape == (6, 16)
    # Evaluation with one batch's statistics gives back that batch's training output.
    _, _, bstats = M.forward(params, xs)
    np.testing.assert_allclose(M.forward(params, xs, stats=bstats)[0],
                               M.forward(params, xs)[0], atol=1e-4)  # fmt: skip


@pytest.mark.parametrize("norm", N.NORMS)
def test_forward_norm_index_equals_norm_name(net, norm):
    # An index into NORMS, concrete or traced (jit, vmap), is the same network as the name.
    params, xs = net
    expected = M.forward(params, xs, "sigmoid", norm=norm)[0]
    index = N.NORMS.index(norm)
    np.testing.assert_allclose(M.forward(params, xs, "sigmoid", norm=index)[0], expected,
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    traced = jax.jit(lambda i: M.forward(params, xs, "sigmoid", norm=i)[0])(index)
    np.testing.assert_allclose(traced, expected, rtol=1e-5, atol=1e-6)
    every = jax.vmap(lambda i: M.forward(params, xs, "sigmoid", norm=i)[0])(
        jnp.arange(len(N.NORMS))
    )
    np.testing.assert_allclose(every[index], expected, rtol=1e-5, atol=1e-6)


def test_evaluation_with_full_batch_stats_reproduces_training_mode(net):
    # The statistics of one batch, used as population statistics, give back the
    # training-mode output of that batch, up to the 1e-5 in the variance.
    params, xs = net
    out, _, stats = M.forward(params, xs)
    np.testing.assert_allclose(M.forward(params, xs, stats=stats)[0], out, atol=1e-4)


def test_population_stats_is_algorithm_2(net, key):
    params, xs = net
    idx = gc.data.minibatches(key, xs.shape[0], 10, 3)
    stats = M.population_stats(params, xs[idx])
    per_batch = [M.forward(params, xs[i])[2] for i in idx]
    mean = np.mean([s.mean for s in per_batch], axis=0)
    var = np.mean([s.var for s in per_batch], axis=0) * 10 / 9
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stats.var, var, rtol=1e-4, atol=1e-6)


def test_first_layer_bias_gradient_is_zero_under_batch_norm(net):
    params, xs = net
    ys = jnp.arange(40) % 3

    def loss(p):
        out = M.model("tanh")(p, xs)[0]
        return gc.networks.LOSSES["cross_entropy"](out, ys)

    g = jax.jit(jax.grad(loss))(params)
    np.testing.assert_allclose(g.first.b, 0.0, atol=1e-6)
    np.testing.assert_allclose(g.hidden.b, 0.0, atol=1e-6)
    assert float(jnp.abs(g.first.w).max()) > 1e-4
    assert gc.probes.layer_grad_norms(g).shape == (13,)


def test_model_is_a_value_and_validates():
    assert M.model("sigmoid") == M.model("sigmoid") == M.NormModel("sigmoid", "batch")
    assert hash(M.model("tanh", "layer")) == hash(M.NormModel("tanh", "layer"))
    assert M.model("sigmoid") != M.model("sigmoid", "layer")
    with pytest.raises(ValueError, match="norm"):
        M.model("sigmoid", "group")


def test_norm_mlp_validates_arguments(net):
    mlp, xs = net
    with pytest.raises(ValueError, match="norm"):
        M.forward(mlp, xs, norm="group")
    with pytest.raises(ValueError, match="stats"):
        M.forward(mlp, xs, norm="layer", stats=M.forward(mlp, xs)[2])
    with pytest.raises(ValueError, match="stats"):
        M.forward(mlp, xs, norm=0, stats=M.forward(mlp, xs)[2])
    with pytest.raises(ValueError, match=r"norm must be in \[0, 2\]"):
        M.forward(mlp, xs, norm=3)
    with pytest.raises(ValueError, match="integer index"):
        M.forward(mlp, xs, norm=1.0)
    with pytest.raises(ValueError, match="integer index"):
        M.forward(mlp, xs, norm=jnp.arange(2))
    with pytest.raises(ValueError, match="m >= 2"):
        M.population_stats(
            mlp, xs[gc.data.minibatches(jax.random.key(0), len(xs), 1, 3)]
        )
    with pytest.raises(ValueError, match="batches must have 3 dimensions"):
        M.population_stats(mlp, xs)
