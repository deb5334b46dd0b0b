"""Per-layer moments, the closed-form ELU-family map, and the ELU chapter's claims."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

M = gc.moments
SELU = gc.moments.selu_constants()


def test_layer_moments_hand_example():
    post = jnp.array([[[0.0, 2.0], [1.0, 1.0]], [[2.0, 4.0], [1.0, 1.0]]])
    m = M.layer_moments(post)
    np.testing.assert_allclose(m.mean, [2.0, 1.0])
    np.testing.assert_allclose(m.var, [2.0, 0.0])
    with pytest.raises(ValueError, match="post"):
        M.layer_moments(jnp.zeros((2, 2)))


@pytest.mark.parametrize(
    "name, alpha, scale",
    [("relu", 0.0, 1.0), ("elu", 1.0, 1.0), ("selu", SELU[0], SELU[1])],
)
@pytest.mark.parametrize("q", [0.3, 1.0, 4.0])
def test_elu_family_moments_match_monte_carlo(key, name, alpha, scale, q):
    z = math.sqrt(q) * jax.random.normal(key, (2_000_000,))
    h = gc.registry.get(name).fn(z)
    mean, second = M.elu_family_moments(q, alpha, scale)
    se = float(jnp.std(h)) / math.sqrt(z.size)
    assert abs(float(mean) - float(h.mean())) < 5 * se
    se2 = float(jnp.std(h**2)) / math.sqrt(z.size)
    assert abs(float(second) - float(jnp.mean(h**2))) < 5 * se2


@pytest.mark.parametrize("q", [0.5, 2.0, 9.0])
def test_elu_family_moments_relu_closed_form(q):
    mean, second = M.elu_family_moments(q, alpha=0.0)
    np.testing.assert_allclose(mean, math.sqrt(q / (2 * math.pi)), rtol=1e-6)
    np.testing.assert_allclose(second, q / 2, rtol=1e-6)


def test_elu_family_moments_selu_fixed_point_and_finite_tails():
    mean, second = M.elu_family_moments(1.0, *SELU)
    assert abs(float(mean)) < 1e-6
    assert abs(float(second) - 1.0) < 1e-6
    big = M.elu_family_moments(jnp.array([0.0, 400.0]), *SELU)
    assert np.all(np.isfinite(np.asarray(big)))


def test_elu_mean_is_below_relu_mean_for_every_variance():
    q = jnp.linspace(0.01, 20.0, 500)
    assert bool(
        jnp.all(M.elu_family_moments(q, 1.0)[0] < M.elu_family_moments(q, 0.0)[0])
    )


def test_elu_family_moments_validate_constants():
    with pytest.raises(ValueError, match="alpha"):
        M.elu_family_moments(1.0, alpha=-1.0)
    with pytest.raises(ValueError, match="scale"):
        M.elu_family_moments(1.0, scale=0.0)


@pytest.mark.parametrize("start", [(0.0, 0.25), (0.0, 4.0), (1.0, 1.0), (-1.0, 2.0)])
def test_moment_map_selu_converges_to_zero_mean_unit_variance(start):
    m = M.moment_map(*start, 40, constants=SELU)
    assert abs(float(m.mean[-1])) < 1e-3
    assert abs(float(m.var[-1]) - 1.0) < 1e-3


def test_moment_map_relu_lecun_halves_the_second_moment():
    m = M.moment_map(0.0, 1.0, 10, constants=(0.0, 1.0), gain=1.0)
    second = np.asarray(m.mean) ** 2 + np.asarray(m.var)
    np.testing.assert_allclose(second, 0.5 ** np.arange(1, 11), rtol=1e-5)


def test_moment_map_validates_arguments():
    with pytest.raises(ValueError, match="var0"):
        M.moment_map(0.0, -1.0, 3)
    with pytest.raises(ValueError, match="depth"):
        M.moment_map(0.0, 1.0, 0)
    with pytest.raises(ValueError, match="mean0"):
        M.moment_map(float("nan"), 1.0, 3)
    with pytest.raises(ValueError, match="constants"):
        M.moment_map(0.0, 1.0, 3, constants=1.0)
    with pytest.raises(ValueError, match="scale"):
        M.moment_map(0.0, 1.0, 3, constants=(1.0, 0.0))


def test_shifted_inputs_have_the_requested_moments(key):
    xs = M.shifted_inputs(key, 4000, 50, -1.5, 4.0)
    assert abs(float(xs.mean()) + 1.5) < 0.01
    assert abs(float(xs.var()) - 4.0) < 0.05
    with pytest.raises(ValueError, match="var"):
        M.shifted_inputs(key, 4, 2, 0.0, -1.0)


def test_propagate_relu_matches_the_mean_field_map(key):
    xs = M.shifted_inputs(key, 256, 64, 0.0, 1.0)
    got = M.propagate(jax.random.fold_in(key, 1), xs, width=256, depth=8, seeds=4,
                      activation="relu", gain=math.sqrt(2.0))  # fmt: skip
    want = M.moment_map(0.0, 1.0, 8, constants=(0.0, 1.0), gain=math.sqrt(2.0))
    np.testing.assert_allclose(np.asarray(got.mean).mean(0), want.mean, atol=0.05)
    np.testing.assert_allclose(np.asarray(got.var).mean(0), want.var, rtol=0.15)


def test_propagate_validates_arguments(key):
    with pytest.raises(ValueError, match="width"):
        M.propagate(key, jnp.ones((2, 3)), width=0, depth=2, seeds=1, activation="relu")
    with pytest.raises(ValueError, match="xs"):
        M.propagate(key, jnp.ones(3), width=2, depth=2, seeds=1, activation="relu")


def test_propagate_elu_mean_is_closer_to_zero_than_relu_for_every_seed():
    # The ELU chapter's bias-shift claim: every seed, every layer.
    split = gc.data.digits(jax.random.key(1))
    xs, k = split.x_test[:256], jax.random.key(2)
    means = {
        name: np.asarray(
            M.propagate(
                k,
                xs,
                width=128,
                depth=20,
                seeds=6,
                activation=name,
                gain=gc.registry.get(name).gain,
            ).mean
        )  # fmt: skip
        for name in ("relu", "elu")
    }
    assert np.all(np.abs(means["elu"]) < np.abs(means["relu"]))
    assert np.median(means["relu"]) > 0.4  # theory 1/sqrt(pi) = 0.56 for E[h^2] = 1


def test_propagate_selu_moments_converge_from_different_starts(key):
    # The ELU chapter's self-normalisation claim: seed-averaged moments of the last ten
    # of 30 layers within 0.1 (mean) and 0.15 (variance) of (0, 1), from four starts.
    starts = [(0.0, 0.25), (0.0, 4.0), (1.0, 1.0), (-1.0, 2.0)]
    for k_in, (m0, v0) in zip(jax.random.split(key, 4), starts, strict=True):
        xs = M.shifted_inputs(k_in, 128, 64, m0, v0)
        got = M.propagate(jax.random.fold_in(k_in, 1), xs, width=256, depth=30, seeds=4,
                          activation="selu", gain=1.0)  # fmt: skip
        mean = np.asarray(got.mean)[:, 20:].mean(0)
        var = np.asarray(got.var)[:, 20:].mean(0)
        assert np.all(np.abs(mean) < 0.1), (m0, v0, mean)
        assert np.all(np.abs(var - 1.0) < 0.15), (m0, v0, var)
        first = float(np.asarray(got.var)[:, 0].mean())
        if v0 + m0**2 > 2:  # started far away: the first layer was far from 1
            assert abs(first - 1.0) > 0.5


def test_selu_map_jacobian_contracts_mean_and_variance():
    # Klambauer et al. (2017), Theorem 1: spectral norm 0.7877 at omega = 0, tau = 1,
    # below one on the whole domain omega in [-0.1, 0.1], tau in [0.95, 1.1].
    jac = gc.moments.selu_map_jacobian()
    assert float(np.linalg.norm(jac, 2)) == pytest.approx(0.7877, abs=2e-3)
    assert abs(jac[0, 0]) < 1e-4  # omega = 0: the output mean ignores the input mean
    for omega in (-0.1, 0.1):
        for tau in (0.95, 1.1):
            jac = gc.moments.selu_map_jacobian(omega, tau)
            assert float(np.linalg.norm(jac, 2)) < 0.9
            assert jac[0, 0] == pytest.approx(omega * 0.99, abs=0.02)  # d mean / d mu
    with pytest.raises(ValueError, match="tau"):
        gc.moments.selu_map_jacobian(0.0, 0.0)


def test_selu_constants_equal_jax_nn_in_float64():
    alpha, scale = gc.moments.selu_constants()
    with jax.enable_x64(True):
        jax_scale = float(jax.nn.selu(jnp.float64(1.0)))
        jax_alpha = -float(jax.nn.selu(jnp.float64(-1e3))) / jax_scale
    assert scale == pytest.approx(jax_scale, rel=1e-14)
    assert alpha == pytest.approx(jax_alpha, rel=1e-14)
    # the stored constants are the published ones, digit for digit (as jax.nn's)
    assert gc.activations.SELU_ALPHA == 1.6732632423543772848170429916717 == jax_alpha
    assert gc.activations.SELU_SCALE == 1.0507009873554804934193349852946 == jax_scale
    assert alpha == pytest.approx(gc.activations.SELU_ALPHA, rel=1e-15, abs=0)


def test_selu_constants_give_zero_mean_unit_variance_under_standard_normal():
    # Independent of the closed form: a fine trapezoid rule on the float64 formula.
    alpha, scale = gc.moments.selu_constants()
    zz = np.linspace(-12, 12, 400001)
    dens = np.exp(-0.5 * zz**2) / np.sqrt(2 * np.pi)
    v = scale * np.where(zz > 0, zz, alpha * np.expm1(np.minimum(zz, 0.0)))
    assert float(np.trapezoid(v * dens, zz)) == pytest.approx(0.0, abs=1e-9)
    assert float(np.trapezoid(v**2 * dens, zz)) == pytest.approx(1.0, abs=1e-9)
