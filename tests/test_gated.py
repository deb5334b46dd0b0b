"""Tests of gradcourse.gated (GELU, Swish) beyond the shared cases of
tests/test_activations.py."""

import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

act = gc.activations
gated = gc.gated
reg = gc.registry


def test_gelu_tanh_form_is_close_to_exact():
    # Measured 4.7e-4 (values) and 8.7e-4 (slopes) on [-8, 8].
    x = jnp.linspace(-8, 8, 16001)
    assert (
        float(jnp.max(jnp.abs(gated.gelu(x) - gated.gelu(x, approximate=True)))) < 6e-4
    )
    slope_gap = jnp.abs(gated.gelu_grad(x) - gated.gelu_grad(x, approximate=True))
    assert float(jnp.max(slope_gap)) < 1e-3


def test_gelu_grad_peaks_at_sqrt2():
    x = jnp.linspace(0, 4, 40001)
    g = gated.gelu_grad(x)
    assert float(x[jnp.argmax(g)]) == pytest.approx(np.sqrt(2), abs=1e-3)
    assert float(g.max()) == pytest.approx(reg.get("gelu").max_slope, rel=1e-6)


def test_swish_large_beta_tends_to_relu_and_zero_beta_to_half_x():
    x = jnp.linspace(-5, 5, 101)
    np.testing.assert_allclose(gated.swish(x, 200.0), act.relu(x), atol=2e-3)
    np.testing.assert_allclose(gated.swish(x, 0.0), 0.5 * x, rtol=1e-6)


def test_gelu_rejects_non_bool_approximate_and_swish_non_finite_beta():
    with pytest.raises(ValueError, match="approximate"):
        gated.gelu(1.0, approximate="tanh")
    with pytest.raises(ValueError, match="beta"):
        gated.swish(1.0, beta=float("inf"))
