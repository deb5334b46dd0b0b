"""The Jacobian-products chapter's experiments, on other seeds and smaller sizes."""

import jax
import numpy as np
import pytest

import gradcourse as gc

EXP = gc.experiments.jacobian_products


@pytest.fixture(scope="module")
def small_net():
    k_net, k_x = jax.random.split(jax.random.key(41))
    net = gc.jacobians.init_mean_field(k_net, 5, 10, 8, 4, sigma_w2=2.0, sigma_b2=0.1)
    return net, jax.random.normal(k_x, (5,))


def test_product_of_layer_jacobians_is_the_end_to_end_jacobian(small_net):
    net, x = small_net
    for activation in ("tanh", "sigmoid"):
        assert EXP.product_error(net, x, activation) < 1e-5


def test_product_formula_equals_autodiff(small_net):
    net, x = small_net
    jacs = gc.jacobians.layer_jacobians(net, x, "tanh")
    for label in (0, 3):
        grads = EXP.product_formula_grads(net, x, jacs, label, "tanh")
        auto = EXP.autodiff_grads(net, x, label, "tanh")
        assert grads.shape == auto.shape == (7, 10, 10)
        assert np.max(np.abs(grads - auto)) < 1e-5 * np.max(np.abs(auto))


def test_scalar_chains_vanish_sigmoid_faster_than_tanh():
    chains = EXP.scalar_chains(jax.random.key(42), seeds=40, depth=25)
    assert chains["sigmoid"].shape == (40, 25)
    slope = {a: np.median(v[:, -1]) / 25 for a, v in chains.items()}
    # sigmoid: E log10|w sigma'| <= log10(1/4) + E log10|w| ~ -0.88 per layer
    assert slope["sigmoid"] < -0.7
    assert slope["sigmoid"] < slope["tanh"] < 0


def test_random_chains_follow_the_lyapunov_drift():
    n, depth = 16, 120
    logs, orth = EXP.random_chains(jax.random.key(43), n, depth, 48)
    mu, s2 = gc.randmat.gaussian_log_growth(n, 1.0)
    assert logs.shape == orth.shape == (48, depth)
    slope = np.polyfit(np.arange(1, depth + 1), logs.mean(axis=0), 1)[0]
    assert slope == pytest.approx(mu, abs=4 * np.sqrt(s2 / (48 * depth)))
    assert logs[:, -1].std() == pytest.approx(np.sqrt(depth * s2), rel=0.3)
    assert np.max(np.abs(orth)) < 1e-4  # orthogonal: the norm never changes


def test_depth_spectra_orthogonal_linear_is_isometric_gaussian_spreads():
    settings = EXP.spectra_settings()
    assert settings["tanh"].sigma_w2 == pytest.approx(
        float(gc.meanfield.critical_sigma_w2(1e-4))
    )
    chosen = {k: settings[k] for k in ("linear", "relu")}
    k_in, k_seed = jax.random.split(jax.random.key(44))
    spectra = EXP.depth_spectra(
        k_in, jax.random.split(k_seed, 2), chosen, width=16, depth=24, layers=(8, 24)
    )
    assert spectra["linear", "gaussian"].shape == (2, 2, 2, 16)
    assert EXP.log_spread(spectra["linear", "orthogonal"][:, :, -1]) < 0.05
    spread = [EXP.log_spread(spectra["linear", "gaussian"][:, :, i]) for i in (0, 1)]
    assert spread[1] > spread[0] > 0.5  # the Gaussian spectrum widens with depth
    assert np.mean(spectra["relu", "orthogonal"][:, :, -1] < -4 * 24) > 0.3


def test_measured_chi_agrees_with_mean_field():
    sw2 = np.array([1.0, 2.0], np.float32)
    k_data, k_nets = jax.random.split(jax.random.key(45))
    xs, ys = jax.random.normal(k_data, (8, 128)), np.arange(8) % 4
    keys = jax.random.split(k_nets, 2)
    measured = EXP.measured_chi(keys, xs, ys, sw2, sigma_b2=0.05, width=128, depth=16)
    chi = np.asarray(gc.meanfield.mean_field(sw2, 0.05, "tanh").chi)
    assert measured.shape == (2, 2)
    assert np.max(np.abs(measured / chi[:, None] - 1)) < 0.15


def test_pair_correlations_merge_when_ordered_and_stay_apart_when_chaotic():
    pair = EXP.correlated_pair(jax.random.key(46), 256, 0.5)
    np.testing.assert_allclose(np.linalg.norm(pair, axis=1), np.sqrt(256))
    assert pair[0] @ pair[1] / 256 == pytest.approx(0.5, abs=1e-12)  # the cosine
    keys = jax.random.split(jax.random.key(47), 2)
    ordered = EXP.pair_correlations(keys, pair, sigma_w2=0.8, sigma_b2=0.05, depth=25)
    chaotic = EXP.pair_correlations(keys, pair, sigma_w2=2.5, sigma_b2=0.05, depth=25)
    assert ordered.shape == (2, 25)
    assert np.all(ordered[:, -1] > 0.98) and np.all(chaotic[:, -1] < 0.85)


def test_jacobian_products_experiments_reject_bad_arguments(small_net):
    net, x = small_net
    jacs = gc.jacobians.layer_jacobians(net, x, "tanh")
    with pytest.raises(ValueError, match="label"):
        EXP.product_formula_grads(net, x, jacs, 4, "tanh")
    with pytest.raises(ValueError, match="label"):
        EXP.autodiff_grads(net, x, -1, "tanh")
    with pytest.raises(ValueError, match="seeds"):
        EXP.scalar_chains(jax.random.key(0), seeds=0)
    with pytest.raises(ValueError, match="n_chains"):
        EXP.random_chains(jax.random.key(0), 4, 10, 0)
    with pytest.raises(ValueError, match="sigma_b2_tanh"):
        EXP.spectra_settings(0.0)
    with pytest.raises(ValueError, match="c must"):
        EXP.correlated_pair(jax.random.key(0), 8, 1.5)
    with pytest.raises(ValueError, match="pair"):
        EXP.pair_correlations(jax.random.split(jax.random.key(0), 2), np.ones((3, 8)),
                              sigma_w2=1.0, sigma_b2=0.0)  # fmt: skip
    with pytest.raises(ValueError, match="skip"):
        EXP.measured_chi(jax.random.split(jax.random.key(0), 1), np.ones((2, 4)),
                         np.arange(2), [1.0], sigma_b2=0.0, depth=4, skip=3)  # fmt: skip
