"""Hidden checks for book/optimizers.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp

import gradcourse as gc


def check_adam_first(adam_first_update):
    g = jax.random.normal(jax.random.key(22), (20,)) * jnp.logspace(-10, 1, 20)
    for lr, eps in [(1e-3, 1e-8), (0.5, 1e-3)]:
        opt = gc.optim.adam(lr, eps=eps)
        ref, _ = opt.update(g, opt.init(g))
        got = adam_first_update(g, lr, eps)
        assert jnp.allclose(got, ref, rtol=1e-4, atol=1e-12), f"lr {lr}, eps {eps}"


def check_momentum_gain(momentum_step):
    for beta, steps in [(0.5, 3), (0.9, 10), (0.0, 5), (0.99, 30)]:
        got = float(momentum_step(beta, steps))
        expected = (1 - beta**steps) / (1 - beta)
        assert abs(got - expected) < 1e-4 * expected, (
            f"beta {beta}, {steps} steps: {got:.4g}"
        )


EXERCISES = {
    "optimizers-ex-auto-adam-first": {"check": check_adam_first, "points": 1},
    "optimizers-ex-auto-momentum-gain": {"check": check_momentum_gain, "points": 1},
}
