"""Batch and layer normalisation against their formulas, jax.grad and each other."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

N = gc.normalization


@pytest.fixture
def batch(key):
    kx, kg, kb = jax.random.split(key, 3)
    x = 3.0 + 2.5 * jax.random.normal(kx, (32, 6))
    params = N.Affine(jax.random.normal(kg, (6,)), jax.random.normal(kb, (6,)))
    return params, x


def _manual_batch_norm(gamma, beta, x, eps=1e-5):
    m = x.shape[0]
    mu = jnp.sum(x, axis=0) / m
    var = jnp.sum((x - mu) ** 2, axis=0) / m
    return gamma * (x - mu) / jnp.sqrt(var + eps) + beta


def test_batch_norm_standardises_each_feature(batch):
    _, x = batch
    y = N.batch_norm(N.affine_init(6), x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    # Variance sigma^2 / (sigma^2 + eps), with sigma^2 about 6: 1 to within 1e-5.
    np.testing.assert_allclose(y.var(axis=0), 1.0, atol=1e-5)


def test_batch_norm_equals_manual_formula_and_gamma_beta(batch):
    params, x = batch
    y = N.batch_norm(params, x)
    np.testing.assert_allclose(y, _manual_batch_norm(*params, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y.mean(axis=0), params.beta, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), jnp.abs(params.gamma), rtol=1e-4)


def test_batch_norm_gradient_equals_jax_grad_of_manual_formula(batch, key):
    params, x = batch
    cot = jax.random.normal(key, x.shape)

    def ours(p, x_):
        return jnp.sum(cot * N.batch_norm(N.Affine(*p), x_))

    def manual(p, x_):
        return jnp.sum(cot * _manual_batch_norm(p[0], p[1], x_))

    g_ours = jax.grad(ours, argnums=(0, 1))(tuple(params), x)
    g_manual = jax.grad(manual, argnums=(0, 1))(tuple(params), x)
    for a, b in zip(jax.tree.leaves(g_ours), jax.tree.leaves(g_manual), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # The analytic input gradient of Ioffe & Szegedy (2015, section 3):
    # dx = gamma / sigma * (g - mean(g) - xhat * mean(g * xhat)).
    sigma = jnp.sqrt(x.var(axis=0) + 1e-5)
    xhat = (x - x.mean(axis=0)) / sigma
    dx = params.gamma / sigma * (cot - cot.mean(0) - xhat * (cot * xhat).mean(0))
    np.testing.assert_allclose(g_ours[1], dx, rtol=1e-4, atol=1e-5)


def test_batch_norm_is_invariant_to_weight_scale(batch, key):
    params, x = batch
    w = jax.random.normal(key, (5, 6))
    p5 = N.affine_init(5)

    def loss(w_):
        return jnp.sum(jnp.sin(N.batch_norm(p5, x @ w_.T)))

    np.testing.assert_allclose(
        N.batch_norm(p5, x @ (7.0 * w).T), N.batch_norm(p5, x @ w.T), atol=1e-4
    )
    np.testing.assert_allclose(jax.grad(loss)(7.0 * w), jax.grad(loss)(w) / 7.0,
                               rtol=1e-3, atol=1e-6)  # fmt: skip


def test_batch_norm_evaluation_uses_given_stats(batch):
    params, x = batch
    stats = N.Stats(jnp.full(6, 2.0), jnp.full(6, 4.0))
    y = N.batch_norm(params, x, stats, eps=1e-5)
    expected = params.gamma * (x - 2.0) / jnp.sqrt(4.0 + 1e-5) + params.beta
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    # With fixed statistics, each example's output does not depend on the others.
    np.testing.assert_allclose(N.batch_norm(params, x[:3], stats), y[:3], rtol=1e-6)
    assert not np.allclose(N.batch_norm(params, x[:3]), N.batch_norm(params, x)[:3])


def test_layer_norm_standardises_each_example(batch):
    _, x = batch
    y = N.layer_norm(N.affine_init(6), x)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(N.layer_norm(N.affine_init(6), x[:1]), y[:1], rtol=1e-6)
    # It is batch norm of the transposed problem.
    np.testing.assert_allclose(y, N.batch_norm(N.affine_init(32), x.T).T, atol=1e-5)


def test_zero_padding_rows_move_batch_norm_but_not_layer_norm(batch):
    """The padding experiment of the batch-normalisation chapter: rows of zeros added to
    the batch change batch norm's output for the real rows, never layer norm's."""
    _, x = batch
    padded = jnp.concatenate([x, jnp.zeros((3 * x.shape[0], x.shape[1]))])
    aff = N.affine_init(x.shape[1])
    np.testing.assert_array_equal(
        N.layer_norm(aff, padded)[: x.shape[0]], N.layer_norm(aff, x)
    )
    assert (
        np.abs(N.batch_norm(aff, padded)[: x.shape[0]] - N.batch_norm(aff, x)).max()
        > 0.5
    )


def test_ema_running_average():
    running = N.Stats(jnp.zeros(2), jnp.ones(2))
    new = N.ema(running, N.Stats(jnp.ones(2), jnp.full(2, 3.0)), decay=0.9)
    np.testing.assert_allclose(new.mean, 0.1, rtol=1e-6)
    np.testing.assert_allclose(new.var, 1.2, rtol=1e-6)


@pytest.fixture
def net(key):
    kp, kx = jax.random.split(key)
    params = N.init_norm_mlp(kp, 8, 16, 12, 3)
    xs = 2.0 + jax.random.normal(kx, (40, 8))
    return params, xs


def test_forward_batch_norm_activations_standardised_per_layer(net):
    params, xs = net
    out, trace, stats = N.forward(params, xs, "sigmoid")
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
    np.testing.assert_allclose(N.forward(params, xs)[0], expected, rtol=1e-4, atol=1e-5)
    # norm="none" is the plain MLP of gradcourse.networks.
    plain = gc.networks.MLP(params.first, params.hidden, params.readout)
    np.testing.assert_allclose(
        N.forward(params, xs, "tanh", norm="none")[0],
        gc.networks.forward_batch(plain, xs, "tanh")[0],
        rtol=1e-4,
        atol=1e-5,
    )


def test_forward_equal_width_matches_layer_by_layer_loop(key):
    # in_dim == width takes the single-scan path; it must be the same network.
    kp, kx = jax.random.split(key)
    params = N.init_norm_mlp(kp, 16, 16, 6, 3)
    xs = 1.0 + jax.random.normal(kx, (24, 16))
    layers = [params.first] + [
        gc.networks.Dense(params.hidden.w[i], params.hidden.b[i])
        for i in range(params.depth - 1)
    ]
    h = xs
    for i, dense in enumerate(layers):
        aff = N.Affine(params.norm.gamma[i], params.norm.beta[i])
        h = jnp.tanh(N.layer_norm(aff, h @ dense.w.T + dense.b))
    out, trace, stats = N.forward(params, xs, "tanh", norm="layer")
    np.testing.assert_allclose(out, h @ params.readout.w.T + params.readout.b,
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(trace.post[:, -1], h, rtol=1e-5, atol=1e-6)
    assert trace.pre.shape == (24, 6, 16) and stats.mean.shape == (6, 16)
    # Evaluation with one batch's statistics gives back that batch's training output.
    _, _, bstats = N.forward(params, xs)
    np.testing.assert_allclose(N.forward(params, xs, stats=bstats)[0],
                               N.forward(params, xs)[0], atol=1e-4)  # fmt: skip


@pytest.mark.parametrize("norm", N.NORMS)
def test_forward_norm_index_equals_norm_name(net, norm):
    # An index into NORMS, concrete or traced (jit, vmap), is the same network as the name.
    params, xs = net
    expected = N.forward(params, xs, "sigmoid", norm=norm)[0]
    index = N.NORMS.index(norm)
    np.testing.assert_allclose(N.forward(params, xs, "sigmoid", norm=index)[0], expected,
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    traced = jax.jit(lambda i: N.forward(params, xs, "sigmoid", norm=i)[0])(index)
    np.testing.assert_allclose(traced, expected, rtol=1e-5, atol=1e-6)
    every = jax.vmap(lambda i: N.forward(params, xs, "sigmoid", norm=i)[0])(
        jnp.arange(len(N.NORMS))
    )
    np.testing.assert_allclose(every[index], expected, rtol=1e-5, atol=1e-6)


def test_evaluation_with_full_batch_stats_reproduces_training_mode(net):
    # The statistics of one batch, used as population statistics, give back the
    # training-mode output of that batch, up to the 1e-5 in the variance.
    params, xs = net
    out, _, stats = N.forward(params, xs)
    np.testing.assert_allclose(N.forward(params, xs, stats=stats)[0], out, atol=1e-4)


def test_population_stats_is_algorithm_2(net, key):
    params, xs = net
    stats = N.population_stats(key, params, xs, batch_size=10, batches=3)
    keys = jax.random.split(key, 3)
    per_batch = [
        N.forward(params, xs[jax.random.choice(k, 40, (10,), replace=False)])[2]
        for k in keys
    ]
    mean = np.mean([s.mean for s in per_batch], axis=0)
    var = np.mean([s.var for s in per_batch], axis=0) * 10 / 9
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stats.var, var, rtol=1e-4, atol=1e-6)


def test_first_layer_bias_gradient_is_zero_under_batch_norm(net):
    params, xs = net
    ys = jnp.arange(40) % 3

    def loss(p):
        out = N.model("tanh")(p, xs)[0]
        return gc.networks.LOSSES["cross_entropy"](out, ys)

    g = jax.jit(jax.grad(loss))(params)
    np.testing.assert_allclose(g.first.b, 0.0, atol=1e-6)
    np.testing.assert_allclose(g.hidden.b, 0.0, atol=1e-6)
    assert float(jnp.abs(g.first.w).max()) > 1e-4
    assert gc.probes.layer_grad_norms(g).shape == (13,)


def test_model_is_cached_and_validates():
    assert N.model("sigmoid") is N.model("sigmoid")
    with pytest.raises(ValueError, match="norm"):
        N.model("sigmoid", "group")


def test_normalization_validates_arguments(batch, net):
    params, x = batch
    with pytest.raises(ValueError, match="eps"):
        N.batch_norm(params, x, eps=0.0)
    with pytest.raises(ValueError, match="x must have 2"):
        N.batch_norm(params, x[0])
    with pytest.raises(ValueError, match="eps"):
        N.layer_norm(params, x, eps=-1.0)
    with pytest.raises(ValueError, match="decay"):
        N.ema(N.Stats(x[0], x[0]), N.Stats(x[0], x[0]), decay=1.0)
    with pytest.raises(ValueError, match="features"):
        N.affine_init(0)
    mlp, xs = net
    with pytest.raises(ValueError, match="norm"):
        N.forward(mlp, xs, norm="group")
    with pytest.raises(ValueError, match="stats"):
        N.forward(mlp, xs, norm="layer", stats=N.forward(mlp, xs)[2])
    with pytest.raises(ValueError, match="stats"):
        N.forward(mlp, xs, norm=0, stats=N.forward(mlp, xs)[2])
    with pytest.raises(ValueError, match=r"norm must be in \[0, 2\]"):
        N.forward(mlp, xs, norm=3)
    with pytest.raises(ValueError, match="integer index"):
        N.forward(mlp, xs, norm=1.0)
    with pytest.raises(ValueError, match="integer index"):
        N.forward(mlp, xs, norm=jnp.arange(2))
    with pytest.raises(ValueError, match="batch_size"):
        N.population_stats(jax.random.key(0), mlp, xs, batch_size=1)
    with pytest.raises(ValueError, match="batches"):
        N.population_stats(jax.random.key(0), mlp, xs, batches=0, batch_size=8)
