"""The quantitative claims of the Foundations chapters, checked without the notebooks.

Each test re-measures a claim made in ``book/why_deep_networks_stop_learning.ipynb``,
``book/sigmoid.ipynb`` or ``book/tanh.ipynb`` on networks drawn from keys *other* than the
chapters' own, so a claim that held only for the chapters' seeds would fail here. The
set-up is the chapters': 64 units, LeCun initialisation ``Var(W_ij) = sigma_w^2 / n``,
zero biases, one batch of 256 standardised digits, five seeds.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

WIDTH, DEPTH, SEEDS = 64, 20, 5


def scaled(sigma_w):
    return jax.nn.initializers.variance_scaling(
        sigma_w**2, "fan_in", "normal", in_axis=-1, out_axis=-2
    )


@pytest.fixture(scope="module")
def batch():
    split = gc.data.digits(jax.random.key(7))
    return split.x_train[:256], split.y_train[:256]


@pytest.fixture(scope="module")
def seed_keys():
    return jax.random.split(jax.random.key(123), SEEDS)


def factor_per_layer(keys, batch, activation, sigma_w=1.0, depth=DEPTH):
    """The chapters' factor per layer (``gc.experiments.sigmoid``), on these keys."""
    nets = gc.experiments.sigmoid.Networks(activation, sigma_w, depth, WIDTH)
    return gc.experiments.sigmoid.factor_per_layer(keys, *batch, nets)


# --- the functions themselves -------------------------------------------------------


def test_sigmoid_grad_peak_is_quarter_at_zero_and_cosh_form():
    x = jnp.linspace(-30.0, 30.0, 6001)
    d = gc.activations.sigmoid_grad(x)
    assert float(d.max()) == pytest.approx(0.25, abs=1e-7)
    assert float(jnp.abs(x[jnp.argmax(d)])) < 1e-5
    np.testing.assert_allclose(d, 1 / (4 * jnp.cosh(x / 2) ** 2), rtol=1e-4, atol=1e-30)
    assert bool(jnp.all(d[jnp.abs(x) > 0.01] < 0.25))  # float32 rounds 0.25 - x^2/16


def test_sigmoid_inverts_logit():
    p = jnp.linspace(0.01, 0.99, 99)
    np.testing.assert_allclose(
        gc.activations.sigmoid(jnp.log(p / (1 - p))), p, atol=1e-6
    )


def test_tanh_is_rescaled_sigmoid_with_slope_at_most_one():
    x = jnp.linspace(-10.0, 10.0, 2001)
    two_sig = 2 * gc.activations.sigmoid(2 * x) - 1
    np.testing.assert_allclose(gc.activations.tanh(x), two_sig, atol=1e-6)
    d = gc.activations.tanh_grad(x)
    np.testing.assert_allclose(d, 4 * gc.activations.sigmoid_grad(2 * x), rtol=1e-5)
    # 1 at x = 0, to float32 round-off (one ulp at 1 is 1.2e-7; XLA's flags move it).
    assert float(d.max()) == pytest.approx(1.0, abs=2.5e-7)
    assert bool(jnp.all(d[jnp.abs(x) > 0.01] < 1.0))


# --- the bound 0.25^L ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_derivative_product_obeys_quarter_to_the_L(seed):
    # For one example: the product of the diagonal derivative matrices has spectral
    # norm prod_l max_i sigma'(z_l,i) <= 0.25^L, and the end-to-end Jacobian
    # dh_L/dh_1 obeys ||J||_2 <= prod_l 0.25 * ||W_l||_2 (the gradient bound, which the
    # weights can make larger than 0.25^L).
    k_p, k_x = jax.random.split(jax.random.key(seed))
    depth, width, sigma_w = 8, 16, 4.0
    params = gc.networks.init_mlp(k_p, width, width, depth, 3, w_init=scaled(sigma_w))
    x = jax.random.normal(k_x, (width,))
    _, trace = gc.networks.forward_with_trace(params, x, "sigmoid")
    slopes = gc.activations.sigmoid_grad(trace.pre)  # (depth, width)
    diag_product = float(jnp.prod(slopes.max(axis=1)))
    assert diag_product <= 0.25**depth

    def top_from_first(h1):
        h = h1
        for w, b in zip(params.hidden.w, params.hidden.b, strict=True):
            h = gc.activations.sigmoid(w @ h + b)
        return h

    jac = jax.jacfwd(top_from_first)(trace.post[0])
    spectral = [float(jnp.linalg.norm(w, 2)) for w in params.hidden.w]
    gradient_bound = math.prod(0.25 * s for s in spectral)
    assert float(jnp.linalg.norm(jac, 2)) <= gradient_bound * (1 + 1e-5)
    # with sigma_w = 4 the weights make the gradient bound exceed 0.25^(L-1)
    assert gradient_bound > 0.25 ** (depth - 1)


# --- measured decay of a sigmoid network ----------------------------------------------


def test_sigmoid_decay_per_layer_in_stated_range(seed_keys, batch):
    # Claim (sigmoid chapter): with sigma_w = 1 the gradient shrinks by 0.23-0.24 per
    # layer, slightly steeper than 1/4. Justification: the factor is the RMS slope
    # (pre-activations of variance ~0.26 give RMS sigma' ~0.236) times the RMS singular
    # value of W (= sigma_w = 1); finite width moves it by less than 0.01.
    factor = factor_per_layer(seed_keys, batch, "sigmoid")
    assert np.all((factor > 0.22) & (factor < 0.25)), factor


def test_sigmoid_factor_is_rms_slope_times_rms_singular_value(seed_keys, batch):
    for sigma_w in [1.0, 4.0]:
        nets = gc.experiments.sigmoid.Networks(sigma_w=sigma_w)
        r = gc.experiments.sigmoid.gradient_factor(seed_keys, *batch, nets)
        np.testing.assert_allclose(
            r.factor, factor_per_layer(seed_keys, batch, "sigmoid", sigma_w)
        )
        # The RMS prediction ignores how delta aligns with W's singular directions; the
        # chapter reports gaps of a few per cent (largest ~6% at sigma_w = 8).
        np.testing.assert_allclose(r.factor, r.rms_slope * r.rms_sv, rtol=0.07)
        np.testing.assert_allclose(
            r.rms_sv, sigma_w, rtol=0.05
        )  # ||W||_F^2 / n ~ sigma_w^2


def test_large_weights_make_sigmoid_decay_shallower_than_quarter(seed_keys, batch):
    factor = factor_per_layer(seed_keys, batch, "sigmoid", sigma_w=4.0)
    assert np.all((factor > 0.5) & (factor < 1.0)), factor


def test_output_bound_does_not_matter_slope_does(seed_keys, batch):
    def four_sigmoid(x):
        return 4.0 * gc.activations.sigmoid(x)

    def sigmoid_of_4x(x):
        return gc.activations.sigmoid(4.0 * x)

    plain = factor_per_layer(seed_keys, batch, "sigmoid")
    big_output = factor_per_layer(seed_keys, batch, four_sigmoid)
    unit_output = factor_per_layer(seed_keys, batch, sigmoid_of_4x)
    np.testing.assert_allclose(big_output, unit_output, rtol=0.02)
    assert np.all(unit_output > 2 * plain)


def test_saturation_fraction_matches_gaussian_prediction(seed_keys, batch):
    xs, ys = batch
    nets = gc.experiments.sigmoid.Networks(depth=2, width=WIDTH)
    params = gc.experiments.sigmoid.init_seeds(seed_keys, 64, 10, nets)
    scales = [1.0, 3.0, 10.0, 30.0]
    measured, predicted = gc.experiments.sigmoid.input_saturation(
        params.first.w, xs, scales, threshold=0.01
    )
    assert measured.shape == (SEEDS, len(scales))
    np.testing.assert_allclose(measured.mean(axis=0), predicted, atol=0.03)
    assert np.all(np.diff(predicted) > 0)  # larger inputs saturate more units


def test_sigmoid_mean_adds_large_eigenvalue(seed_keys, batch):
    xs, _ = batch
    params = gc.networks.init_mlp(seed_keys[0], 64, WIDTH, 2, 10)
    mean, top, top_centred = gc.experiments.sigmoid.first_layer_moments(
        params.first.w, xs
    )
    assert top == pytest.approx(WIDTH * mean**2, rel=0.1)  # about n / 4
    assert top > 10 * top_centred


# --- vanishing against exploding ------------------------------------------------------


def test_sigmoid_vanishes_and_wide_tanh_explodes(seed_keys, batch):
    xs, ys = batch
    vanish = gc.probes.probe_seeds(
        seed_keys, xs, ys, width=WIDTH, depth=DEPTH, activation="sigmoid"
    )
    explode = gc.probes.probe_seeds(
        seed_keys,
        xs,
        ys,
        width=WIDTH,
        depth=DEPTH,
        activation="tanh",
        w_init=scaled(3.0),
    )
    assert np.all(np.asarray(gc.probes.layer_ratio(vanish.hidden)) < 1e-10)
    assert np.all(
        np.asarray(vanish.weights[:, 0] / vanish.weights[:, DEPTH - 1]) < 1e-9
    )
    assert np.all(np.asarray(gc.probes.layer_ratio(explode.hidden)) > 100)


def test_tanh_beats_sigmoid_at_depth_20_on_every_seed(seed_keys, batch):
    tanh = factor_per_layer(seed_keys, batch, "tanh") ** (DEPTH - 1)
    sigmoid = factor_per_layer(seed_keys, batch, "sigmoid") ** (DEPTH - 1)
    assert np.all(tanh > 0.1), tanh
    assert np.all(tanh > 1e9 * sigmoid)


def test_centring_alone_leaves_sigmoid_near_quarter(seed_keys, batch):
    # sigma(x) - 1/2 has the sigmoid's slope: its pre-activations stay small, so the RMS
    # slope is just under 1/4, and the RMS singular value (~1) moves the factor by ~2%
    # either way. Tanh, with four times the slope, must do far better.
    def centred_sigmoid(x):
        return gc.activations.sigmoid(x) - 0.5

    factor = factor_per_layer(seed_keys, batch, centred_sigmoid)
    assert np.all((factor > 0.23) & (factor < 0.27)), factor
    assert np.all(factor_per_layer(seed_keys, batch, "tanh") > 3 * factor)


def test_tanh_vanishes_below_and_explodes_above_unit_weight_scale(seed_keys, batch):
    assert np.all(factor_per_layer(seed_keys, batch, "tanh", 0.8) < 0.85)
    standard = factor_per_layer(seed_keys, batch, "tanh", 1.0)
    assert np.all((standard > 0.85) & (standard < 1.0)), standard
    assert np.all(factor_per_layer(seed_keys, batch, "tanh", 2.0) > 1.1)


def test_mean_activation_tanh_centred_sigmoid_half(seed_keys, batch):
    xs, _ = batch
    for act, lo, hi in [("tanh", -0.05, 0.05), ("sigmoid", 0.4, 0.6)]:
        nets = gc.experiments.sigmoid.Networks(act, depth=DEPTH, width=WIDTH)
        mean = gc.experiments.tanh.mean_activation(
            seed_keys, xs, nets
        )  # (seeds, layers)
        assert mean.shape == (SEEDS, DEPTH)
        assert np.all((mean > lo) & (mean < hi)), (act, mean)


# --- the optimiser is not a cause; the consequence -------------------------------------


# The optimiser section and the "first layers barely move" experiment call
# gc.experiments.why_deep_networks_stop_learning: tests/test_experiments_why.py checks
# them on other seeds (test_first_update_..., test_layer_movement_...).
