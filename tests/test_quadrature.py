"""Gauss rules: moments at every accepted order, and no bias across kinks (closed forms)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

Q = gc.quadrature
SQRT_2PI = math.sqrt(2 * math.pi)


def _phi_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _double_factorial(k):
    return math.prod(range(k - 1, 0, -2)) if k > 0 else 1


def test_gauss_hermite_moments_at_every_order():
    for order in range(2, Q.MAX_ORDER + 1):
        u, w = (np.asarray(a, np.float64) for a in Q.gauss_hermite(order))
        assert np.all(w > 0) and np.all(np.isfinite(u)), order
        assert np.all(np.diff(u) > 0), order
        np.testing.assert_allclose(u, -u[::-1], atol=1e-5 * max(1.0, u.max()))
        for k in range(0, min(2 * order - 1, 8) + 1, 2):
            moment = np.sum(w * u**k)
            assert moment == pytest.approx(_double_factorial(k), rel=2e-5), (order, k)
        assert abs(np.sum(w * u**3)) < 1e-4, order


def test_gauss_hermite_matches_numpy_where_numpy_works():
    for order in (2, 5, 20, 100):
        x, w = np.polynomial.hermite_e.hermegauss(order)
        w = w / w.sum()
        keep = w > np.finfo(np.float32).tiny
        u, v = Q.gauss_hermite(order)
        np.testing.assert_allclose(u, x[keep], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(v, w[keep], rtol=1e-5)


def test_gaussian_expectation_second_moment_at_high_orders():
    # hermegauss's weights overflow to zero from order 371 (the bug this module fixes)
    for order in (370, 371, 400, 512):
        assert float(Q.gaussian_expectation(lambda z: z**2, 1.0, order=order)) == (
            pytest.approx(1.0, rel=1e-5)
        )


def test_half_gauss_hermite_moments_at_every_order():
    # int_0^inf s^k phi(s) ds = 2^{k/2} Gamma((k+1)/2) / (2 sqrt(pi))
    for order in range(1, Q.MAX_ORDER // 2 + 1):
        s, v = (np.asarray(a, np.float64) for a in Q.half_gauss_hermite(order))
        assert np.all(s > 0) and np.all(v > 0), order
        for k in range(min(2 * order - 1, 6) + 1):
            exact = 2 ** (k / 2) * math.gamma((k + 1) / 2) / (2 * math.sqrt(math.pi))
            assert np.sum(v * s**k) == pytest.approx(exact, rel=2e-5), (order, k)


@pytest.mark.parametrize("order", [2, 3, 16, 128, 512])
def test_gaussian_expectation_exact_across_the_kink_at_zero(order):
    relu_mean = Q.gaussian_expectation(jax.nn.relu, 1.0, order=order)
    assert float(relu_mean) == pytest.approx(1 / SQRT_2PI, rel=1e-6)
    step = Q.gaussian_expectation(lambda z: (z > 0) * 1.0, 4.0, order=order)
    assert float(step) == pytest.approx(0.5, rel=1e-6)


def test_gaussian_expectation_exponential_tail_closed_forms():
    # E[e^{2z}; z <= 0] = e^2 Phi(-2) and E[e^z; z <= 0] = e^{1/2} Phi(-1)
    got = Q.gaussian_expectation(lambda z: jnp.where(z <= 0, jnp.exp(2 * z), 0.0), 1.0)
    assert float(got) == pytest.approx(math.e**2 * _phi_cdf(-2), rel=1e-6)
    got = Q.gaussian_expectation(lambda z: jnp.where(z <= 0, jnp.exp(z), 0.0), 1.0)
    assert float(got) == pytest.approx(math.exp(0.5) * _phi_cdf(-1), rel=1e-6)


def test_gaussian_rule_breakpoints_remove_the_bias_of_a_jump_away_from_zero():
    f = gc.gated.hard_swish_grad  # jumps at -3 and 3
    exact = 1 - _phi_cdf(3)  # z > 3: slope 1 (z < -3: slope 0)
    # (2z + 3)/6 squared on (-3, 3): E[(4z^2 + 12 z + 9) / 36; |z| < 3]
    mass = _phi_cdf(3) - _phi_cdf(-3)
    second = mass - 2 * 3 * math.exp(-4.5) / SQRT_2PI  # E[z^2; |z| < 3]
    exact += (4 * second + 9 * mass) / 36
    with_cuts = Q.gaussian_expectation(lambda z: f(z) ** 2, 1.0, breakpoints=(-3, 3))
    without = Q.gaussian_expectation(lambda z: f(z) ** 2, 1.0)
    assert float(with_cuts) == pytest.approx(exact, rel=1e-6)
    assert abs(float(without) - exact) > 1e-4  # the bias the break points remove


def test_gaussian_rule_weights_sum_to_one_and_handle_extreme_variances():
    z, w = Q.gaussian_rule(jnp.array([0.0, 1e-6, 1.0, 1e6, jnp.inf]), breakpoints=(6,))
    np.testing.assert_allclose(jnp.sum(w, axis=-1), 1.0, rtol=1e-6)
    assert not bool(jnp.any(jnp.isnan(z)))


def test_quadrature_rejects_bad_arguments():
    with pytest.raises(ValueError, match="order"):
        Q.gauss_hermite(1)
    with pytest.raises(ValueError, match="order"):
        Q.gauss_hermite(513)
    with pytest.raises(ValueError, match="order"):
        Q.half_gauss_hermite(257)
    with pytest.raises(ValueError, match="breakpoints"):
        Q.gaussian_rule(1.0, breakpoints=(np.inf,))
    with pytest.raises(ValueError, match="q"):
        Q.gaussian_expectation(jnp.tanh, -1.0)
