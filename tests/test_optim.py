"""The teaching optimisers against optax on the same gradient sequence."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc

CASES = [
    ("sgd", lambda: gc.optim.sgd(0.05), lambda: optax.sgd(0.05)),
    ("momentum", lambda: gc.optim.momentum(0.05, 0.9),
     lambda: optax.sgd(0.05, momentum=0.9)),
    ("nesterov", lambda: gc.optim.momentum(0.05, 0.8, nesterov=True),
     lambda: optax.sgd(0.05, momentum=0.8, nesterov=True)),
    ("adagrad", lambda: gc.optim.adagrad(0.3), lambda: optax.adagrad(0.3)),
    ("adagrad_zero_start", lambda: gc.optim.adagrad(0.3, 0.0, 1e-7),
     lambda: optax.adagrad(0.3, initial_accumulator_value=0.0, eps=1e-7)),
    ("rmsprop", lambda: gc.optim.rmsprop(1e-2, 0.95, 1e-6),
     lambda: optax.rmsprop(1e-2, decay=0.95, eps=1e-6)),
    ("adam", lambda: gc.optim.adam(1e-3), lambda: optax.adam(1e-3)),
    ("adam_custom", lambda: gc.optim.adam(3e-2, 0.8, 0.99, 1e-4),
     lambda: optax.adam(3e-2, b1=0.8, b2=0.99, eps=1e-4)),
]  # fmt: skip


def _gradient_sequence(key, steps=25):
    """A pytree of gradients per step with scales from 1e-6 to 1e2 and exact zeros."""
    k1, k2, k3 = jax.random.split(key, 3)
    scales = jnp.logspace(-6, 2, 5)[:, None]
    return {
        "w": jax.random.normal(k1, (steps, 5, 4)) * scales,
        "b": jax.random.normal(k2, (steps, 3)) * (jnp.arange(steps) % 3 > 0)[:, None],
        "c": jax.random.cauchy(k3, (steps,)),
    }


def _run(opt, params, grads):
    def step(state, g):
        updates, state = opt.update(g, state, params)
        return state, updates

    return jax.lax.scan(step, opt.init(params), grads)[1]


@pytest.mark.parametrize("name,ours,theirs", CASES, ids=[c[0] for c in CASES])
def test_optimizer_updates_equal_optax(key, name, ours, theirs):
    grads = _gradient_sequence(key)
    params = jax.tree.map(lambda g: jnp.ones_like(g[0]), grads)
    got, want = _run(ours(), params, grads), _run(theirs(), params, grads)
    for leaf in ("w", "b", "c"):
        np.testing.assert_allclose(got[leaf], want[leaf], rtol=2e-5, atol=1e-7)


def test_sgd_update_is_minus_lr_grad(key):
    g = jax.random.normal(key, (7,))
    u, _ = gc.optim.sgd(0.3).update(g, gc.optim.sgd(0.3).init(g))
    np.testing.assert_allclose(u, -0.3 * g, rtol=1e-6)


def test_momentum_constant_gradient_approaches_geometric_limit():
    # v_t = g (1 - beta^t) / (1 - beta) -> g / (1 - beta).
    opt = gc.optim.momentum(1.0, 0.9)
    g = jnp.array([2.0])
    us = _run(opt, g, jnp.tile(g, (200, 1)))
    np.testing.assert_allclose(us[-1], -2.0 / 0.1, rtol=1e-5)
    np.testing.assert_allclose(us[4], -2.0 * (1 - 0.9**5) / 0.1, rtol=1e-5)


def test_adagrad_effective_step_decays_like_inverse_sqrt_t():
    # Constant gradient g: |u_t| = eta g / sqrt(s0 + t g^2 + eps).
    eta, g, s0, t = 0.5, 3.0, 0.1, jnp.arange(1, 401)
    us = _run(gc.optim.adagrad(eta), jnp.zeros(1), jnp.full((400, 1), g))[:, 0]
    np.testing.assert_allclose(-us, eta * g / jnp.sqrt(s0 + t * g**2 + 1e-7), rtol=1e-5)
    np.testing.assert_allclose(us[399] / us[99], 0.5, rtol=1e-3)  # 4x the steps, half


def test_adam_first_step_is_about_lr_times_sign(key):
    g = jax.random.normal(key, (50,)) * jnp.logspace(-4, 3, 50)
    u, _ = gc.optim.adam(1e-3).update(g, gc.optim.adam(1e-3).init(g))
    np.testing.assert_allclose(u, -1e-3 * g / (jnp.abs(g) + 1e-8), rtol=1e-5)
    big = jnp.abs(g) > 1e-5  # eps = 1e-8 is then < 0.1% of |g|
    assert int(big.sum()) > 40
    np.testing.assert_allclose(u[big], -1e-3 * jnp.sign(g[big]), rtol=1e-3)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: gc.optim.sgd(0.0), "learning_rate"),
        (lambda: gc.optim.sgd(-1.0), "learning_rate"),
        (lambda: gc.optim.momentum(0.1, 1.0), "beta"),
        (lambda: gc.optim.momentum(0.1, -0.1), "beta"),
        (lambda: gc.optim.adagrad(0.1, -0.5), "initial_accumulator_value"),
        (lambda: gc.optim.adagrad(0.1, eps=-1.0), "eps"),
        (lambda: gc.optim.rmsprop(0.1, decay=1.5), "decay"),
        (lambda: gc.optim.adam(0.1, b1=1.0), "b1"),
        (lambda: gc.optim.adam(0.1, b2=-0.1), "b2"),
        (lambda: gc.optim.adam(float("nan")), "learning_rate"),
    ],
)
def test_optimizer_rejects_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
