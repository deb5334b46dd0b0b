"""Mean-field variance map and chi: quadrature against closed forms, against a dense
numerical integral, and chi against gradient ratios measured in wide random networks."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

MF = gc.meanfield
RELU = (jax.nn.relu, lambda z: (z > 0).astype(jnp.float32))
LINEAR = (lambda z: z, jnp.ones_like)


def _dense_expectation(f, q):
    # Reference: trapezoid rule on a fine grid over +-12 standard deviations (float64).
    z = np.linspace(-12 * np.sqrt(q), 12 * np.sqrt(q), 200_001)
    return np.trapezoid(f(z) * np.exp(-(z**2) / (2 * q)) / np.sqrt(2 * np.pi * q), z)


def test_gauss_hermite_integrates_gaussian_moments():
    u, w = gc.quadrature.gauss_hermite(10)
    assert float(jnp.sum(w)) == pytest.approx(1.0, rel=1e-6)
    for k, moment in [(2, 1.0), (4, 3.0), (6, 15.0), (8, 105.0)]:
        assert float(jnp.sum(w * u**k)) == pytest.approx(moment, rel=1e-5)
    assert abs(float(jnp.sum(w * u**3))) < 1e-6


@pytest.mark.parametrize("q", [0.1, 1.0, 3.0])
def test_gaussian_expectation_closed_forms(q):
    assert float(
        gc.quadrature.gaussian_expectation(lambda z: z**2, q)
    ) == pytest.approx(q, rel=1e-5)
    relu_sq = gc.quadrature.gaussian_expectation(lambda z: jax.nn.relu(z) ** 2, q)
    assert float(relu_sq) == pytest.approx(q / 2, rel=1e-5)
    assert float(MF.chi(q, 3.0, RELU)) == pytest.approx(1.5, rel=1e-5)
    assert float(MF.chi(q, 0.7, LINEAR)) == pytest.approx(0.7, rel=1e-5)


@pytest.mark.parametrize("q", [0.05, 1.0, 4.0])
def test_gaussian_expectation_matches_dense_integral_for_tanh_and_sigmoid(q):
    def tanh_slope_sq(z):
        return 1 / np.cosh(z) ** 4

    def sigmoid_slope_sq(z):
        s = 1 / (1 + np.exp(-z))
        return (s * (1 - s)) ** 2

    for f_np, f_jnp in [
        (tanh_slope_sq, lambda z: gc.activations.tanh_grad(z) ** 2),
        (sigmoid_slope_sq, lambda z: gc.activations.sigmoid_grad(z) ** 2),
        (lambda z: np.tanh(z) ** 2, lambda z: jnp.tanh(z) ** 2),
    ]:
        got = float(gc.quadrature.gaussian_expectation(f_jnp, q))
        assert got == pytest.approx(_dense_expectation(f_np, q), rel=2e-4)


def test_variance_map_closed_forms():
    assert float(MF.variance_map(2.0, 1.5, 0.1, RELU)) == pytest.approx(1.6, rel=1e-5)
    assert float(MF.variance_map(2.0, 1.5, 0.1, LINEAR)) == pytest.approx(3.1, rel=1e-5)
    grid = MF.variance_map(1.0, jnp.array([[1.0], [2.0]]), jnp.array([0.0, 0.5]), RELU)
    np.testing.assert_allclose(grid, [[0.5, 1.0], [1.0, 1.5]], rtol=1e-5)


def test_fixed_point_is_a_fixed_point():
    sw2 = jnp.array([0.5, 1.2, 2.0, 4.0])
    q = MF.fixed_point(sw2, 0.05)
    np.testing.assert_allclose(MF.variance_map(q, sw2, 0.05), q, rtol=1e-5)
    # ReLU: q* = sigma_b^2 / (1 - sigma_w^2 / 2) for sigma_w^2 < 2.
    assert float(MF.fixed_point(1.0, 0.3, RELU)) == pytest.approx(0.6, rel=1e-4)
    # tanh without bias: q* = 0 in the ordered phase, > 0 past sigma_w^2 = 1.
    assert float(MF.fixed_point(0.8, 0.0)) < 1e-6
    assert float(MF.fixed_point(1.5, 0.0)) > 0.2


def test_variance_trajectory_matches_a_wide_network(key):
    # The mean squared pre-activation of a width-1024 tanh network follows the map
    # (finite-width fluctuations of q_l are O(sqrt(2 / n)) per layer and accumulate;
    # 6% of margin at width 512 was needed, 5% at 1024).
    kp, kx = jax.random.split(key)
    width, depth, sw2, sb2 = 1024, 8, 2.0, 0.1
    params = gc.jacobians.init_mean_field(kp, width, width, depth, 2, sigma_w2=sw2,
                                          sigma_b2=sb2)  # fmt: skip
    xs = jax.random.normal(kx, (4, width))
    _, trace = gc.networks.forward_batch(params, xs, "tanh")
    measured = jnp.mean(trace.pre**2, axis=(0, 2))
    q0 = float(jnp.mean(xs**2))
    theory = MF.variance_trajectory(q0, sw2, sb2, "tanh", depth=depth)
    np.testing.assert_allclose(measured, theory, rtol=0.05)


def test_critical_sigma_w2_is_where_chi_is_one():
    sb2 = jnp.array([0.0, 0.05, 0.3])
    sw2 = MF.critical_sigma_w2(sb2)
    assert float(sw2[0]) == pytest.approx(1.0, abs=1e-3)
    assert bool(jnp.all(jnp.diff(sw2) > 0))  # more bias noise needs larger weights
    np.testing.assert_allclose(MF.mean_field(sw2, sb2).chi, 1.0, atol=1e-3)
    assert float(MF.critical_sigma_w2(0.0, RELU)) == pytest.approx(2.0, abs=1e-3)
    # ReLU's chi = sigma_w^2 / 2 at any q, including the q* = 0 of sigma_b^2 = 0.
    assert float(MF.mean_field(1.0, 0.0, RELU).chi) == pytest.approx(0.5, rel=1e-5)
    # No crossing in the bracket -> nan.
    assert bool(jnp.isnan(MF.critical_sigma_w2(0.0, bracket=(0.0, 0.5))))


def test_mean_field_blocks_equal_a_single_traced_call():
    # Concrete inputs run in blocks of 64 (one compile for every shape); a traced call
    # runs as one program. Both must give the same numbers, across block boundaries, up
    # to float32 rounding (atol 1e-6 on q*: next to the double root q = 0 of tanh at
    # (1, 0) the iteration creeps, and two programs round differently).
    sw2 = jnp.linspace(0.3, 4.0, 150).reshape(3, 50)
    sb2 = jnp.array([[0.0], [0.05], [0.4]])
    blocked = MF.mean_field(sw2, sb2)
    traced = jax.jit(MF.mean_field)(sw2, sb2)
    assert blocked.chi.shape == (3, 50)
    np.testing.assert_allclose(blocked.q_star, traced.q_star, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(blocked.chi, traced.chi, rtol=1e-5)
    np.testing.assert_allclose(MF.fixed_point(sw2, sb2), traced.q_star, rtol=1e-5,
                               atol=1e-6)  # fmt: skip
    scalar = MF.mean_field(float(sw2[1, 7]), 0.05)
    assert scalar.chi.shape == ()
    assert float(scalar.chi) == pytest.approx(float(blocked.chi[1, 7]), rel=1e-5)
    sb2_line = jnp.linspace(0.0, 0.5, 70)
    np.testing.assert_allclose(MF.critical_sigma_w2(sb2_line),
                               jax.jit(MF.critical_sigma_w2)(sb2_line), rtol=1e-5)  # fmt: skip


def test_mean_field_depth_scale_sign():
    mf = MF.mean_field(jnp.array([0.5, 3.0]), 0.05)
    assert float(mf.depth_scale[0]) > 0 > float(mf.depth_scale[1])
    assert float(mf.depth_scale[0]) == pytest.approx(-1 / np.log(float(mf.chi[0])))


def test_chi_matches_measured_gradient_ratios_in_wide_tanh_networks(key):
    # Width 256, depth 20, 3 seeds, batch 8 of cross-entropy gradients. The squared
    # per-layer ratio ||dL/dH_l||^2 / ||dL/dH_{l+1}||^2, averaged (geometrically) over
    # layers 6..19 and seeds, is within 3% of chi on both sides of chi = 1 (observed
    # < 1% at width 256 with 4 seeds and depth 30).
    kx, kseeds = jax.random.split(key)
    xs = jax.random.normal(kx, (8, 256))
    ys = jnp.arange(8) % 4
    sw2 = jnp.array([0.8, 1.6, 3.0])
    sb2 = 0.05
    keys = jax.random.split(kseeds, 3)

    def gains(k, s):
        family = gc.jacobians.RandomMLP(256, 20, sigma_w2=s, sigma_b2=sb2)
        return gc.spectra.gradient_gains(k, xs, ys, family)

    ratios = jax.vmap(jax.vmap(gains, (0, None)), (None, 0))(keys, sw2)
    measured = jnp.exp(jnp.mean(2 * jnp.log(ratios[:, :, 5:]), axis=(1, 2)))
    theory = MF.mean_field(sw2, sb2).chi
    assert float(theory[0]) < 1 < float(theory[2])
    np.testing.assert_allclose(measured, theory, rtol=0.03)


def test_validation():
    with pytest.raises(ValueError, match="order must be an integer in"):
        gc.quadrature.gauss_hermite(1)
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        gc.quadrature.gauss_hermite(2.5)
    with pytest.raises(ValueError, match="f must be callable"):
        gc.quadrature.gaussian_expectation(3.0, 1.0)
    with pytest.raises(ValueError, match="q must be finite and >= 0"):
        gc.quadrature.gaussian_expectation(jnp.tanh, -1.0)
    with pytest.raises(ValueError, match="sigma_w2 must be finite and >= 0"):
        MF.variance_map(1.0, -1.0, 0.0)
    with pytest.raises(ValueError, match="sigma_b2 must be finite and >= 0"):
        MF.variance_map(1.0, 1.0, jnp.array([0.0, -0.1]))
    with pytest.raises(
        ValueError, match="activation must be a registry name or a pair"
    ):
        MF.variance_map(1.0, 1.0, 0.0, jnp.tanh)
    with pytest.raises(ValueError, match="activation must be one of"):
        MF.chi(1.0, 1.0, "swishy")
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        MF.variance_trajectory(1.0, 1.0, 0.0, depth=0)
    with pytest.raises(ValueError, match="q0 must be finite and >= 0"):
        MF.variance_trajectory(-1.0, 1.0, 0.0, depth=3)
    with pytest.raises(ValueError, match="q0 must be a finite number > 0"):
        MF.fixed_point(1.0, 0.0, q0=0.0)
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"):
        MF.mean_field(1.0, 0.0, iterations=0)
    with pytest.raises(
        ValueError, match=r"bracket\[1\] must be a finite number > bracket\[0\]"
    ):
        MF.critical_sigma_w2(0.0, bracket=(2.0, 1.0))
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        MF.critical_sigma_w2(0.0, steps=0)
    with pytest.raises(ValueError, match=r"bracket\[0\] must be a finite number >= 0"):
        MF.critical_sigma_w2(0.0, bracket=(-1.0, 20.0))
    with pytest.raises(ValueError, match="bracket must be a pair"):
        MF.critical_sigma_w2(0.0, bracket=20.0)


def test_chi_of_every_registered_activation_equals_a_dense_integral():
    # chi(q = 1) at the registry gain, as in the activation zoo's table, against a
    # 2e6-point trapezoid rule (float64 weights) and, where there is one, a closed form.
    z = np.linspace(-12.0, 12.0, 2_000_001)
    density = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    names = gc.registry.names()
    _, slopes = gc.registry.tabulate(jnp.asarray(z, jnp.float32), names)
    for name, slope in zip(names, np.asarray(slopes, np.float64), strict=True):
        g2 = gc.registry.get(name).gain ** 2
        dense = g2 * np.trapezoid(slope**2 * density, z)
        assert float(MF.chi(1.0, g2, name)) == pytest.approx(dense, abs=1e-4), name


def test_chi_closed_forms_for_selu_elu_and_relu():
    phi_m2 = 0.5 * math.erfc(math.sqrt(2.0))  # Phi(-2)
    alpha, lam = gc.activations.SELU_ALPHA, gc.activations.SELU_SCALE
    selu = lam**2 * (0.5 + alpha**2 * math.e**2 * phi_m2)
    assert selu == pytest.approx(1.0716, abs=1e-4)
    assert float(MF.chi(1.0, 1.0, "selu")) == pytest.approx(selu, abs=1e-5)
    g2 = gc.registry.get("elu").gain ** 2
    elu = g2 * (0.5 + math.e**2 * phi_m2)
    assert elu == pytest.approx(1.0359, abs=1e-4)
    assert float(MF.chi(1.0, g2, "elu")) == pytest.approx(elu, abs=1e-5)
    relu_mean = gc.quadrature.gaussian_expectation(gc.activations.relu, 1.0)
    assert float(relu_mean) == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-6)
