"""Tests of gradcourse.experiments.initialization, on other seeds than the chapter's."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc

E = gc.experiments.initialization


def test_layer_snapshot_delta_gives_the_weight_gradient(key):
    k_p, k_x, k_y = jax.random.split(key, 3)
    p = gc.networks.init_mlp(k_p, 6, 8, 4, 3)
    xs = jax.random.normal(k_x, (5, 6))
    ys = jax.random.randint(k_y, (5,), 0, 3)
    snap = E.layer_snapshot(p, xs, ys, "tanh")
    grads = jax.grad(gc.networks.loss)(p, xs, ys, "tanh")
    assert snap.post.shape == snap.delta.shape == (4, 5, 8)
    # dL/dW_1 = delta_1^T x and dL/dW_l = delta_l^T h_{l-1}
    np.testing.assert_allclose(snap.delta[0].T @ xs, grads.first.w, atol=1e-6)
    for i in range(1, 4):
        np.testing.assert_allclose(
            snap.delta[i].T @ snap.post[i - 1], grads.hidden.w[i - 1], atol=1e-6
        )
    np.testing.assert_allclose(
        snap.post, gc.networks.forward_batch(p, xs)[1].post.swapaxes(0, 1), atol=1e-6
    )


def test_layer_mean_squares_log_spread_matches_five_over_width(key):
    """Log of q_25/q_5 over 24 seeds: ReLU, sigma_w^2 = 2 (He), width 64: sd ~ sqrt(5*20/64)."""
    xs = jax.random.normal(key, (64, 32))
    q = np.asarray(
        E.layer_mean_squares(
            jax.random.split(jax.random.fold_in(key, 1), 24),
            xs,
            gc.initializers.he_normal(),
            "relu",
            width=64,
            depth=25,
        )
    )
    log_ratio = np.log(q[:, 24] / q[:, 4])
    theory = np.sqrt(5 * 20 / 64)
    assert 0.6 * theory < log_ratio.std(ddof=1) < 1.5 * theory
    assert abs(np.median(log_ratio)) < 1.5 * theory  # He keeps the mean: no drift


def test_layer_mean_squares_rejects_bad_input(key):
    with pytest.raises(ValueError, match="xs"):
        E.layer_mean_squares(
            jax.random.split(key, 2), jnp.ones(3), gc.initializers.he_normal()
        )
    with pytest.raises(ValueError, match="width"):
        E.layer_mean_squares(
            jax.random.split(key, 2),
            jnp.ones((2, 3)),
            gc.initializers.he_normal(),
            width=0,
        )


# --- the chapter's other experiments, on other seeds and smaller sizes ----------------------


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits(jax.random.key(21))


def test_init_stacks_orders_networks_by_initialiser(key):
    keys = jax.random.split(key, 2)
    inits = [gc.initializers.he_normal(), gc.initializers.zeros]
    stack = E.init_stacks(keys, inits, width=8, depth=3, in_dim=5, out_dim=2)
    assert stack.first.w.shape == (4, 8, 5)
    one = gc.networks.init_mlp(keys[1], 5, 8, 3, 2, w_init=inits[0])
    np.testing.assert_allclose(stack.hidden.w[1], one.hidden.w, rtol=1e-6)
    assert np.all(np.asarray(stack.first.w[2:]) == 0)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_variance_profiles_follow_the_mean_field_line(digits, activation):
    """Width 96, depth 30, 3 seeds, other keys: measured factors on the theory line."""
    xs, ys = np.asarray(digits.x_train)[:96], np.asarray(digits.y_train)[:96]
    inits = [gc.initializers.glorot_normal(), gc.initializers.he_normal()]
    params = E.init_stacks(
        jax.random.split(jax.random.key(77), 3), inits, width=96, depth=30
    )
    profiles = E.variance_profiles(params, xs, ys, [1.0, 2.0], activation)
    assert len(profiles) == 2 and profiles[0].q.shape == (3, 30)
    for prof in profiles:
        f = E.layer_factors(prof, forward=(5, 20), backward=(30, 15))
        assert abs(f.forward / f.forward_theory - 1) < 0.06
        assert abs(f.backward / f.backward_theory - 1) < 0.08
    if activation == "relu":  # Glorot halves, He keeps
        glorot = E.layer_factors(profiles[0], forward=(5, 20), backward=(30, 15))
        he = E.layer_factors(profiles[1], forward=(5, 20), backward=(30, 15))
        assert abs(glorot.forward_theory - 0.5) < 0.01
        assert abs(glorot.forward - 0.5) < 0.05 and abs(he.forward - 1) < 0.05


def test_per_layer_factor_of_a_geometric_sequence():
    values = 2.0 ** -np.arange(10)
    assert E.per_layer_factor(values, 2, 8) == pytest.approx(0.5)
    assert E.per_layer_factor(values, 8, 2) == pytest.approx(2.0)
    seeds = np.stack([values, 4 * values, values / 4])  # the median seed is `values`
    assert E.per_layer_factor(seeds, 2, 8) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="last"):
        E.per_layer_factor(values, 1, 11)
    with pytest.raises(ValueError, match="differ"):
        E.per_layer_factor(values, 3, 3)


def test_tanh_fixed_points_he_is_chaotic_not_saturated():
    fixed = E.tanh_fixed_points([1.5, 2.0, 3.0])
    assert np.all(np.diff(fixed.chi) > 0) and np.all(fixed.chi > 1)  # chaotic phase
    assert fixed.saturated[1] < 0.01  # He's variance: almost no saturated units
    assert np.all(np.diff(fixed.saturated) > 0)
    np.testing.assert_allclose(
        fixed.q_star, gc.meanfield.mean_field(jnp.array([1.5, 2.0, 3.0]), 0.0).q_star
    )


def test_histogram_summary_standard_collapses_he_does_not(digits):
    xs, ys = np.asarray(digits.x_train)[:64], np.asarray(digits.y_train)[:64]
    inits = [gc.initializers.standard_uniform(), gc.initializers.he_normal()]
    params = E.init_stacks(jax.random.key(3)[None], inits, width=64, depth=30)
    snaps = E.layer_snapshots(params, xs, ys, "tanh")
    assert snaps.post.shape == (2, 30, 64, 64)
    act_std, delta_median, sat = E.histogram_summary(snaps)
    assert act_std[0, -1] < 1e-3 * act_std[0, 0]
    assert act_std[1, -1] > 0.5 and sat[1] < 0.02
    assert delta_median[0, 0] < 1e-4 * delta_median[0, -1]
    assert delta_median[1, 0] > delta_median[1, -1]
    with pytest.raises(ValueError, match="from_layer"):
        E.histogram_summary(snaps, from_layer=31)


def test_train_stacks_he_learns_glorot_does_not_at_depth_30(digits):
    """He et al. (2015), Figure 3, at laptop scale, on other seeds (2 per scheme)."""
    inits = [gc.initializers.he_normal(), gc.initializers.glorot_normal()]
    start = E.init_stacks(
        jax.random.split(jax.random.key(41), 2), inits, width=32, depth=30
    )
    runs = E.train_stacks(
        jnp.concatenate([jax.random.split(jax.random.key(42), 2)] * 2),
        start,
        digits,
        model=gc.networks.mlp_model("relu"),
        optimizer=optax.sgd(0.002, momentum=0.9),
        steps=800,
    )
    assert runs.accuracy.shape == (4,)
    assert runs.accuracy[:2].min() > 0.5  # He
    assert runs.accuracy[2:].max() < 0.25  # Glorot: chance is 0.1


def test_train_stacks_constant_start_keeps_units_identical(digits):
    inits = [gc.initializers.constant(0.2), gc.initializers.lecun_normal()]
    start = E.init_stacks(jax.random.key(8)[None], inits, width=8, depth=2)
    runs = E.train_stacks(
        jnp.stack([jax.random.key(9)] * 2),
        start,
        digits,
        model=gc.networks.mlp_model("tanh"),
        optimizer=optax.sgd(0.1),
        steps=50,
        record=E.unit_spread,
    )
    spread = np.asarray(runs.history.records)
    assert spread[0].max() == 0 and spread[1].max() > 0.1


def test_product_spectra_gaussian_spreads_orthogonal_does_not(key):
    spectra = E.product_spectra(key, depth=12, n=16)
    assert spectra.gaussian.shape == spectra.orthogonal.shape == (16,)
    assert np.all(np.diff(spectra.gaussian) <= 0)  # largest first
    assert np.max(np.abs(spectra.orthogonal)) < 1e-4
    decades = spectra.gaussian[0] - spectra.gaussian[-1]
    assert abs(decades - (spectra.theory[0] - spectra.theory[-1])) < 5
    # a float64 SVD resolves a product this short; at finite depth the QR logs only
    # approximate the singular values, so the two agree to within a decade or two
    assert 5 < spectra.float64_decades and abs(spectra.float64_decades - decades) < 2


def test_initialization_experiments_reject_bad_input(key, digits):
    with pytest.raises(ValueError, match="inits"):
        E.init_stacks(jax.random.split(key, 2), [], width=4, depth=2)
    with pytest.raises(ValueError, match="depth"):
        E.init_stacks(
            jax.random.split(key, 2), [gc.initializers.he_normal()], width=4, depth=0
        )
    params = E.init_stacks(
        jax.random.split(key, 2), [gc.initializers.he_normal()], width=4, depth=3
    )
    xs, ys = np.asarray(digits.x_train)[:8], np.asarray(digits.y_train)[:8]
    with pytest.raises(ValueError, match="sigma_w2"):
        E.variance_profiles(params, xs, ys, [1.0, 2.0, 3.0], "relu")
    with pytest.raises(ValueError, match="n"):
        E.product_spectra(key, n=0)
