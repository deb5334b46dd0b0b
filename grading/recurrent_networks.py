"""Hidden checks for book/recurrent_networks.ipynb (used only by scripts/grade.py)."""

import jax
import jax.numpy as jnp
import numpy as np

import gradcourse as gc


def _elman(n, m, activation, scale):
    """A deterministic Elman cell whose weights do not commute with their transposes."""
    idx = jnp.arange(n * n, dtype=jnp.float32).reshape(n, n)
    w = scale * jnp.sin(1.7 * idx + 0.3) / jnp.sqrt(n)
    u = jnp.cos(jnp.arange(n * m, dtype=jnp.float32)).reshape(n, m)
    cell = gc.recurrent.Cell("elman", hidden=n, inputs=m, activation=activation)
    return cell, gc.recurrent.Elman(w, u, 0.1 * jnp.ones(n))


def _last_state(cell, params, xs, h0):
    return gc.recurrent.unroll(cell, params, xs, h0)[-1]


def check_bptt(bptt_product):
    for n, steps, act, scale in ((4, 7, "tanh", 1.3), (5, 3, "sigmoid", 3.0)):
        cell, params = _elman(n, 2, act, scale)
        xs = jnp.sin(jnp.arange(steps * 2, dtype=jnp.float32)).reshape(steps, 2)
        jacs = gc.recurrent.step_jacobians(cell, params, xs)
        got = np.asarray(bptt_product(jacs))
        assert got.shape == (n, n), f"expected shape {(n, n)}, got {got.shape}"
        # Independent reference: differentiate the unrolled network end to end.
        ref = np.asarray(jax.jacfwd(_last_state, 3)(cell, params, xs, jnp.zeros(n)))
        assert np.allclose(got, ref, rtol=1e-4, atol=1e-6), "not dh_T/dh_0 (order?)"
    eye = np.asarray(bptt_product(jnp.eye(3)[None]))
    assert np.allclose(eye, np.eye(3)), "one identity step must give the identity"


def check_bound(log10_bound):
    for n, steps, gamma, scale in (
        (6, 80, 1.0, 0.7),
        (4, 200, 0.25, 5.0),
        (3, 1, 1.0, 2.0),
    ):
        cell, params = _elman(n, 2, "tanh", scale)
        lam = np.linalg.svd(np.asarray(params.w, np.float64), compute_uv=False)[0]
        expected = steps * np.log10(gamma * lam)
        got = float(log10_bound(params.w, steps, gamma))
        assert np.isfinite(got), "must be finite: compute it in logs"
        assert abs(got - expected) < 1e-3 * max(1.0, abs(expected)), (
            f"steps={steps}, gamma={gamma}: expected {expected:.4g}, got {got:.4g}"
        )
    # The bound holds on a measured product (tanh, gamma = 1).
    cell, params = _elman(5, 2, "tanh", 1.5)
    xs = jnp.cos(jnp.arange(60, dtype=jnp.float32)).reshape(30, 2)
    jacs = gc.recurrent.step_jacobians(cell, params, xs)
    measured = float(
        jnp.log10(gc.recurrent.sigma_max(gc.recurrent.jacobians_to_end(jacs)[0]))
    )
    assert measured <= float(log10_bound(params.w, 30, 1.0)) + 1e-4, (
        "below the measured norm"
    )


EXERCISES = {
    "recurrent-ex-auto-bptt": {"check": check_bptt, "points": 1},
    "recurrent-ex-auto-bound": {"check": check_bound, "points": 1},
}
