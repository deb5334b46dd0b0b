"""Correlation map: closed forms, fixed points, chi_c = chi, and a wide random network."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

C = gc.correlation
LINEAR = (lambda z: z, jnp.ones_like)


def test_relu_correlation_map_is_the_arccos_kernel():
    # Cho & Saul 2009: for ReLU at sigma_w^2 = 2, C(c) = (sqrt(1-c^2) + (pi - acos c) c) / pi
    c = np.array([-1.0, -0.5, 0.0, 0.3, 0.9, 0.999, 1.0])
    want = (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) / np.pi
    got = C.correlation_map(jnp.asarray(c), 2.0, 0.0, "relu")
    np.testing.assert_allclose(got, want, atol=2e-6)


def test_tanh_correlation_map_equals_a_dense_two_dimensional_integral():
    sw2, sb2 = 1.6, 0.05
    q = float(gc.meanfield.fixed_point(sw2, sb2))
    z = np.linspace(-10, 10, 2001)
    w = np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    for c in (-0.5, 0.4, 0.9):
        ua = np.sqrt(q) * z[:, None]
        ub = np.sqrt(q) * (c * z[:, None] + np.sqrt(1 - c * c) * z[None, :])
        dense = (sw2 * np.sum(w[:, None] * w * np.tanh(ua) * np.tanh(ub)) + sb2) / q
        assert float(C.correlation_map(c, sw2, sb2)) == pytest.approx(dense, abs=1e-5)


def test_linear_correlation_map_closed_form():
    c = jnp.array([0.0, 0.5, 0.99, 1.0])
    q = 0.05 / (1 - 0.5)  # q* = sb2 / (1 - sw2)
    got = C.correlation_map(c, 0.5, 0.05, LINEAR)
    np.testing.assert_allclose(got, (0.5 * q * c + 0.05) / q, rtol=1e-5)


@pytest.mark.parametrize("sigma_w2", [0.5, 1.2])
def test_ordered_phase_collapses_inputs_at_the_gradient_rate(sigma_w2):
    d = C.depth_scales(sigma_w2, 0.05, "tanh")
    assert float(d.chi) < 1
    assert float(d.c_star) == pytest.approx(
        1.0, abs=1e-4
    )  # every pair of inputs merges
    assert float(d.xi_c) == pytest.approx(-1 / np.log(float(d.chi)), rel=1e-3)
    # the slope of C at c = 1 is chi: a finite difference of the map
    eps = 1e-2
    slope = (1 - float(C.correlation_map(1 - eps, sigma_w2, 0.05))) / eps
    assert slope == pytest.approx(float(d.chi), rel=0.03)


def test_chaotic_phase_has_a_stable_fixed_point_below_one():
    d = C.depth_scales(4.0, 0.05, "tanh")
    assert float(d.chi) > 1 and float(d.c_star) < 0.9
    assert float(C.correlation_map(d.c_star, 4.0, 0.05)) == pytest.approx(
        float(d.c_star), abs=1e-4
    )
    assert float(d.xi_c) > 0  # C'(c*) < 1: c* attracts


def test_xi_c_peaks_at_the_order_to_chaos_boundary():
    sw2 = jnp.linspace(0.6, 3.0, 25)
    d = C.depth_scales(sw2, 0.05, "tanh")
    crit = float(gc.meanfield.critical_sigma_w2(0.05, "tanh"))
    peak = float(sw2[int(jnp.argmax(d.xi_c))])
    assert abs(peak - crit) <= 0.1 + 1e-6  # the grid step
    # xi_q stays finite at the boundary: the length converges fast everywhere
    assert float(jnp.max(d.xi_q)) < 0.2 * float(jnp.max(d.xi_c))


def test_xi_q_is_the_slope_of_the_variance_map():
    d = C.depth_scales(1.5, 0.05, "tanh")
    q, eps = float(d.q_star), 1e-3
    v = gc.meanfield.variance_map(jnp.array([q - eps, q + eps]), 1.5, 0.05)
    slope = float(v[1] - v[0]) / (2 * eps)
    assert float(d.xi_q) == pytest.approx(-1 / np.log(slope), rel=1e-2)


def _network_correlations(key, sigma_w2, sb2, width, depth, c0):
    q_star = float(gc.meanfield.fixed_point(sigma_w2, sb2))
    k_x, k_net = jax.random.split(key)
    # two inputs with correlation c0 and squared length such that q_1 = q*
    e = jax.random.normal(k_x, (2, width))
    e = e / jnp.linalg.norm(e, axis=1, keepdims=True) * np.sqrt(width)
    xb = c0 * e[0] + np.sqrt(1 - c0**2) * (e[1] - (e[1] @ e[0]) / width * e[0])
    xs = jnp.stack([e[0], xb]) * np.sqrt((q_star - sb2) / sigma_w2)
    net = gc.jacobians.init_mean_field(
        k_net, width, width, depth, 1, sigma_w2=sigma_w2, sigma_b2=sb2
    )
    pre = jax.vmap(lambda x: gc.networks.forward_with_trace(net, x, "tanh")[1].pre)(xs)
    norms = jnp.sum(pre[0] ** 2, 1) * jnp.sum(pre[1] ** 2, 1)
    return np.asarray(jnp.sum(pre[0] * pre[1], 1) / jnp.sqrt(norms))


@pytest.mark.parametrize("sigma_w2", [0.6, 1.6])
def test_correlation_trajectory_matches_wide_networks(key, sigma_w2):
    # Per network, the layer variances fluctuate by several per cent at width 1024, so
    # compare the theory with the mean over four networks. In the chaotic phase the
    # networks lag the wide-limit map by up to 0.07 (measured; the map itself agrees
    # with a dense 2-D integral to 1e-7), in the ordered phase by less than 0.02.
    width, depth, sb2 = 1024, 12, 0.05
    gaps = []
    for k in jax.random.split(key, 4):
        measured = _network_correlations(k, sigma_w2, sb2, width, depth, 0.3)
        theory = C.correlation_trajectory(
            float(measured[0]), sigma_w2, sb2, depth=depth - 1
        )
        gaps.append(measured[1:] - np.asarray(theory))
    tol = 0.03 if sigma_w2 < 1 else 0.09
    assert np.max(np.abs(np.mean(gaps, axis=0))) < tol


def test_correlation_rejects_bad_arguments():
    with pytest.raises(ValueError, match="c must be"):
        C.correlation_map(1.5, 1.0, 0.0)
    with pytest.raises(ValueError, match="sigma_w2"):
        C.depth_scales(-1.0, 0.0)
    with pytest.raises(ValueError, match="depth"):
        C.correlation_trajectory(0.5, 1.0, 0.0, depth=0)
