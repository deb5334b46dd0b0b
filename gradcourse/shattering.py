r"""Shattered gradients: how the input gradient of a deep network varies along the input.

Balduzzi et al. (2017) fed a one-dimensional input grid through deep networks and
found that the gradient :math:`f'(x)` of a plain rectifier network decorrelates with depth
until neighbouring points are as unrelated as white noise ("shattered"), while residual
networks keep it correlated. This module measures that: :func:`input_gradients` gives
:math:`f'(x_i)` along a grid, :func:`layer_input_derivatives` gives
:math:`\mathrm{d}h_l/\mathrm{d}x` for every layer in one forward-mode pass, and
:func:`neighbour_correlation` the correlation between neighbouring grid points. The
networks are :class:`gradcourse.residual.ResidualMLP` (plain with ``residual=False``).

References:
    Balduzzi et al., `The shattered gradients problem: if resnets are the answer, then
    what is the question? <https://proceedings.mlr.press/v70/balduzzi17b.html>`_, 2017.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import scaled_norm
from gradcourse.networks import ActivationLike
from gradcourse.residual import ResidualMLP, forward, forward_with_trace

__all__ = ["input_gradients", "layer_input_derivatives", "neighbour_correlation"]


def input_gradients(
    params: ResidualMLP,
    xs: ArrayLike,
    activation: ActivationLike = "relu",
    **wiring: bool | float | ArrayLike,
) -> Array:
    r"""Gradient of the first output with respect to the input, one row per example.

    For a network with one input and one output this is :math:`f'(x)` along a grid of
    inputs, the quantity whose "shattering" Balduzzi et al. (2017) measured.

    Args:
        params: network parameters.
        xs: inputs, ``(batch, in_dim)``.
        activation, wiring: as in :func:`gradcourse.residual.forward` (``residual``,
            ``branch_scale``).

    Returns:
        ``(batch, in_dim)`` array of :math:`\partial f_0(x_i) / \partial x_i`.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)

    def f0(x: Array) -> Array:
        return forward(params, x, activation, **wiring)[0]

    return jax.vmap(jax.grad(f0))(xs)


def layer_input_derivatives(
    params: ResidualMLP,
    xs: ArrayLike,
    activation: ActivationLike = "relu",
    **wiring: bool | float | ArrayLike,
) -> Array:
    r"""Derivative of every layer's output with respect to a scalar input, in one pass.

    For a network with ``in_dim = 1`` this returns :math:`\mathrm{d}h_l/\mathrm{d}x` for
    :math:`l = 0, \dots, L` at each input, by forward-mode differentiation
    (:func:`jax.jvp`) of :func:`gradcourse.residual.forward_with_trace`. Projecting
    layer :math:`l` onto a fixed vector :math:`u` gives :math:`f_l'(x)` for the network
    truncated after block :math:`l` with read-out :math:`u`, so one pass measures all
    depths at once.

    Args:
        params: network parameters with ``in_dim = 1``.
        xs: inputs, ``(batch, 1)``.
        activation, wiring: as in :func:`gradcourse.residual.forward` (``residual``,
            ``branch_scale``).

    Returns:
        ``(batch, depth + 1, width)``.

    Raises:
        ValueError: if ``xs`` is not of shape ``(batch, 1)``.
    """
    xs = jnp.asarray(xs)
    if xs.ndim != 2 or xs.shape[1] != 1:
        raise ValueError(f"xs must have shape (batch, 1), got {xs.shape}")

    def post(x: Array) -> Array:
        return forward_with_trace(params, x, activation, **wiring)[1].post

    return jax.vmap(lambda x: jax.jvp(post, (x,), (jnp.ones_like(x),))[1])(xs)


def neighbour_correlation(values: ArrayLike) -> Array:
    r"""Pearson correlation between neighbouring entries along the last axis.

    .. math::

        \rho = \operatorname{corr}\big(g(x_i), g(x_{i+1})\big)_{i = 1}^{n-1}

    Near 1 for a gradient that varies smoothly along an input grid; near 0 for white noise
    ("shattered" gradients, Balduzzi et al., 2017).

    Args:
        values: ``(..., n)`` with ``n >= 3``, e.g. :math:`f'(x_i)` on a grid.

    Returns:
        ``(...)`` correlations.

    Raises:
        ValueError: if the last axis has fewer than 3 entries.

    References:
        Balduzzi et al., `The shattered gradients problem: if resnets are the answer, then
        what is the question? <https://proceedings.mlr.press/v70/balduzzi17b.html>`_, 2017.

    Examples:
        >>> round(float(neighbour_correlation(jnp.linspace(0.0, 1.0, 50))), 3)
        1.0
    """
    v = jnp.asarray(values)
    if v.ndim < 1 or v.shape[-1] < 3:
        raise ValueError(
            f"values must have >= 3 entries on its last axis, got {v.shape}"
        )
    a, b = v[..., :-1], v[..., 1:]
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    # Normalise before multiplying: products of gradients of 1e-20 underflow float32.
    a = a / scaled_norm(a, axis=-1)[..., None]
    b = b / scaled_norm(b, axis=-1)[..., None]
    return (a * b).sum(-1)
