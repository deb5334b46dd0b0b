r"""Mean-field theory of signal and gradient propagation in wide random networks.

Take a deep network :math:`z_l = W_l h_{l-1} + b_l`, :math:`h_l = \phi(z_l)` with
independent weights :math:`W_{l,ij} \sim \mathcal{N}(0, \sigma_w^2 / n)` and biases
:math:`b_{l,i} \sim \mathcal{N}(0, \sigma_b^2)`. When the width :math:`n` is large, every
pre-activation of layer :math:`l` is a Gaussian of variance :math:`q_l`, and the variance
obeys a one-dimensional recursion (the *variance map*):

.. math::

    q_l = \sigma_w^2\, \mathbb{E}_{z \sim \mathcal{N}(0, q_{l-1})}\bigl[\phi(z)^2\bigr]
          + \sigma_b^2 .

After a few layers :math:`q_l` settles at a fixed point :math:`q^*`. One step of
back-propagation, :math:`\partial L/\partial h_{l-1} = W_l^\top \operatorname{diag}
(\phi'(z_l))\, \partial L/\partial h_l`, then multiplies the squared gradient norm on
average by

.. math::

    \chi = \sigma_w^2\, \mathbb{E}_{z \sim \mathcal{N}(0, q^*)}\bigl[\phi'(z)^2\bigr],

so gradients vanish like :math:`\chi^{L/2}` in norm when :math:`\chi < 1` (the *ordered*
phase), explode when :math:`\chi > 1` (the *chaotic* phase), and survive at the boundary
:math:`\chi = 1` (criticality, "the edge of chaos"). The depth scale
:math:`\xi = -1/\log\chi` is the number of layers over which the squared norm changes by
a factor :math:`e` (negative in the chaotic phase).

Every Gaussian expectation is computed by :func:`gradcourse.quadrature.gaussian_rule`,
Gauss quadrature split at 0 and at the activation's registered kinks (half-line Gauss
rules outside, Gauss–Legendre between), in ``jax.numpy`` so that the functions
broadcast over arrays of :math:`(\sigma_w^2, \sigma_b^2)` and run under ``jit`` and
``vmap``. On each piece the activation is smooth, so the rule converges as fast as for a
polynomial: ReLU, ELU and SELU come out exact to float32 round-off (plain Gauss–Hermite
is biased by a kink, e.g. :math:`\chi_{\mathrm{SELU}}(1) = 1.064` instead of 1.0716).
``order`` is the number of nodes per pair of pieces.

:func:`fixed_point`, :func:`mean_field` and :func:`critical_sigma_w2` are jitted per
activation and evaluate concrete inputs in fixed-size blocks, so a chapter that asks for
one point, a line and a whole phase diagram compiles each routine once.

References:
    Poole et al., `Exponential expressivity in deep neural networks through transient
    chaos <https://arxiv.org/abs/1606.05340>`_, 2016;
    Schoenholz et al., `Deep Information Propagation
    <https://arxiv.org/abs/1611.01232>`_, 2017.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import in_blocks
from gradcourse.quadrature import (
    _check_order,
    gaussian_expectation,
    gaussian_rule,
)
from gradcourse.quadrature import check_non_negative as _check_non_negative
from gradcourse.registry import ActivationSpec, derivative_pair, kinks

__all__ = [
    "DEFAULT_ORDER",
    "FixedPoint",
    "variance_map",
    "variance_trajectory",
    "fixed_point",
    "chi",
    "mean_field",
    "critical_sigma_w2",
]

#: Default number of quadrature nodes per pair of pieces (64 on each side of 0).
DEFAULT_ORDER = 128
# Newton steps that polish the iterated fixed point (quadratic convergence at a simple
# root, halving at the double root q = 0 of tanh at sigma_w^2 = 1, sigma_b^2 = 0).
_NEWTON_STEPS = 30
# chi is evaluated at max(q, _Q_FLOOR): the limit q -> 0+ (float32 sqrt stays normal).
_Q_FLOOR = 1e-30


class FixedPoint(NamedTuple):
    """Result of :func:`mean_field`; every field has the broadcast shape of the inputs.

    Attributes:
        q_star: fixed point :math:`q^*` of the variance map.
        chi: :math:`\\chi = \\sigma_w^2 \\mathbb{E}[\\phi'(z)^2]` at :math:`q^*`, the mean
            factor by which one layer multiplies the squared gradient norm.
        depth_scale: :math:`\\xi = -1/\\log\\chi` layers (positive when gradients vanish,
            negative when they explode, infinite at :math:`\\chi = 1`).
    """

    q_star: Array
    chi: Array
    depth_scale: Array


def variance_map(
    q: ArrayLike,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    order: int = DEFAULT_ORDER,
) -> Array:
    r"""One layer of the variance recursion.

    .. math::

        V(q) = \sigma_w^2\, \mathbb{E}_{z \sim \mathcal{N}(0, q)}\bigl[\phi(z)^2\bigr]
               + \sigma_b^2 .

    Args:
        q: pre-activation variance of the previous layer, >= 0.
        sigma_w2: weight variance times fan-in, :math:`\sigma_w^2 \ge 0`.
        sigma_b2: bias variance :math:`\sigma_b^2 \ge 0`.
        activation: registry name or a pair ``(phi, phi_prime)``.
        order: number of quadrature nodes.

    Returns:
        :math:`V(q)`, broadcast over the three array arguments.

    Raises:
        ValueError: for a negative variance, an unknown activation or a bad ``order``.

    References:
        Poole et al., `Exponential expressivity in deep neural networks through
        transient chaos <https://arxiv.org/abs/1606.05340>`_, 2016 (eq. 3).

    Examples:
        >>> round(float(variance_map(1.0, 2.0, 0.0, (jax.nn.relu, lambda z: (z > 0) * 1.0))), 4)
        1.0
    """
    phi, _ = derivative_pair(activation)
    _check_non_negative("sigma_w2", sigma_w2)
    _check_non_negative("sigma_b2", sigma_b2)
    second_moment = gaussian_expectation(
        lambda z: phi(z) ** 2, q, order=order, breakpoints=kinks(activation)
    )
    return sigma_w2 * second_moment + sigma_b2


def variance_trajectory(
    q0: ArrayLike,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    depth: int,
    order: int = DEFAULT_ORDER,
) -> Array:
    r"""The variances :math:`q_1, \dots, q_L` reached from :math:`q_0` (scanned).

    :math:`q_0` is the input's mean squared entry :math:`\lVert x\rVert^2 / n_0` *before*
    the first layer, so :math:`q_1 = \sigma_w^2 q_0 + \sigma_b^2` (the input is not passed
    through :math:`\phi`); then :math:`q_{l} = V(q_{l-1})`.

    Args:
        q0: :math:`\lVert x\rVert^2 / n_0`, >= 0.
        sigma_w2, sigma_b2: variances as in :func:`variance_map`.
        activation: registry name or a pair ``(phi, phi_prime)``.
        depth: number of layers :math:`L` >= 1.
        order: number of quadrature nodes.

    Returns:
        ``(depth, *broadcast_shape)`` array of :math:`q_l`.

    Raises:
        ValueError: for a negative variance, a bad ``depth`` or ``order``.
    """
    _checks.positive_int("depth", depth)
    _check_non_negative("q0", q0)
    derivative_pair(activation)
    _check_non_negative("sigma_w2", sigma_w2)
    _check_non_negative("sigma_b2", sigma_b2)
    q1 = jnp.asarray(sigma_w2 * jnp.asarray(q0, jnp.float32) + sigma_b2, jnp.float32)
    q1 = jnp.broadcast_to(q1, jnp.broadcast_shapes(q1.shape, jnp.shape(sigma_b2)))

    def step(q: Array, _: None) -> tuple[Array, Array]:
        q_next = variance_map(q, sigma_w2, sigma_b2, activation, order=order)
        return q_next, q_next

    _, rest = jax.lax.scan(step, q1, None, length=depth - 1)
    return jnp.concatenate([q1[None], rest])


def _check_recursion(
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec,
    iterations: int,
    order: int,
) -> None:
    """The arguments of :func:`fixed_point` and :func:`mean_field`, checked."""
    _checks.positive_int("iterations", iterations)
    derivative_pair(activation)
    _check_non_negative("sigma_w2", sigma_w2)
    _check_non_negative("sigma_b2", sigma_b2)
    _check_order(order)


def _on_grid(fn: Callable[..., Any], sigma_w2: ArrayLike, sigma_b2: ArrayLike, *static):
    """``fn(sigma_w2, sigma_b2, *static)`` broadcast over the variances, in blocks."""
    return in_blocks(lambda sw2, sb2: fn(sw2, sb2, *static), sigma_w2, sigma_b2)


def fixed_point(
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    q0: float = 1.0,
    iterations: int = 200,
    order: int = DEFAULT_ORDER,
) -> Array:
    r"""The variance :math:`q^*` that a deep network settles at, by iterating the map.

    .. math::

        q^* = \lim_{l \to \infty} V^{\circ l}(q_0), \qquad q^* = V(q^*).

    Iterating (rather than root-finding) returns the *stable* fixed point that a real
    network reaches layer after layer; with tanh at :math:`\sigma_b^2 = 0` and
    :math:`\sigma_w^2 > 1` that is the positive one, not the unstable :math:`q = 0`.
    Convergence is geometric except next to :math:`(\sigma_w^2, \sigma_b^2) = (1, 0)`
    for tanh, where :math:`q_l \approx 1 / l` decays slowly. For an unbounded activation
    whose map has no fixed point (ReLU with :math:`\sigma_w^2 > 2`) the result is
    ``inf`` (and :func:`mean_field` still returns the right :math:`\chi`).

    Args:
        sigma_w2, sigma_b2: variances as in :func:`variance_map` (broadcast).
        activation: registry name or a pair ``(phi, phi_prime)``.
        q0: starting variance, > 0.
        iterations: number of map applications, >= 1.
        order: number of quadrature nodes.

    Returns:
        :math:`q^*` with the broadcast shape of ``sigma_w2`` and ``sigma_b2``.

    Raises:
        ValueError: for negative variances, a bad ``q0``, ``iterations`` or ``order``.

    Examples:
        >>> round(float(fixed_point(0.5, 0.0)), 6)  # tanh, ordered phase: q* = 0
        0.0
    """
    _checks.positive("q0", q0)
    _check_recursion(sigma_w2, sigma_b2, activation, iterations, order)
    return _on_grid(_fixed_point, sigma_w2, sigma_b2, activation, q0, iterations, order)


@functools.partial(jax.jit, static_argnums=(2, 4, 5))
def _fixed_point(
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec,
    q0: float,
    iterations: int,
    order: int,
) -> Array:
    shape = jnp.broadcast_shapes(jnp.shape(sigma_w2), jnp.shape(sigma_b2))
    q_init = jnp.full(shape, q0, jnp.float32)

    def excess(q: Array) -> Array:
        return variance_map(q, sigma_w2, sigma_b2, activation, order=order) - q

    def iterate(_: int, q: Array) -> Array:
        return variance_map(q, sigma_w2, sigma_b2, activation, order=order)

    def newton(_: int, q: Array) -> Array:
        # Polish towards the stable root (V'(q) < 1, so d excess / dq < 0); keep the
        # iterate where the step is undefined (q = 0, a flat map) or leaves q >= 0.
        g, dg = jax.jvp(excess, (q,), (jnp.ones_like(q),))
        q_new = q - g / dg
        ok = jnp.isfinite(q_new) & (q_new >= 0) & (dg < 0)
        return jnp.where(ok, q_new, q)

    q = jax.lax.fori_loop(0, iterations, iterate, q_init)
    return jax.lax.fori_loop(0, _NEWTON_STEPS, newton, q)


def chi(
    q: ArrayLike,
    sigma_w2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    order: int = DEFAULT_ORDER,
) -> Array:
    r"""Mean factor by which one layer multiplies the squared gradient norm.

    .. math::

        \chi(q) = \sigma_w^2\, \mathbb{E}_{z \sim \mathcal{N}(0, q)}
                  \bigl[\phi'(z)^2\bigr]
        = \frac{\mathbb{E}\,\lVert W^\top \operatorname{diag}(\phi'(z))\, g\rVert^2}
               {\lVert g \rVert^2}

    for a fixed back-propagated vector :math:`g` and a fresh Gaussian :math:`W` (the
    "gradient independence" assumption of the mean-field papers). It is also
    :math:`\frac1n \mathbb{E} \operatorname{tr}(J^\top J)` for the layer Jacobian
    :math:`J = \operatorname{diag}(\phi'(z)) W`.

    At :math:`q = 0` the limit :math:`q \to 0^+` is returned, so ReLU gives
    :math:`\sigma_w^2 / 2` there (half the units active), not
    :math:`\sigma_w^2\,\mathrm{relu}'(0)^2 = 0`.

    Args:
        q: pre-activation variance, >= 0 (usually :math:`q^*`).
        sigma_w2: :math:`\sigma_w^2 \ge 0`.
        activation: registry name or a pair ``(phi, phi_prime)``.
        order: number of quadrature nodes.

    Returns:
        :math:`\chi`, broadcast over ``q`` and ``sigma_w2``.

    Raises:
        ValueError: for negative arguments, an unknown activation or a bad ``order``.

    References:
        Schoenholz et al., `Deep Information Propagation
        <https://arxiv.org/abs/1611.01232>`_, 2017 (:math:`\chi_1`, eq. 9).

    Examples:
        >>> round(float(chi(0.0, 1.0, "tanh")), 6)  # tanh'(0) = 1
        1.0
    """
    derivative_pair(activation)
    _check_non_negative("sigma_w2", sigma_w2)
    _check_non_negative("q", q)
    _check_order(order)
    return _chi(q, sigma_w2, activation, order)


def _chi(q: ArrayLike, sigma_w2: ArrayLike, activation: ActivationSpec, order: int):
    _, dphi = derivative_pair(activation)
    # q -> 0+ limit: a kinked phi (ReLU) gets its one-sided slopes, not phi'(0).
    q = jnp.maximum(jnp.asarray(q, jnp.float32), _Q_FLOOR)
    z, w = gaussian_rule(q, order=order, breakpoints=kinks(activation))
    return sigma_w2 * jnp.sum(w * dphi(z) ** 2, axis=-1)


def mean_field(
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    iterations: int = 200,
    order: int = DEFAULT_ORDER,
) -> FixedPoint:
    r"""Fixed point :math:`q^*`, slope :math:`\chi` and depth scale :math:`\xi` together.

    .. math::

        q^* = V(q^*), \qquad \chi = \sigma_w^2 \mathbb{E}_{\mathcal{N}(0, q^*)}
        [\phi'(z)^2], \qquad \xi = -\frac{1}{\log \chi}.

    Broadcasts over arrays of ``sigma_w2`` and ``sigma_b2``, so a whole phase diagram
    is one call.

    Args:
        sigma_w2, sigma_b2: variances (>= 0), broadcast together.
        activation: registry name or a pair ``(phi, phi_prime)``.
        iterations: fixed-point iterations, see :func:`fixed_point`.
        order: number of quadrature nodes.

    Returns:
        A :class:`FixedPoint`.

    Raises:
        ValueError: as :func:`fixed_point`.

    References:
        Schoenholz et al., `Deep Information Propagation
        <https://arxiv.org/abs/1611.01232>`_, 2017.

    Examples:
        >>> mf = mean_field(2.0, 0.0, (jax.nn.relu, lambda z: (z > 0) * 1.0))
        >>> round(float(mf.chi), 4)  # He initialisation is critical for ReLU
        1.0
    """
    _check_recursion(sigma_w2, sigma_b2, activation, iterations, order)
    return _on_grid(_mean_field, sigma_w2, sigma_b2, activation, iterations, order)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _mean_field(
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    activation: ActivationSpec,
    iterations: int,
    order: int,
) -> FixedPoint:
    # One program for q*, chi and xi (eagerly, chi's quadrature would compile op by op).
    q_star = _fixed_point(sigma_w2, sigma_b2, activation, 1.0, iterations, order)
    c = _chi(q_star, sigma_w2, activation, order)
    return FixedPoint(q_star, c, -1.0 / jnp.log(c))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _bisect(
    sigma_b2: Array,
    activation: ActivationSpec,
    low: float,
    high: float,
    steps: int,
    iterations: int,
    order: int,
) -> Array:
    def excess(sw2: Array) -> Array:
        q_star = _fixed_point(sw2, sigma_b2, activation, 1.0, iterations, order)
        return _chi(q_star, sw2, activation, order) - 1.0

    lo = jnp.full(sigma_b2.shape, low, jnp.float32)
    hi = jnp.full(sigma_b2.shape, high, jnp.float32)
    bracketed = (excess(lo) < 0) & (excess(hi) > 0)

    def body(_: int, bounds: tuple[Array, Array]) -> tuple[Array, Array]:
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = excess(mid) < 0
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, steps, body, (lo, hi))
    return jnp.where(bracketed, 0.5 * (lo + hi), jnp.nan)


def critical_sigma_w2(
    sigma_b2: ArrayLike,
    activation: ActivationSpec = "tanh",
    *,
    bracket: tuple[float, float] = (0.0, 20.0),
    steps: int = 40,
    iterations: int = 200,
    order: int = DEFAULT_ORDER,
) -> Array:
    r"""The order-to-chaos boundary: the :math:`\sigma_w^2` at which :math:`\chi = 1`.

    Solves :math:`\chi\bigl(q^*(\sigma_w^2, \sigma_b^2), \sigma_w^2\bigr) = 1` for
    :math:`\sigma_w^2` by bisection on ``bracket``, elementwise over ``sigma_b2``.
    It assumes, as holds for tanh, that :math:`\chi` crosses 1 once on the bracket
    (below: ordered, gradients vanish; above: chaotic, gradients explode). Where
    :math:`\chi - 1` has the same sign at both ends the result is ``nan``.

    Args:
        sigma_b2: bias variance(s) >= 0, any shape.
        activation: registry name or a pair ``(phi, phi_prime)``.
        bracket: ``(low, high)``, the interval searched, ``0 <= low < high``.
        steps: bisection steps, >= 1 (the bracket shrinks by :math:`2^{-\text{steps}}`).
        iterations: fixed-point iterations per evaluation.
        order: number of quadrature nodes.

    Returns:
        :math:`\sigma_w^2` on the boundary, shape of ``sigma_b2``.

    Raises:
        ValueError: for a negative ``sigma_b2``, a bad bracket, ``steps``,
            ``iterations`` or ``order``.

    References:
        Poole et al., 2016; Schoenholz et al., `Deep Information Propagation
        <https://arxiv.org/abs/1611.01232>`_, 2017 (Fig. 1).

    Examples:
        >>> round(float(critical_sigma_w2(0.0)), 2)  # tanh without bias: sigma_w^2 = 1
        1.0
    """
    _check_non_negative("sigma_b2", sigma_b2)
    if not isinstance(bracket, tuple | list) or len(bracket) != 2:
        raise ValueError(f"bracket must be a pair (low, high), got {bracket!r}")
    low, high = bracket
    _checks.non_negative("bracket[0]", low)
    if not _checks._is_real(high) or not low < float(high) < np.inf:
        raise ValueError(
            f"bracket[1] must be a finite number > bracket[0] = {low}, got {high!r}"
        )
    _checks.positive_int("steps", steps)
    _checks.positive_int("iterations", iterations)
    _check_order(order)
    derivative_pair(activation)

    def block(sb2: Array) -> Array:
        return _bisect(jnp.asarray(sb2, jnp.float32), activation, float(low),
                       float(high), steps, iterations, order)  # fmt: skip

    return in_blocks(block, sigma_b2)
