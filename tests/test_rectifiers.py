"""Dead units, born-dead networks, the slope sweep and PReLU training (gradcourse.rectifiers).

The statistical tests assert the claims of the ReLU and leaky-ReLU chapters with
tolerances of several binomial standard errors (or a per-seed comparison), so they fail
if the effect is absent, not because of one unlucky seed.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
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


def test_kill_and_recover_relu_units_stay_dead_leaky_units_return(digits):
    # The leaky-ReLU chapter's claim, seed by seed.
    rec = R.kill_and_recover(
        jax.random.key(11), digits.x_train[:256], digits.y_train[:256], digits.x_test,
        digits.y_test, negative_slopes=jnp.array([0.0, 0.3]), kill_lr=5.0, lr=0.1,
        steps=200, width=32, depth=5, seeds=4,
    )  # fmt: skip
    killed = np.asarray(rec.killed).mean(-1)
    recovered = np.asarray(rec.recovered).mean(-1)
    np.testing.assert_array_equal(killed[0], killed[1])  # the same damaged networks
    assert np.median(killed[0]) > 0.03  # the step did kill units
    assert np.all(recovered[0] > 0.5 * killed[0])  # ReLU: most stay dead
    assert np.all(recovered[1] < recovered[0])  # a = 0.3: fewer remain, every seed
    assert np.median(recovered[1]) < 0.25 * np.median(recovered[0])


def test_kill_and_recover_rejects_slopes_outside_unit_interval(digits):
    with pytest.raises(ValueError, match="negative_slopes"):
        R.kill_and_recover(jax.random.key(0), digits.x_train[:8], digits.y_train[:8],
                           digits.x_test[:8], digits.y_test[:8],
                           negative_slopes=jnp.array([1.5]), kill_lr=1.0, lr=0.1,
                           steps=1, width=4, depth=2, seeds=1)  # fmt: skip


def test_slope_grad_norms_equal_the_probe(key, digits):
    xs, ys = digits.x_train[:32], digits.y_train[:32]
    got = R.slope_grad_norms(key, xs, ys, negative_slopes=jnp.array([0.2]),
                             gains=jnp.array([1.3]), width=16, depth=5, seeds=2)  # fmt: skip
    raw = R._raw_draw(key, 2, 64, 16, 5, 10)
    phi = functools.partial(gc.activations.leaky_relu, negative_slope=0.2)
    for s in range(2):
        params = R._raw_mlp(raw[s], 64, 16, 5, 10, 1.3)
        want = gc.probes.grad_norms(params, xs, ys, phi).hidden
        np.testing.assert_allclose(got[0, s], want, rtol=1e-4)


def test_slope_grad_norms_follow_the_gain_theory(key, digits):
    # With ReLU's gain the ratio grows like (1 + a^2)^((L-1)/2); matched gain keeps it ~1.
    a, depth = 0.5, 30
    got = R.slope_grad_norms(
        key, digits.x_train[:64], digits.y_train[:64],
        negative_slopes=jnp.array([a, a]),
        gains=jnp.array([math.sqrt(2.0), math.sqrt(2.0 / (1 + a**2))]),
        width=64, depth=depth, seeds=3,
    )  # fmt: skip
    ratio = np.median(np.asarray(got[..., 0] / got[..., -1]), axis=1)
    theory = (1 + a**2) ** ((depth - 1) / 2)
    assert theory / 2 < ratio[0] < theory * 2
    assert 0.5 < ratio[1] < 2.0


def test_slope_grad_norms_validates_gains(key, digits):
    with pytest.raises(ValueError, match="gains"):
        R.slope_grad_norms(key, digits.x_train[:8], digits.y_train[:8],
                           negative_slopes=jnp.array([0.1, 0.2]), gains=jnp.array([1.0]),
                           width=4, depth=2, seeds=1)  # fmt: skip


def test_prelu_forward_with_equal_slopes_is_a_leaky_network(key):
    net = R.init_prelu(key, 5, 7, 4, 3, alpha=0.3)
    x = jax.random.normal(jax.random.fold_in(key, 1), (5,))
    out, trace = gc.networks.prelu_forward(net, x)
    phi = functools.partial(gc.activations.leaky_relu, negative_slope=0.3)
    out_ref, trace_ref = gc.networks.forward_with_trace(net.mlp, x, phi)
    np.testing.assert_allclose(out, out_ref, rtol=1e-6)
    np.testing.assert_allclose(trace.post, trace_ref.post, rtol=1e-6)


def test_init_prelu_uses_he_variance_for_the_slope(key):
    net = R.init_prelu(key, 64, 256, 3, 10, alpha=0.25)
    var = float(net.mlp.hidden.w.var()) * 256
    assert abs(var - 2 / (1 + 0.25**2)) < 0.05
    assert net.alpha.shape == (3, 256)
    with pytest.raises(ValueError, match="alpha"):
        R.init_prelu(key, 4, 4, 2, 2, alpha=float("nan"))


def test_train_prelu_follows_train_fit(key, digits):
    nets = jax.vmap(lambda k: R.init_prelu(k, 64, 16, 3, 10))(jax.random.split(key, 2))
    opt = optax.adam(1e-2)
    run = R.train_prelu(jax.random.key(5), nets, digits.x_train, digits.y_train,
                        optimizer=opt, steps=20, batch_size=64)  # fmt: skip
    first = jax.tree.map(lambda a: a[0], nets)
    params, hist = gc.train.fit(
        jax.random.key(5), first, digits.x_train, digits.y_train, model=gc.networks.prelu_model,
        optimizer=opt, steps=20, batch_size=64, layer_norms=gc.probes.layer_grad_norms,
    )  # fmt: skip
    np.testing.assert_allclose(run.loss[0], hist.loss, rtol=1e-4)
    np.testing.assert_allclose(run.params.alpha[0], params.alpha, atol=1e-4)


def test_train_prelu_learns_slopes_outside_the_unit_interval(digits):
    # The leaky-ReLU chapter's claim: learned PReLU slopes are not confined to (0, 1).
    nets = jax.vmap(lambda k: R.init_prelu(k, 64, 64, 4, 10))(
        jax.random.split(jax.random.key(21), 4)
    )
    run = R.train_prelu(jax.random.key(22), nets, digits.x_train, digits.y_train,
                        optimizer=optax.adam(1e-2), steps=200)  # fmt: skip
    alpha = np.asarray(run.params.alpha)
    assert np.sum((alpha < 0).any(axis=(1, 2))) >= 2  # negative slopes in >= 2 seeds
    assert np.all(np.abs(alpha.mean(axis=(1, 2)) - 0.25) < 0.2)  # they did not diverge
    acc = jax.vmap(
        lambda p: jnp.mean(jnp.argmax(gc.networks.prelu_model(p, digits.x_test)[0], -1)
                           == digits.y_test)
    )(run.params)  # fmt: skip
    assert np.all(np.asarray(acc) > 0.9)


def test_train_prelu_requires_a_seed_axis(key, digits):
    net = R.init_prelu(key, 64, 8, 2, 10)
    with pytest.raises(ValueError, match="seed axis"):
        R.train_prelu(key, net, digits.x_train, digits.y_train,
                      optimizer=optax.sgd(0.1), steps=2)  # fmt: skip


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
