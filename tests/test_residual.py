"""Residual MLP: block Jacobian, plain/residual equivalences, probes against jax.grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

R = gc.residual


@pytest.fixture
def params2(key):
    return R.init_residual_mlp(
        key, in_dim=5, width=9, depth=6, out_dim=3, branch_layers=2
    )


@pytest.mark.parametrize("branch_layers", [1, 2])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("alpha", [1.0, 0.25])
def test_block_jacobian_equals_identity_plus_branch_jacfwd(key, branch_layers, activation,
                                                           alpha):  # fmt: skip
    kp, kh, kb = jax.random.split(key, 3)
    b_init = jax.nn.initializers.normal(0.5)
    p = R.init_residual_mlp(kp, 4, 7, 3, 2, branch_layers=branch_layers, b_init=b_init)
    layers = jax.tree.map(lambda a: a[1], p.branch)
    h = jax.random.normal(kh, (7,))
    got = R.block_jacobian(layers, h, activation, branch_scale=alpha)
    full = jax.jacfwd(lambda v: R.block(layers, v, activation, branch_scale=alpha))(h)
    branch = jax.jacfwd(lambda v: R.block(layers, v, activation, residual=False))(h)
    np.testing.assert_allclose(got, full, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, jnp.eye(7) + alpha * branch, rtol=1e-5, atol=1e-6)


def test_block_jacobian_tends_to_identity_as_branch_scale_shrinks(key):
    p = R.init_residual_mlp(key, 4, 32, 2, 2)
    layers = jax.tree.map(lambda a: a[0], p.branch)
    h = jnp.ones(32)
    for alpha, bound in [(1e-1, 0.5), (1e-2, 0.05), (1e-3, 0.005)]:
        s = jnp.linalg.svd(R.block_jacobian(layers, h, "tanh", branch_scale=alpha),
                           compute_uv=False)  # fmt: skip
        assert float(jnp.max(jnp.abs(s - 1))) < bound


def test_plain_one_layer_branch_equals_networks_mlp(key):
    kp, kx = jax.random.split(key)
    p = R.init_residual_mlp(kp, 5, 8, 7, 3)
    xs = jax.random.normal(kx, (4, 5))
    out, trace = R.forward_batch(p, xs, "tanh", residual=False)
    ref, ref_trace = gc.networks.forward_batch(R.as_mlp(p), xs, "tanh")
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trace.post, ref_trace.post, rtol=1e-5, atol=1e-6)


def test_forward_equals_python_loop(key, params2):
    x = jax.random.normal(key, (5,))
    alpha = 0.3
    h = jax.nn.relu(params2.first.w @ x + params2.first.b)
    (w, b), (v, c) = params2.branch
    for i in range(params2.depth):
        h = h + alpha * (v[i] @ jax.nn.relu(w[i] @ h + b[i]) + c[i])
    want = params2.readout.w @ h + params2.readout.b
    got = R.forward(params2, x, "relu", branch_scale=alpha)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_product_of_block_jacobians_is_end_to_end_jacobian(key, params2):
    x = jax.random.normal(key, (5,))
    _, trace = R.forward_with_trace(params2, x, "tanh", branch_scale=0.5)
    product = jnp.eye(9)
    for i in range(params2.depth):
        layers = jax.tree.map(lambda a, i=i: a[i], params2.branch)
        product = (
            R.block_jacobian(layers, trace.post[i], "tanh", branch_scale=0.5) @ product
        )

    def h_last(h0):
        def step(h, layers):
            return R.block(layers, h, "tanh", branch_scale=0.5), None

        return jax.lax.scan(step, h0, params2.branch)[0]

    np.testing.assert_allclose(product, jax.jacfwd(h_last)(trace.post[0]), rtol=1e-4,
                               atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("residual", [True, False])
def test_grad_norms_equal_jax_grad(key, params2, residual):
    kx, _ = jax.random.split(key)
    xs, ys = jax.random.normal(kx, (8, 5)), jnp.arange(8) % 3

    def loss(p):
        out, _ = R.forward_batch(p, xs, "tanh", residual=residual, branch_scale=0.5)
        return gc.networks.LOSSES["cross_entropy"](out, ys)

    g = jax.grad(loss)(params2)
    got = gc.probes.grad_norms(
        params2, xs, ys, "tanh", residual=residual, branch_scale=0.5
    )
    blocks = np.sqrt(sum(np.sum(np.asarray(d.w) ** 2, axis=(1, 2)) for d in g.branch))
    want = np.concatenate([[np.linalg.norm(g.first.w)], blocks,
                           [np.linalg.norm(g.readout.w)]])  # fmt: skip
    np.testing.assert_allclose(got.weights, want, rtol=1e-5)
    np.testing.assert_allclose(gc.probes.layer_grad_norms(g), want, rtol=1e-5)
    assert float(got.loss) == pytest.approx(float(loss(params2)), rel=1e-6)
    # dL/dh_L is the read-out's back-propagation of dL/dlogits.
    logits, _ = R.forward_batch(
        params2, xs, "tanh", residual=residual, branch_scale=0.5
    )
    dlogits = jax.grad(lambda o: gc.networks.LOSSES["cross_entropy"](o, ys))(logits)
    assert float(got.hidden[-1]) == pytest.approx(
        float(jnp.linalg.norm(dlogits @ params2.readout.w)), rel=1e-5
    )


def test_input_gradients_equal_jax_grad(key):
    p = R.init_residual_mlp(key, 1, 16, 10, 1)
    xs = jnp.linspace(-2, 2, 11)[:, None]
    got = gc.shattering.input_gradients(p, xs, "relu", branch_scale=0.3)
    for i in [0, 5, 10]:
        want = jax.grad(lambda x: R.forward(p, x, "relu", branch_scale=0.3)[0])(xs[i])
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-7)


def test_neighbour_correlation_smooth_against_noise(key):
    grid = jnp.linspace(0, 3, 200)
    assert float(gc.shattering.neighbour_correlation(jnp.sin(grid))) > 0.99
    noise = jax.random.normal(key, (20, 200))
    rho = gc.shattering.neighbour_correlation(noise)
    assert rho.shape == (20,)
    assert abs(float(rho.mean())) < 0.05  # white noise: ~ N(0, 1/200) per row
    np.testing.assert_allclose(
        gc.shattering.neighbour_correlation(noise[0]),
        np.corrcoef(noise[0, :-1], noise[0, 1:])[0, 1],
        rtol=1e-4,
    )


def test_model_plugs_into_fit(key):
    kp, kd, kf = jax.random.split(key, 3)
    xs, ys = gc.data.gaussian_classification(kd, 64, 4, 3)
    p = R.init_residual_mlp(kp, 4, 8, 5, 3)
    import optax

    _, hist = gc.train.fit(kf, p, xs, ys, model=R.ResidualModel("relu", branch_scale=0.5),
                           optimizer=optax.adam(1e-2), steps=30, batch_size=64,
                           layer_norms=gc.probes.layer_grad_norms)  # fmt: skip
    assert hist.grad_norms.shape == (30, 7)
    assert float(hist.loss[-1]) < 0.7 * float(hist.loss[0])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda k: R.init_residual_mlp(k, 3, 4, 0, 2), "depth"),
        (lambda k: R.init_residual_mlp(k, 3, 0, 2, 2), "width"),
        (
            lambda k: R.init_residual_mlp(k, 3, 4, 2, 2, branch_layers=3),
            "branch_layers",
        ),
        (lambda k: R.ResidualModel("relu", branch_scale=0.0), "branch_scale"),
        (lambda k: gc.shattering.neighbour_correlation(jnp.ones(2)), "values"),
        (
            lambda k: R.forward(R.init_residual_mlp(k, 3, 4, 2, 2), jnp.ones((2, 3))),
            "x",
        ),
        (
            lambda k: gc.probes.grad_norms(
                R.init_residual_mlp(k, 3, 4, 2, 2), jnp.ones((4, 3)), jnp.zeros(3, int)
            ),
            "ys",
        ),  # fmt: skip
        (
            lambda k: R.as_mlp(R.init_residual_mlp(k, 3, 4, 2, 2, branch_layers=2)),
            "branch",
        ),
    ],
)
def test_residual_rejects_bad_arguments(key, make, match):
    with pytest.raises(ValueError, match=match):
        make(key)


def test_layer_input_derivatives_equal_jacfwd(key):
    p = R.init_residual_mlp(key, 1, 6, 5, 1, b_init=jax.nn.initializers.normal(0.5))
    xs = jnp.linspace(-2, 2, 7)[:, None]
    got = gc.shattering.layer_input_derivatives(p, xs, "relu", residual=False)
    for i in [0, 3, 6]:
        post = lambda x: R.forward_with_trace(p, x, "relu", residual=False)[1].post  # noqa: E731
        np.testing.assert_allclose(got[i], jax.jacfwd(post)(xs[i])[..., 0], rtol=1e-5,
                                   atol=1e-7)  # fmt: skip
    # The last layer projected on the read-out is the network's input gradient.
    proj = got[:, -1] @ p.readout.w[0]
    want = gc.shattering.input_gradients(p, xs, "relu", residual=False)[:, 0]
    np.testing.assert_allclose(proj, want, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="xs"):
        gc.shattering.layer_input_derivatives(p, jnp.ones((3, 2)))


def test_default_init_equals_jax_lecun_normal(key):
    lecun = jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal", in_axis=-1,
                                                 out_axis=-2)  # fmt: skip
    got = R.init_residual_mlp(key, 5, 8, 4, 3, branch_layers=2)
    want = R.init_residual_mlp(key, 5, 8, 4, 3, branch_layers=2, w_init=lecun)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)


def test_per_block_flags_pad_a_shallow_plain_network_with_identities(key):
    kp, kx = jax.random.split(key)
    deep = R.init_residual_mlp(kp, 5, 8, 6, 3)
    shallow = deep._replace(branch=jax.tree.map(lambda a: a[:2], deep.branch))
    xs = jax.random.normal(kx, (4, 5))
    blocks = jnp.arange(6)
    flags, alphas = blocks >= 2, jnp.where(blocks < 2, 1.0, 0.0)
    got, _ = R.forward_batch(deep, xs, "tanh", residual=flags, branch_scale=alphas)
    want, _ = R.forward_batch(shallow, xs, "tanh", residual=False)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    g = gc.probes.grad_norms(deep, xs, jnp.arange(4) % 3, "tanh", residual=flags,
                     branch_scale=alphas)  # fmt: skip
    assert np.all(np.asarray(g.weights[3:-1]) == 0)  # the identity blocks do not learn
    with pytest.raises(ValueError, match="branch_scale"):
        R.forward(deep, xs[0], branch_scale=jnp.ones(5))


def test_grad_norms_do_not_underflow_for_tiny_gradients(key):
    # With a read-out of 1e-10 or 1e-30 the logits are the read-out bias either way, so
    # every back-propagated quantity below the read-out is proportional to its scale.
    # Their squares (about 1e-60) underflow float32; the rescaled norms must not.
    kp, kx = jax.random.split(key)
    p = R.init_residual_mlp(kp, 5, 8, 4, 3)
    xs, ys = jax.random.normal(kx, (6, 5)), jnp.arange(6) % 3

    def probe(scale):
        q = p._replace(readout=p.readout._replace(w=p.readout.w * scale))
        return gc.probes.grad_norms(q, xs, ys, "tanh", branch_scale=0.5)

    small, tiny = probe(1e-10), probe(1e-30)
    assert np.all(np.asarray(tiny.hidden) > 0) and np.all(np.asarray(tiny.weights) > 0)
    np.testing.assert_allclose(tiny.hidden, 1e-20 * small.hidden, rtol=1e-4)
    np.testing.assert_allclose(tiny.weights[:-1], 1e-20 * small.weights[:-1], rtol=1e-4)


def test_layer_norms_are_homogeneous_down_to_tiny_scales(params2):
    g = jax.tree.map(lambda a: a + 1.0, params2)  # nonzero everywhere
    unit = gc.probes.layer_grad_norms(g)
    tiny = gc.probes.layer_grad_norms(jax.tree.map(lambda a: a * 1e-30, g))
    np.testing.assert_allclose(tiny, 1e-30 * unit, rtol=1e-5)
    blocks = np.sqrt(np.sum(np.asarray(g.branch[0].w) ** 2, axis=(1, 2))
                     + np.sum(np.asarray(g.branch[1].w) ** 2, axis=(1, 2)))  # fmt: skip
    np.testing.assert_allclose(unit[1:-1], blocks, rtol=1e-5)


def test_neighbour_correlation_is_scale_invariant(key):
    v = jnp.cumsum(jax.random.normal(key, (3, 100)), axis=-1)  # random walks
    np.testing.assert_allclose(
        gc.shattering.neighbour_correlation(1e-25 * v),
        gc.shattering.neighbour_correlation(v),
        rtol=1e-5,
    )


def test_wired_model_equals_forward_batch(key):
    kp, kx = jax.random.split(key)
    p = R.init_residual_mlp(kp, 5, 8, 4, 3)
    xs = jax.random.normal(kx, (6, 5))
    flags, scales = jnp.array([0.0, 1.0, 1.0, 0.0]), jnp.array([1.0, 0.3, 0.0, 1.0])
    got, trace = R.WiredModel("tanh")(p, xs, R.Wiring(flags, scales))
    want, want_trace = R.forward_batch(
        p, xs, "tanh", residual=flags > 0, branch_scale=scales
    )
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(trace.post, want_trace.post)
    assert R.WiredModel("tanh") == R.WiredModel("tanh")


def test_wired_fit_seeds_equals_one_fit_per_wiring(key):
    # Two wirings trained as two "seeds" of one loop, the wiring beside the weights
    # (per_run), match two separate fits with the wiring as a static setting.
    import optax

    kp, kd, kf = jax.random.split(key, 3)
    xs, ys = gc.data.gaussian_classification(kd, 48, 4, 3)
    nets = jax.vmap(lambda k: R.init_residual_mlp(k, 4, 6, 3, 3))(
        jax.random.split(kp, 2)
    )
    wiring = [(False, 1.0), (True, 0.5)]
    per_run = R.Wiring(
        jnp.array([[float(r)] * 3 for r, _ in wiring]),
        jnp.array([[a] * 3 for _, a in wiring]),
    )
    keys = jax.random.split(kf, 2)
    kw = dict(optimizer=optax.adam(1e-2), steps=15, batch_size=16)
    _, hist = gc.train.fit_seeds(keys, nets, xs, ys, model=R.WiredModel("relu"),
                                 per_run=per_run, **kw)  # fmt: skip
    for s, (residual, alpha) in enumerate(wiring):
        net = jax.tree.map(lambda a, s=s: a[s], nets)
        model = R.ResidualModel("relu", residual=residual, branch_scale=alpha)
        _, one = gc.train.fit(keys[s], net, xs, ys, model=model,
                              layer_norms=gc.probes.layer_grad_norms, **kw)  # fmt: skip
        np.testing.assert_allclose(hist.loss[s], one.loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hist.grad_norms[s], one.grad_norms, rtol=1e-4,
                                   atol=1e-7)  # fmt: skip
