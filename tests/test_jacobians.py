"""Layer Jacobians, their products and the back-propagated signals.

Tolerances are for float32: products of a dozen 16 x 16 factors agree with a single
jacfwd/jacrev of the whole map to 1e-5 of the largest entry (observed ~1e-7).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc
from tests._builders import mean_field_net

J = gc.jacobians
S = gc.spectra


@pytest.fixture
def net(key):
    return mean_field_net(key)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_layer_jacobians_equal_diag_slope_times_weight(net, activation):
    params, x = net
    jacs = J.layer_jacobians(params, x, activation)
    _, trace = gc.networks.forward_with_trace(params, x, activation)
    slope = gc.registry.get(activation).grad(trace.pre)
    np.testing.assert_allclose(
        jacs.first, slope[0][:, None] * params.first.w, atol=1e-6
    )
    expected = slope[1:, :, None] * params.hidden.w
    np.testing.assert_allclose(jacs.hidden, expected, atol=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", jax.nn.relu])
def test_jacobian_products_equal_end_to_end_jacobian(net, activation):
    params, x = net
    prods = J.jacobian_products(J.layer_jacobians(params, x, activation))
    end_to_end = J.input_output_jacobian(params, x, activation)
    reverse = jax.jacrev(
        lambda v: gc.networks.forward_with_trace(params, v, activation)[1].post[-1]
    )(x)
    scale = float(jnp.max(jnp.abs(end_to_end)))
    assert prods.shape == (12, 16, 8)
    assert float(jnp.max(jnp.abs(prods[-1] - end_to_end))) <= 1e-5 * scale
    assert float(jnp.max(jnp.abs(prods[-1] - reverse))) <= 1e-5 * scale
    # Every intermediate product is the Jacobian of h_l (relative to its own scale).
    h4 = jax.jacfwd(
        lambda v: gc.networks.forward_with_trace(params, v, activation)[1].post[3]
    )(x)
    assert float(jnp.max(jnp.abs(prods[3] - h4))) <= 1e-5 * float(jnp.max(jnp.abs(h4)))


def test_backprop_signals_equal_grad_wrt_activations(net):
    params, x = net
    label = 1

    def loss(taps):
        out, _ = gc.networks.forward_with_trace(params, x, "tanh", taps=taps)
        return -jax.nn.log_softmax(out)[label]

    expected = jax.grad(loss)(jnp.zeros((params.depth, params.width)))
    out = gc.networks.forward(params, x, "tanh")
    g_top = params.readout.w.T @ (jax.nn.softmax(out) - jax.nn.one_hot(label, 3))
    got = J.backprop_signals(J.layer_jacobians(params, x, "tanh"), g_top)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


def test_init_mean_field_scales(key):
    init = J.init_mean_field  # jitted inside: one compile per size and ensemble
    p = init(key, 256, 256, 3, 2, sigma_w2=2.0, sigma_b2=0.5)
    assert float(jnp.var(p.hidden.w) * 256) == pytest.approx(2.0, rel=0.02)
    assert float(jnp.var(p.hidden.b)) == pytest.approx(0.5, rel=0.2)
    o = init(key, 16, 16, 3, 2, sigma_w2=2.0, weights="orthogonal")
    s = np.linalg.svd(np.asarray(o.hidden.w), compute_uv=False)
    np.testing.assert_allclose(s, np.sqrt(2.0), rtol=1e-5)


def test_validation(net, key):
    params, x = net
    with pytest.raises(ValueError, match="weights must be one of"):
        J.init_mean_field(key, 2, 3, 2, 2, sigma_w2=1.0, weights="uniform")
    with pytest.raises(ValueError, match="sigma_w2 must be a finite number >= 0"):
        J.init_mean_field(key, 2, 3, 2, 2, sigma_w2=-1.0)
    with pytest.raises(ValueError, match="sigma_b2 must be a finite number >= 0"):
        J.init_mean_field(key, 2, 3, 2, 2, sigma_w2=1.0, sigma_b2=float("nan"))
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        J.layer_jacobians(params, x[None])
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        J.input_output_jacobian(params, x[None])
    jacs = J.layer_jacobians(params, x)
    with pytest.raises(ValueError, match="jacs.hidden must have shape"):
        J.jacobian_products(J.LayerJacobians(jacs.first, jacs.hidden[:, :4]))
    with pytest.raises(ValueError, match="grad_top must have shape"):
        J.backprop_signals(jacs, jnp.ones(3))
