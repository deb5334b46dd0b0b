"""Layer Jacobians, their products and spectra, random-matrix chains, non-normal powers.

Tolerances are for float32: products of a dozen 16 x 16 factors agree with a single
jacfwd/jacrev of the whole map to 1e-5 of the largest entry (observed ~1e-7).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

J = gc.jacobians
S = gc.spectra


def _identity(z):
    return z


@pytest.fixture
def net(key):
    kp, kx = jax.random.split(key)
    params = gc.jacobians.init_mean_field(kp, 8, 16, 12, 3, sigma_w2=1.5, sigma_b2=0.05)
    return params, jax.random.normal(kx, (8,))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_layer_jacobians_equal_diag_slope_times_weight(net, activation):
    params, x = net
    jacs = J.layer_jacobians(params, x, activation)
    _, trace = gc.networks.forward_with_trace(params, x, activation)
    slope = gc.registry.get(activation).grad(trace.pre)
    np.testing.assert_allclose(
        jacs.first, slope[0][:, None] * params.first.w, atol=1e-6
    )
    expected = slope[1:, :, None] * params.hidden.w
    np.testing.assert_allclose(jacs.hidden, expected, atol=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", jax.nn.relu])
def test_jacobian_products_equal_end_to_end_jacobian(net, activation):
    params, x = net
    prods = J.jacobian_products(J.layer_jacobians(params, x, activation))
    end_to_end = J.input_output_jacobian(params, x, activation)
    reverse = jax.jacrev(
        lambda v: gc.networks.forward_with_trace(params, v, activation)[1].post[-1]
    )(x)
    scale = float(jnp.max(jnp.abs(end_to_end)))
    assert prods.shape == (12, 16, 8)
    assert float(jnp.max(jnp.abs(prods[-1] - end_to_end))) <= 1e-5 * scale
    assert float(jnp.max(jnp.abs(prods[-1] - reverse))) <= 1e-5 * scale
    # Every intermediate product is the Jacobian of h_l (relative to its own scale).
    h4 = jax.jacfwd(
        lambda v: gc.networks.forward_with_trace(params, v, activation)[1].post[3]
    )(x)
    assert float(jnp.max(jnp.abs(prods[3] - h4))) <= 1e-5 * float(jnp.max(jnp.abs(h4)))


def test_backprop_signals_equal_grad_wrt_activations(net):
    params, x = net
    label = 1

    def loss(taps):
        out, _ = gc.networks.forward_with_trace(params, x, "tanh", taps=taps)
        return -jax.nn.log_softmax(out)[label]

    expected = jax.grad(loss)(jnp.zeros((params.depth, params.width)))
    out = gc.networks.forward(params, x, "tanh")
    g_top = params.readout.w.T @ (jax.nn.softmax(out) - jax.nn.one_hot(label, 3))
    got = J.backprop_signals(J.layer_jacobians(params, x, "tanh"), g_top)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("activation", ["tanh", jax.nn.relu])
def test_jacobian_spectra_equal_svd_of_end_to_end(net, activation):
    params, x = net
    xs = jnp.stack([x, -x])
    spec = S.jacobian_spectra(params, xs, activation, layers=(3, 12))
    assert spec.shape == (2, 2, 8)
    for i in range(2):
        for j, layer in enumerate((3, 12)):
            jac = jax.jacfwd(
                lambda v, n=layer: gc.networks.forward_with_trace(
                    params, v, activation
                )[1].post[n - 1]
            )(xs[i])
            s = np.linalg.svd(np.asarray(jac), compute_uv=False)
            np.testing.assert_allclose(spec[i, j], s, rtol=1e-4, atol=1e-6 * s[0])


@pytest.mark.parametrize("weights", gc.jacobians.WEIGHTS)
def test_spectra_seeds_equal_jacobian_spectra_per_seed(key, weights):
    # The seeds are mapped with jax.vmap; each must be the network init_mean_field draws
    # from its key, with the spectra of jacobian_spectra (float32 SVDs: rtol 1e-4).
    kx, kseeds = jax.random.split(key)
    keys = jax.random.split(kseeds, 3)
    xs = jax.random.normal(kx, (2, 16))
    got = S.spectra_seeds(keys, xs, width=16, depth=6, activation="tanh",
                          sigma_w2=1.3, sigma_b2=0.02, weights=weights,
                          layers=(2, 6))  # fmt: skip
    assert got.shape == (3, 2, 2, 16)
    for i, k in enumerate(keys):
        params = J.init_mean_field(k, 16, 16, 6, 1, sigma_w2=1.3, sigma_b2=0.02,
                                   weights=weights)  # fmt: skip
        want = S.jacobian_spectra(params, xs, "tanh", layers=(2, 6))
        np.testing.assert_allclose(got[i], want, rtol=1e-4, atol=1e-6)


def test_orthogonal_linear_chain_keeps_every_singular_value_at_one(key):
    mats = np.asarray(
        gc.randmat.random_chain(key, 32, 64, kind="orthogonal"), np.float64
    )
    prod = np.linalg.multi_dot(mats[::-1])  # W_64 ... W_1 (in NumPy: no compile)
    s = np.linalg.svd(prod, compute_uv=False)
    np.testing.assert_allclose(s, 1.0, atol=1e-4)
    # The same through a network: linear units, orthogonal weights, sigma_w^2 = 1.
    params = J.init_mean_field(key, 32, 32, 64, 2, sigma_w2=1.0, weights="orthogonal")
    xs = jax.random.normal(key, (2, 32))
    spec = S.jacobian_spectra(params, xs, _identity, layers=(1, 64))
    np.testing.assert_allclose(spec, 1.0, atol=1e-4)


def test_gaussian_chain_is_not_isometric(key):
    # Same mean squared singular value (1), but the smallest collapses: no isometry.
    mats = np.asarray(gc.randmat.random_chain(key, 32, 16, kind="gaussian"), np.float64)
    s = np.linalg.svd(np.linalg.multi_dot(mats[::-1]), compute_uv=False)
    assert s[0] / s[-1] > 1e3


def test_random_chain_moments(key):
    k1, k2 = jax.random.split(key)
    n, depth = 64, 200
    w = gc.randmat.random_chain(k1, n, depth, kind="gaussian", sigma=2.0)
    # Var(W_ij) = sigma^2 / n: 819,200 entries, relative standard error ~0.16%.
    assert float(jnp.var(w) * n) == pytest.approx(4.0, rel=0.01)
    q = gc.randmat.random_chain(k2, n, depth, kind="orthogonal")
    np.testing.assert_allclose(q @ jnp.swapaxes(q, 1, 2), np.broadcast_to(np.eye(n), q.shape),
                               atol=1e-5)  # fmt: skip
    # Haar (sign-fixed QR): entries have mean 0 and variance 1/n; without the sign fix
    # the diagonal would be biased positive.
    assert abs(float(jnp.mean(jnp.diagonal(q, axis1=1, axis2=2)))) < 4 / np.sqrt(
        n * depth * n
    )
    assert float(jnp.mean(q**2) * n) == pytest.approx(1.0, rel=1e-5)


def test_chain_log_norms_equal_direct_product(key):
    mats = gc.randmat.random_chain(key, 8, 10, kind="gaussian", sigma=1.3)
    u = jnp.arange(1.0, 9.0)
    logs = gc.randmat.chain_log_norms(mats, u)
    v = u
    for i in range(10):
        v = mats[i] @ v
        assert float(logs[i]) == pytest.approx(
            float(jnp.log(jnp.linalg.norm(v))), abs=1e-5
        )


def test_chain_log_norms_match_closed_form_growth(key):
    # The log-norm after L Gaussian layers has mean L*mu and variance L*s2 exactly.
    n, depth, seeds, sigma = 16, 50, 400, 1.2
    keys = jax.random.split(key, seeds)
    u = jnp.ones(n) / jnp.sqrt(n)
    logs = jax.jit(jax.vmap(lambda k: gc.randmat.chain_log_norms(
        gc.randmat.random_chain(k, n, depth, sigma=sigma), u)))(keys)[:, -1]  # fmt: skip
    mu, s2 = gc.randmat.gaussian_log_growth(n, sigma)
    sd = np.sqrt(depth * s2)
    # 4 standard errors for the mean, ~25% for a variance from 400 samples.
    assert abs(float(jnp.mean(logs)) - depth * mu) < 4 * sd / np.sqrt(seeds)
    assert float(jnp.var(logs)) == pytest.approx(depth * s2, rel=0.25)
    # Large-n expansion: mu ~ log(sigma) - 1/(2n), s2 ~ 1/(2n).
    mu_big, s2_big = gc.randmat.gaussian_log_growth(1000, 1.0)
    assert mu_big == pytest.approx(-1 / 2000, rel=0.01)
    assert s2_big == pytest.approx(1 / 2000, rel=0.01)


def test_nonnormal_matrix_grows_before_it_decays():
    a = jnp.array([[0.5, 4.0], [0.0, 0.5]])
    norms = np.asarray(gc.randmat.power_norms(a, 40))
    rho = float(gc.randmat.spectral_radius(a))
    assert rho == pytest.approx(0.5, abs=1e-6)  # every eigenvalue below 1
    assert norms[1] > 4.0 and norms.max() > 1.0  # yet the norm first grows
    assert norms[-1] < 1e-9 and np.all(np.diff(norms[3:]) < 0)  # and eventually decays
    # Closed form: A^k = [[l^k, 4 k l^(k-1)], [0, l^k]].
    for k in (1, 5, 20):
        ak = np.array([[0.5**k, 4 * k * 0.5 ** (k - 1)], [0, 0.5**k]])
        assert norms[k] == pytest.approx(np.linalg.norm(ak, 2), rel=1e-5)
    # rho^k <= ||A^k|| <= ||A||^k.
    ks = np.arange(41)
    assert np.all(norms >= 0.5**ks * (1 - 1e-5))
    assert np.all(norms <= norms[1] ** ks * (1 + 1e-5))


def test_normal_matrix_power_norms_equal_radius_powers():
    a = jnp.array([[0.9, 0.0], [0.0, -0.3]])
    np.testing.assert_allclose(
        gc.randmat.power_norms(a, 10), 0.9 ** np.arange(11), rtol=1e-5
    )


def test_init_mean_field_scales(key):
    init = J.init_mean_field  # jitted inside: one compile per size and ensemble
    p = init(key, 256, 256, 3, 2, sigma_w2=2.0, sigma_b2=0.5)
    assert float(jnp.var(p.hidden.w) * 256) == pytest.approx(2.0, rel=0.02)
    assert float(jnp.var(p.hidden.b)) == pytest.approx(0.5, rel=0.2)
    o = init(key, 16, 16, 3, 2, sigma_w2=2.0, weights="orthogonal")
    s = np.linalg.svd(np.asarray(o.hidden.w), compute_uv=False)
    np.testing.assert_allclose(s, np.sqrt(2.0), rtol=1e-5)


def test_validation(net, key):
    params, x = net
    with pytest.raises(ValueError, match="weights must be one of"):
        J.init_mean_field(key, 2, 3, 2, 2, sigma_w2=1.0, weights="uniform")
    with pytest.raises(ValueError, match="sigma_w2 must be a finite number >= 0"):
        J.init_mean_field(key, 2, 3, 2, 2, sigma_w2=-1.0)
    with pytest.raises(ValueError, match="sigma_b2 must be a finite number >= 0"):
        J.init_mean_field(key, 2, 3, 2, 2, sigma_w2=1.0, sigma_b2=float("nan"))
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        J.layer_jacobians(params, x[None])
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        J.input_output_jacobian(params, x[None])
    jacs = J.layer_jacobians(params, x)
    with pytest.raises(ValueError, match="jacs.hidden must have shape"):
        J.jacobian_products(J.LayerJacobians(jacs.first, jacs.hidden[:, :4]))
    with pytest.raises(ValueError, match="grad_top must have shape"):
        J.backprop_signals(jacs, jnp.ones(3))
    with pytest.raises(ValueError, match="xs must have 2 dimensions"):
        S.jacobian_spectra(params, x)
    with pytest.raises(ValueError, match="layers must be integers in"):
        S.jacobian_spectra(params, x[None], layers=(0,))
    with pytest.raises(ValueError, match="layers must be integers in"):
        S.spectra_seeds(
            jax.random.split(key, 2), x[None], width=4, depth=3, layers=(4,)
        )
    with pytest.raises(ValueError, match="depth must be an integer >= 2"):
        S.gradient_gains(
            key, x[None], jnp.zeros(1, int), width=4, depth=1, sigma_w2=1.0
        )
    with pytest.raises(ValueError, match="ys must have the batch size"):
        S.gradient_gains(
            key, x[None], jnp.zeros(2, int), width=4, depth=3, sigma_w2=1.0
        )
    with pytest.raises(ValueError, match="kind must be one of"):
        gc.randmat.random_chain(key, 3, 2, kind="cauchy")
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        gc.randmat.random_chain(key, 0, 2)
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        gc.randmat.gaussian_log_growth(4, 0.0)
    with pytest.raises(ValueError, match="mats must be"):
        gc.randmat.chain_log_norms(jnp.ones((2, 3, 3)), jnp.ones(4))
    with pytest.raises(ValueError, match="a must be a finite square matrix"):
        gc.randmat.power_norms(jnp.ones((2, 3)), 3)
    with pytest.raises(ValueError, match="k_max must be an integer >= 1"):
        gc.randmat.power_norms(jnp.eye(2), 0)
    with pytest.raises(ValueError, match="a must be a finite square matrix"):
        gc.randmat.spectral_radius(jnp.ones((2, 3)))
