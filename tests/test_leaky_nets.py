"""Slope sweep, recovery of killed units and PReLU training (gradcourse.leaky_nets).

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


def test_kill_and_recover_relu_units_stay_dead_leaky_units_return(digits):
    # The leaky-ReLU chapter's claim, seed by seed.
    rec = gc.leaky_nets.kill_and_recover(
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
        gc.leaky_nets.kill_and_recover(jax.random.key(0), digits.x_train[:8], digits.y_train[:8],
                           digits.x_test[:8], digits.y_test[:8],
                           negative_slopes=jnp.array([1.5]), kill_lr=1.0, lr=0.1,
                           steps=1, width=4, depth=2, seeds=1)  # fmt: skip


def test_slope_grad_norms_equal_the_probe(key, digits):
    xs, ys = digits.x_train[:32], digits.y_train[:32]
    got = gc.leaky_nets.slope_grad_norms(key, xs, ys, negative_slopes=jnp.array([0.2]),
                             gains=jnp.array([1.3]), width=16, depth=5, seeds=2)  # fmt: skip
    raw = R._raw_draw(key, 2, 64, 16, 5, 10)
    phi = functools.partial(gc.leaky.leaky_relu, negative_slope=0.2)
    for s in range(2):
        params = R._raw_mlp(raw[s], 64, 16, 5, 10, 1.3)
        want = gc.probes.grad_norms(params, xs, ys, phi).hidden
        np.testing.assert_allclose(got[0, s], want, rtol=1e-4)


def test_slope_grad_norms_follow_the_gain_theory(key, digits):
    # With ReLU's gain the ratio grows like (1 + a^2)^((L-1)/2); matched gain keeps it ~1.
    a, depth = 0.5, 30
    got = gc.leaky_nets.slope_grad_norms(
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
        gc.leaky_nets.slope_grad_norms(key, digits.x_train[:8], digits.y_train[:8],
                           negative_slopes=jnp.array([0.1, 0.2]), gains=jnp.array([1.0]),
                           width=4, depth=2, seeds=1)  # fmt: skip


def test_prelu_forward_with_equal_slopes_is_a_leaky_network(key):
    net = gc.leaky_nets.init_prelu(key, 5, 7, 4, 3, alpha=0.3)
    x = jax.random.normal(jax.random.fold_in(key, 1), (5,))
    out, trace = gc.networks.prelu_forward(net, x)
    phi = functools.partial(gc.leaky.leaky_relu, negative_slope=0.3)
    out_ref, trace_ref = gc.networks.forward_with_trace(net.mlp, x, phi)
    np.testing.assert_allclose(out, out_ref, rtol=1e-6)
    np.testing.assert_allclose(trace.post, trace_ref.post, rtol=1e-6)


def test_init_prelu_uses_he_variance_for_the_slope(key):
    net = gc.leaky_nets.init_prelu(key, 64, 256, 3, 10, alpha=0.25)
    var = float(net.mlp.hidden.w.var()) * 256
    assert abs(var - 2 / (1 + 0.25**2)) < 0.05
    assert net.alpha.shape == (3, 256)
    with pytest.raises(ValueError, match="alpha"):
        gc.leaky_nets.init_prelu(key, 4, 4, 2, 2, alpha=float("nan"))


def test_train_prelu_follows_train_fit(key, digits):
    nets = jax.vmap(lambda k: gc.leaky_nets.init_prelu(k, 64, 16, 3, 10))(
        jax.random.split(key, 2)
    )
    opt = optax.adam(1e-2)
    run = gc.leaky_nets.train_prelu(jax.random.key(5), nets, digits.x_train, digits.y_train,
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
    nets = jax.vmap(lambda k: gc.leaky_nets.init_prelu(k, 64, 64, 4, 10))(
        jax.random.split(jax.random.key(21), 4)
    )
    run = gc.leaky_nets.train_prelu(jax.random.key(22), nets, digits.x_train, digits.y_train,
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
    net = gc.leaky_nets.init_prelu(key, 64, 8, 2, 10)
    with pytest.raises(ValueError, match="seed axis"):
        gc.leaky_nets.train_prelu(key, net, digits.x_train, digits.y_train,
                      optimizer=optax.sgd(0.1), steps=2)  # fmt: skip
