"""Hidden checks for book/gated_recurrent_networks.ipynb (used only by scripts/grade.py)."""

import jax.numpy as jnp
import numpy as np

import gradcourse as gc


def _expected(b, steps):
    return steps * np.log10(1 / (1 + np.exp(-np.asarray(b, np.float64))))


def check_carousel(carousel_log10_at_init):
    biases = jnp.array([-2.0, 0.0, 1.0, 3.0, 6.0])
    for steps in (1, 40, 1000):
        got = np.asarray(carousel_log10_at_init(biases, steps))
        assert got.shape == biases.shape, "must work elementwise on an array of biases"
        assert np.allclose(got, _expected(biases, steps), rtol=1e-4, atol=1e-5), (
            f"wrong values for {steps} steps"
        )
    # It is what the package measures on an LSTM whose weights are zero: f_k = sigma(b_f).
    lstm = gc.recurrent.Cell("lstm", hidden=3, inputs=2)
    zero = gc.recurrent.Gated(
        jnp.zeros((4, 3, 3)), jnp.zeros((4, 3, 2)), jnp.zeros((4, 3))
    )
    for b in (0.5, 2.0):
        params = zero._replace(b=zero.b.at[1].set(b))
        path = gc.recurrent.carousel_log10(lstm, params, jnp.ones((25, 2)))
        got = float(carousel_log10_at_init(b, 25))
        assert abs(float(path[0, 0]) - got) < 1e-3, f"b_f = {b}: differs from the cell"


def check_bias_for(forget_bias_for):
    for steps, keep in ((1, 0.5), (10, 0.5), (100, 0.01), (1000, 0.1), (50, 0.9)):
        got = float(forget_bias_for(steps, keep))
        f = np.exp(np.log(keep) / steps)
        expected = np.log(f / (1 - f))
        assert abs(got - expected) < 2e-3 * max(1.0, abs(expected)), (
            f"steps={steps}, keep={keep}: expected {expected:.4g}, got {got:.4g}"
        )
        kept = (1 / (1 + np.exp(-got))) ** steps
        assert abs(kept - keep) < 2e-3 * max(keep, 0.05), (
            f"keeps {kept:.3g}, not {keep}"
        )


EXERCISES = {
    "gated-ex-auto-carousel": {"check": check_carousel, "points": 1},
    "gated-ex-auto-bias-for": {"check": check_bias_for, "points": 1},
}
