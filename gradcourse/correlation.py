r"""Forward signal propagation: how a deep random network maps two inputs.

:mod:`gradcourse.meanfield` follows the *length* of one input, :math:`q_l`. Two inputs
:math:`x^a, x^b` also have a *covariance* :math:`q^{ab}_l` across the units of layer
:math:`l`, and in a wide network with :math:`W_{ij} \sim \mathcal N(0, \sigma_w^2/n)`,
:math:`b_i \sim \mathcal N(0, \sigma_b^2)` it obeys its own map. Once both lengths sit
at the fixed point :math:`q^*`, the **correlation** :math:`c_l = q^{ab}_l / q^*` follows

.. math::

    c_{l+1} = C(c_l) = \frac{1}{q^*}\Bigl(\sigma_w^2\,
    \mathbb E\bigl[\phi(u_a)\,\phi(u_b)\bigr] + \sigma_b^2\Bigr),
    \qquad
    \begin{pmatrix} u_a \\ u_b \end{pmatrix} \sim \mathcal N\Bigl(0,\,
    q^*\begin{pmatrix} 1 & c_l \\ c_l & 1 \end{pmatrix}\Bigr).

:math:`c = 1` is always a fixed point (identical inputs stay identical), and the slope
of the map there is

.. math::

    \chi_c = C'(1) = \sigma_w^2\, \mathbb E_{z \sim \mathcal N(0, q^*)}
    \bigl[\phi'(z)^2\bigr] = \chi,

*the same* :math:`\chi` that multiplies the squared gradient per layer. So the phase that
makes gradients vanish (:math:`\chi < 1`, ordered) is the phase in which :math:`c = 1`
attracts: every pair of inputs becomes perfectly correlated with depth, the network
maps all inputs to the same point, and the output cannot tell them apart. In the
chaotic phase (:math:`\chi > 1`) :math:`c = 1` repels, nearby inputs are pulled apart
to a fixed point :math:`c^* < 1`, and gradients explode.

Both approaches are geometric, with depth scales

.. math::

    \xi_q^{-1} = -\log V'(q^*), \qquad \xi_c^{-1} = -\log C'(c^*),

where :math:`V` is the variance map; at :math:`c^* = 1`, :math:`\xi_c = -1/\log\chi`,
which diverges at the order-to-chaos boundary :math:`\chi = 1`: only there does
information about the input survive arbitrarily many layers, and only there do
gradients neither vanish nor explode.

The two-dimensional expectation is a nested one: :math:`u_a = \sqrt{q} z`, and given
:math:`u_a`, :math:`u_b = c\, u_a + \sqrt{q(1-c^2)}\, \xi`; both are computed by Gauss
rules split at the activation's kinks (:func:`gradcourse.quadrature.gaussian_rule`).

References:
    Poole et al., `Exponential expressivity in deep neural networks through transient
    chaos <https://arxiv.org/abs/1606.05340>`_, 2016;
    Schoenholz et al., `Deep Information Propagation
    <https://arxiv.org/abs/1611.01232>`_, 2017 (eqs. 4-9).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, meanfield
from gradcourse.quadrature import _check_order, check_non_negative, gaussian_rule
from gradcourse.quadrature import pieces_rule as _pieces_rule
from gradcourse.registry import ActivationSpec, derivative_pair, kinks

__all__ = ["DepthScales", "correlation_map", "correlation_trajectory", "depth_scales"]

# Inner rule size (nodes per pair of pieces) for the conditional expectation.
_INNER = 32


class DepthScales(NamedTuple):
    """Result of :func:`depth_scales`; each field has the broadcast shape of the inputs.

    Attributes:
        q_star: the length fixed point :math:`q^*`.
        c_star: the stable correlation fixed point :math:`c^*` (1 in the ordered phase).
        chi: :math:`\\chi = C'(1)`, the gradient factor per layer.
        xi_q: :math:`-1/\\log V'(q^*)` layers.
        xi_c: :math:`-1/\\log C'(c^*)` layers.
    """

    q_star: Array
    c_star: Array
    chi: Array
    xi_q: Array
    xi_c: Array


def _pair_expectation(f, g, c: Array, q: Array, activation: ActivationSpec) -> Array:
    """E[f(u_a) g(u_b)] for (u_a, u_b) ~ N(0, q [[1, c], [c, 1]]), elementwise in c, q."""
    breaks = kinks(activation)
    c, q = jnp.broadcast_arrays(
        jnp.asarray(c, jnp.float32), jnp.asarray(q, jnp.float32)
    )
    ua, wa = gaussian_rule(q, breakpoints=breaks)  # (..., M)
    mean = c[..., None] * ua
    sd = jnp.sqrt(jnp.maximum(q * (1.0 - c**2), 0.0))[..., None]
    # inner variable xi ~ N(0, 1); u_b = mean + sd * xi crosses kink k at (k - mean)/sd
    safe = jnp.where(sd > 0, sd, 1.0)
    cuts = [jnp.zeros_like(mean)]  # xi = 0 keeps both outer tilts decaying
    cuts += [jnp.where(sd > 0, (k - mean) / safe, 0.0) for k in (0.0, *breaks)]
    xi, wb = _pieces_rule(jnp.stack(cuts, -1), _INNER)  # (..., M, M')
    ub = mean[..., None] + sd[..., None] * xi
    inner = jnp.sum(wb * g(ub), axis=-1)
    return jnp.sum(wa * f(ua) * inner, axis=-1)


def correlation_map(
    c: ArrayLike,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    order: int = meanfield.DEFAULT_ORDER,
) -> Array:
    r"""One layer of the correlation map :math:`C(c)` at the length fixed point :math:`q^*`.

    .. math::

        C(c) = \frac{\sigma_w^2\, \mathbb E[\phi(u_a)\phi(u_b)] + \sigma_b^2}{q^*}.

    Args:
        c: correlation(s) in [-1, 1].
        sigma_w2, sigma_b2: weight and bias variances, >= 0 (broadcast with ``c``).
        activation: registry name or a pair ``(phi, phi_prime)``.
        order: quadrature nodes for the outer expectation and for :math:`q^*`.

    Returns:
        :math:`C(c)`, broadcast shape.

    Raises:
        ValueError: for ``c`` outside [-1, 1], negative variances or a bad ``order``.

    References:
        Poole et al., 2016 (eq. 5); Schoenholz et al., 2017 (eq. 4).

    Examples:
        >>> round(float(correlation_map(1.0, 1.5, 0.05)), 4)  # c = 1 is a fixed point
        1.0
    """
    _check_c(c)
    derivative_pair(activation)
    check_non_negative("sigma_w2", sigma_w2)
    check_non_negative("sigma_b2", sigma_b2)
    _check_order(order)
    q = meanfield.fixed_point(sigma_w2, sigma_b2, activation, order=order)
    return _map(c, q, sigma_w2, sigma_b2, activation)


@functools.partial(jax.jit, static_argnums=4)
def _map(c, q, sigma_w2, sigma_b2, activation):
    phi, _ = derivative_pair(activation)
    q = jnp.maximum(q, 1e-30)
    return (sigma_w2 * _pair_expectation(phi, phi, c, q, activation) + sigma_b2) / q


def _check_c(c: ArrayLike) -> None:
    if isinstance(c, jax.core.Tracer):
        return
    arr = jnp.asarray(c, jnp.float32)
    if not bool(jnp.all((arr >= -1) & (arr <= 1))):
        raise ValueError(f"c must be a correlation in [-1, 1], got {c!r}")


def correlation_trajectory(
    c0: ArrayLike,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    depth: int,
    order: int = meanfield.DEFAULT_ORDER,
) -> Array:
    r"""The correlations :math:`c_1, \dots, c_L` reached from :math:`c_0` (scanned).

    Args:
        c0: starting correlation(s) in [-1, 1].
        sigma_w2, sigma_b2: variances, >= 0 (broadcast with ``c0``).
        activation: registry name or a pair ``(phi, phi_prime)``.
        depth: number of layers :math:`L` >= 1.
        order: quadrature nodes.

    Returns:
        ``(depth, *broadcast_shape)`` array.

    Raises:
        ValueError: as :func:`correlation_map`, or a bad ``depth``.
    """
    _checks.positive_int("depth", depth)
    _check_c(c0)
    derivative_pair(activation)
    check_non_negative("sigma_w2", sigma_w2)
    check_non_negative("sigma_b2", sigma_b2)
    q = meanfield.fixed_point(sigma_w2, sigma_b2, activation, order=_check_order(order))
    return _trajectory(c0, q, sigma_w2, sigma_b2, activation, depth)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _trajectory(c0, q, sigma_w2, sigma_b2, activation, depth):
    shape = jnp.broadcast_shapes(jnp.shape(c0), jnp.shape(q))
    c0 = jnp.broadcast_to(jnp.asarray(c0, jnp.float32), shape)

    def step(c: Array, _: None) -> tuple[Array, Array]:
        c = jnp.clip(_map(c, q, sigma_w2, sigma_b2, activation), -1.0, 1.0)
        return c, c

    return jax.lax.scan(step, c0, None, length=depth)[1]


def depth_scales(
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    iterations: int = 500,
    order: int = meanfield.DEFAULT_ORDER,
) -> DepthScales:
    r"""Fixed points and the depth scales :math:`\xi_q`, :math:`\xi_c` of Schoenholz et al.

    .. math::

        \xi_q = -\frac{1}{\log V'(q^*)}, \qquad
        \xi_c = -\frac{1}{\log C'(c^*)}, \qquad
        C'(c) = \sigma_w^2\, \mathbb E[\phi'(u_a)\phi'(u_b)],

    with :math:`V'` by automatic differentiation of the variance map and :math:`c^*`
    found by iterating :math:`C` from :math:`c_0 = 0`. In the ordered phase
    :math:`c^* = 1` and :math:`C'(1) = \chi`, so :math:`\xi_c` is the gradient's depth
    scale :math:`-1/\log\chi` of :func:`gradcourse.meanfield.mean_field`.

    Args:
        sigma_w2, sigma_b2: variances, >= 0, broadcast together.
        activation: registry name or a pair ``(phi, phi_prime)``.
        iterations: correlation-map iterations, >= 1 (convergence is like
            :math:`C'(c^*)^l`, slow right at the boundary).
        order: quadrature nodes.

    Returns:
        A :class:`DepthScales`.

    Raises:
        ValueError: for negative variances, a bad ``iterations`` or ``order``.

    References:
        Schoenholz et al., `Deep Information Propagation
        <https://arxiv.org/abs/1611.01232>`_, 2017 (eqs. 7-9).

    Examples:
        >>> d = depth_scales(0.5, 0.05)  # ordered: inputs collapse, c* = 1
        >>> round(float(d.c_star), 4), bool(abs(d.xi_c + 1 / jnp.log(d.chi)) < 1e-3)
        (1.0, True)
    """
    derivative_pair(activation)
    check_non_negative("sigma_w2", sigma_w2)
    check_non_negative("sigma_b2", sigma_b2)
    _checks.positive_int("iterations", iterations)
    _check_order(order)
    mf = meanfield.mean_field(sigma_w2, sigma_b2, activation, order=order)
    return _scales(mf.q_star, mf.chi, sigma_w2, sigma_b2, activation, iterations, order)


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _scales(q, chi, sigma_w2, sigma_b2, activation, iterations, order):
    _, dphi = derivative_pair(activation)
    q = jnp.maximum(q, 1e-30)

    def length(qq: Array) -> Array:
        return meanfield.variance_map(qq, sigma_w2, sigma_b2, activation, order=order)

    slope_q = jax.jvp(length, (q,), (jnp.ones_like(q),))[1]
    c = jax.lax.fori_loop(
        0,
        iterations,
        lambda _, c: jnp.clip(_map(c, q, sigma_w2, sigma_b2, activation), -1.0, 1.0),
        jnp.zeros_like(q),
    )
    slope_c = sigma_w2 * _pair_expectation(dphi, dphi, c, q, activation)
    return DepthScales(q, c, chi, -1.0 / jnp.log(slope_q), -1.0 / jnp.log(slope_c))
