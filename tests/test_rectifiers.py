"""Dead units, born-dead networks, the slope sweep and PReLU training (gradcourse.rectifiers).

The statistical tests assert the claims of the ReLU and leaky-ReLU chapters with
tolerances of several binomial standard errors (or a per-seed comparison), so they fail
if the effect is absent, not because of one unlucky seed.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

R = gc.rectifiers


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits(jax.random.key(7))


def test_activity_counts_dead_sparse_and_layer_dead_units():
    # 3 inputs, 2 layers, 3 units; layer 2 is off for every input.
    pre = jnp.array(
        [
            [[1.0, -1.0, -2.0], [-1.0, -1.0, 0.0]],
            [[-1.0, -1.0, 2.0], [-3.0, 0.0, -1.0]],
            [[2.0, -0.5, -1.0], [-1.0, -2.0, -1.0]],
        ]
    )
    a = R.activity(pre, jnp.maximum(pre, 0.0))
    np.testing.assert_allclose(a.dead, [1 / 3, 1.0])
    np.testing.assert_allclose(a.sparsity, [6 / 9, 1.0])
    assert a.layer_dead.tolist() == [False, True]


def test_activity_cosine_is_one_for_identical_inputs():
    pre = jnp.tile(jnp.array([[[1.0, -2.0, 3.0]]]), (4, 1, 1))
    a = R.activity(pre, jnp.maximum(pre, 0.0))
    np.testing.assert_allclose(a.cosine, [1.0], rtol=1e-6)


def test_activity_mask_ignores_padded_units():
    pre = jnp.array([[[1.0, -1.0, 0.0, 0.0]], [[2.0, -3.0, 0.0, 0.0]]])
    a = R.activity(pre, jnp.maximum(pre, 0.0), mask=jnp.array([1, 1, 0, 0], bool))
    np.testing.assert_allclose(a.dead, [0.5])
    np.testing.assert_allclose(a.sparsity, [0.5])


def test_activity_rejects_bad_shapes():
    with pytest.raises(ValueError, match="pre"):
        R.activity(jnp.zeros((2, 3)), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="post"):
        R.activity(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3, 5)))


def test_masked_network_equals_a_narrow_network(key):
    # A width-3 network simulated inside width-5 arrays = the width-3 network itself.
    xs = jax.random.normal(key, (16, 4))
    raw = jax.random.normal(jax.random.fold_in(key, 1), (6, 5, 6))
    masked = R._masked_mlp(raw, 4, jnp.asarray(3), math.sqrt(2.0), 0.0)
    narrow = gc.networks.MLP(
        first=gc.networks.Dense(masked.first.w[:3], masked.first.b[:3]),
        hidden=gc.networks.Dense(masked.hidden.w[:, :3, :3], masked.hidden.b[:, :3]),
        readout=gc.networks.Dense(jnp.zeros((1, 3)), jnp.zeros(1)),
    )
    # He scale for the narrow width: Var(w) = 2 / 3 from unit normals.
    np.testing.assert_allclose(
        narrow.hidden.w, raw[1:, :3, :3] * math.sqrt(2.0 / 3.0), rtol=1e-6
    )
    _, t_m = gc.networks.forward_batch(masked, xs, "relu")
    _, t_n = gc.networks.forward_batch(narrow, xs, "relu")
    a_m = R.activity(t_m.pre, t_m.post, jnp.arange(5) < 3)
    a_n = R.activity(t_n.pre, t_n.post)
    for got, want in zip(a_m, a_n, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_init_activity_shapes_and_first_layer_sparsity_is_half(key):
    xs = jax.random.normal(key, (64, 8))
    a = R.init_activity(key, xs, widths=(4, 16), depth=6, seeds=20)
    assert a.dead.shape == a.sparsity.shape == a.layer_dead.shape == (2, 20, 6)
    # A symmetric pre-activation is negative half of the time.
    assert abs(float(a.sparsity[:, :, 0].mean()) - 0.5) < 0.05


def test_init_activity_validates_arguments(key):
    xs = jnp.ones((3, 2))
    with pytest.raises(ValueError, match="widths"):
        R.init_activity(key, xs, widths=(0, 4), depth=3, seeds=2)
    with pytest.raises(ValueError, match="bias_std"):
        R.init_activity(key, xs, widths=(4,), depth=3, seeds=2, bias_std=-1.0)
    with pytest.raises(ValueError, match="xs"):
        R.init_activity(key, jnp.ones(3), widths=(4,), depth=3, seeds=2)


def test_born_dead_probability_hand_example():
    flags = jnp.array(
        [[False, True, False], [False, False, True], [False, False, False]]
    )
    np.testing.assert_allclose(R.born_dead_probability(flags), [0.0, 1 / 3, 2 / 3])
    with pytest.raises(ValueError, match="layer_dead"):
        R.born_dead_probability(jnp.array([True, False]))


def test_single_input_dead_probability_formula():
    got = R.single_input_dead_probability(3, 4)
    np.testing.assert_allclose(got, 1 - (7 / 8) ** np.arange(1, 5), rtol=1e-6)
    with pytest.raises(ValueError, match="width"):
        R.single_input_dead_probability(0, 4)


def test_born_dead_on_one_input_matches_exact_formula(key):
    seeds, depth = 3000, 20
    a = R.init_activity(
        key, jnp.ones((1, 3)), widths=(2, 3, 4), depth=depth, seeds=seeds
    )
    p = np.asarray(R.born_dead_probability(a.layer_dead))
    for i, w in enumerate((2, 3, 4)):
        exact = np.asarray(R.single_input_dead_probability(w, depth))
        se = np.sqrt(exact * (1 - exact) / seeds) + 1e-3
        assert np.all(np.abs(p[i] - exact) < 4 * se), (w, p[i], exact)


def test_born_dead_probability_grows_with_depth_and_falls_with_width(key):
    # The ReLU chapter's claims, on the exact input pair {-1, +1}.
    seeds, depth, widths = 2000, 50, (2, 4, 8)
    a = R.init_activity(key, jnp.array([[-1.0], [1.0]]), widths=widths, depth=depth,
                        seeds=seeds)  # fmt: skip
    p = np.asarray(R.born_dead_probability(a.layer_dead))
    se = np.sqrt(0.25 / seeds)
    assert np.all(p[:, 0] == 0.0)  # every first-layer unit fires for x = 1 or x = -1
    for i in range(len(widths)):
        assert p[i, 49] > p[i, 9] + 4 * se  # deeper is more often dead
        bound = np.asarray(R.single_input_dead_probability(widths[i], depth))
        assert np.all(
            p[i] <= bound + 4 * se
        )  # dying on two inputs is harder than on one
    for d in (9, 19, 49):
        assert (
            p[0, d] > p[1, d] + 4 * se > p[2, d] + 8 * se
        )  # narrower is more often dead
    assert p[0, 49] > 0.95 and p[2, 49] < 0.3


def test_dead_after_step_grows_with_learning_rate(digits):
    before, after = R.dead_after_step(
        jax.random.key(3), digits.x_train[:256], digits.y_train[:256], digits.x_test,
        learning_rates=jnp.array([0.01, 10.0]), width=32, depth=6, seeds=5,
    )  # fmt: skip
    np.testing.assert_array_equal(before[0], before[1])  # same networks for every rate
    small, large = np.asarray(after).mean(-1)
    assert np.all(np.abs(small - np.asarray(before[0]).mean(-1)) < 0.03)
    assert np.all(large > np.asarray(before[0]).mean(-1) + 0.15)


def test_dead_after_step_validates_rates(digits):
    with pytest.raises(ValueError, match="learning_rates"):
        R.dead_after_step(jax.random.key(0), digits.x_train[:8], digits.y_train[:8],
                          digits.x_test[:8], learning_rates=jnp.array([0.1, -1.0]),
                          width=4, depth=2, seeds=1)  # fmt: skip


def test_init_activity_dead_fraction_rises_with_depth_as_inputs_align(digits):
    # The ReLU chapter's claim: no dead unit in layer 1, about a third dead by layer 30,
    # and the representations of different inputs become nearly parallel.
    a = R.init_activity(jax.random.key(9), digits.x_test[:256], widths=(16, 64),
                        depth=30, seeds=4)  # fmt: skip
    dead, cosine = np.asarray(a.dead), np.asarray(a.cosine)
    assert np.all(dead[:, :, 0] == 0.0)
    assert np.all(np.median(dead[:, :, -5:], axis=(1, 2)) > 0.15)
    assert np.all(np.median(cosine[:, :, -1], axis=1) > 0.9)
    assert np.all(np.median(cosine[:, :, 0], axis=1) < 0.6)
