"""Random-matrix products: log-space powers, Lyapunov spectra by repeated QR, theory."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

R = gc.randmat


def _identity(z):
    return z


def test_log_power_norms_follow_the_closed_form_far_beyond_float32(capfd):
    # A = [[l, c], [0, l]]: A^k = l^k I + k l^(k-1) N. With l = 2 the float32 power
    # overflows at k = 128; with l = 0.5 it underflows. The logs stay exact.
    for lam in (0.5, 2.0):
        a = jnp.array([[lam, 4.0], [0.0, lam]])
        logs = np.asarray(R.log_power_norms(a, 600), np.float64)
        assert np.all(np.isfinite(logs))
        for k in (1, 101, 102, 300, 600):
            ak = np.array([[1.0, 4 * k / lam], [0.0, 1.0]])  # A^k / lam^k
            want = k * math.log(lam) + math.log(np.linalg.norm(ak, 2))
            assert logs[k] == pytest.approx(want, rel=1e-5, abs=1e-4), (lam, k)
    assert "SLASCL" not in capfd.readouterr().out  # LAPACK stays quiet


def test_power_norms_are_float64_and_finite_to_1e300():
    norms = R.power_norms(jnp.array([[0.5, 4.0], [0.0, 0.5]]), 400)
    assert norms.dtype == np.float64 and np.all(norms > 0)
    assert norms[400] == pytest.approx(1600 * 2.0**-399, rel=1e-4)


def test_spectral_radius_is_float64_and_rejects_non_finite():
    assert R.spectral_radius(np.array([[0.5, 4.0], [0.0, 0.5]])) == 0.5
    assert R.spectral_radius(np.diag([1e200, -3e300])) == pytest.approx(3e300)
    with pytest.raises(ValueError, match="finite square"):
        R.spectral_radius(np.array([[np.inf, 0.0], [0.0, 1.0]]))


def test_lyapunov_spectrum_is_the_qr_diagonal_of_the_product(key):
    mats = R.random_chain(key, 6, 5, sigma=1.3)
    logs = np.asarray(R.lyapunov_spectrum(mats), np.float64)
    prod = np.eye(6)
    for layer, w in enumerate(np.asarray(mats, np.float64)):
        prod = w @ prod
        r = np.linalg.qr(prod)[1]
        np.testing.assert_allclose(logs[layer], np.log(np.abs(np.diag(r))), atol=1e-4)
        # and their sum is log |det|, the log-volume
        assert logs[layer].sum() == pytest.approx(np.linalg.slogdet(prod)[1], abs=1e-3)


def test_lyapunov_spectrum_matches_gaussian_theory(key):
    n, depth, seeds = 8, 400, 8
    logs = jax.vmap(lambda k: R.lyapunov_spectrum(R.random_chain(k, n, depth))[-1])(
        jax.random.split(key, seeds)
    )
    rate = np.asarray(logs, np.float64).mean(axis=0) / depth  # Gram-Schmidt order
    theory = R.gaussian_lyapunov(n)
    # per layer, the i-th log |R_ii| has variance psi'((n-i+1)/2)/4 <= 1.24; over
    # depth * seeds = 3200 draws the standard error is below 0.02
    np.testing.assert_allclose(rate, theory, atol=0.08)
    assert theory[0] == pytest.approx(R.gaussian_log_growth(n)[0], rel=1e-5)


def test_gaussian_lyapunov_digamma_values():
    # psi(1/2) = -gamma - 2 log 2, psi(1) = -gamma, psi(3/2) = psi(1/2) + 2
    euler = 0.5772156649015329
    lam = R.gaussian_lyapunov(3, sigma=2.0)
    half = math.log(1.5)
    np.testing.assert_allclose(
        lam,
        0.5
        * (
            2 * math.log(2.0)
            + np.array([-euler - 2 * math.log(2) + 2, -euler, -euler - 2 * math.log(2)])
            - half
        ),
        rtol=1e-12,
    )
    assert np.all(np.diff(R.gaussian_lyapunov(64)) < 0)


def test_log_spectra_seeds_agree_with_float64_svd_where_float64_resolves(key):
    k_x, k_net = jax.random.split(key)
    xs = jax.random.normal(k_x, (1, 16))
    linear = gc.jacobians.RandomMLP(16, 40, _identity)
    logs = gc.spectra.log_spectra_seeds(jax.random.split(k_net, 2), xs, linear)
    spec = gc.spectra.spectra_seeds(jax.random.split(k_net, 2), xs, linear)
    top = np.log(np.asarray(spec, np.float64)[..., :4])  # well above the float32 floor
    # long product: the QR logs estimate the log singular values to O(1) nats (measured
    # up to 1.7 here), against the spread of 20 nats over these four
    np.testing.assert_allclose(np.asarray(logs)[..., :4], top, atol=2.5)
    # the product of all singular values is |det|: the sums agree exactly
    params = jax.vmap(
        lambda k: gc.jacobians.init_mean_field(k, 16, 16, 40, 1, sigma_w2=1.0)
    )(jax.random.split(k_net, 2))
    for s in range(2):
        ws = [np.asarray(params.first.w[s], np.float64)]
        ws += list(np.asarray(params.hidden.w[s], np.float64))
        logdet = sum(np.linalg.slogdet(w)[1] for w in ws)
        assert float(np.asarray(logs)[s, 0, -1].sum()) == pytest.approx(
            logdet, abs=0.05
        )


def test_randmat_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mats"):
        R.lyapunov_spectrum(jnp.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="n"):
        R.gaussian_lyapunov(0)
    with pytest.raises(ValueError, match="k_max"):
        R.log_power_norms(jnp.eye(2), 0)
    with pytest.raises(ValueError, match="xs"):
        gc.spectra.log_spectra_seeds(
            jax.random.split(jax.random.key(0), 2),
            jnp.ones((1, 8)),
            gc.jacobians.RandomMLP(16, 2),
        )


# Moved from tests/test_jacobians.py with the chains (gc.jacobians re-exported them).
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


def test_random_chain_validation(key):
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
