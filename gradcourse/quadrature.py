r"""Gaussian expectations by quadrature, exact across kinks.

Every mean-field quantity is an expectation :math:`\mathbb{E}_{z \sim \mathcal N(0, q)}
[f(z)]`. Gauss–Hermite quadrature with :math:`m` nodes is exact when :math:`f` is a
polynomial of degree below :math:`2m`, but it converges slowly when :math:`f` has a kink
or a jump: Gauss–Hermite with 128 nodes gives :math:`\mathbb E[\mathrm{relu}(z)] =
0.4002` instead of :math:`1/\sqrt{2\pi} = 0.3989`. Activations and their derivatives are
smooth *between* a few break points (ReLU at 0, hard swish at :math:`\pm 3`), so
:func:`gaussian_rule` splits the real line there: a Gauss rule for the half-Gaussian
weight on each outer half-line and a Gauss–Legendre rule on each finite piece. Each
piece is then smooth and the rule converges as fast as for a polynomial.

Both Gauss rules come from their three-term recurrence (the Golub–Welsch method): the
nodes are the eigenvalues of the Jacobi matrix, in float64, and the weights are the
Christoffel numbers :math:`w_i = 1 / \sum_k \hat p_k(x_i)^2`, summed with running
rescaling so that weights as small as :math:`10^{-300}` come out to full relative
precision (NumPy's ``hermegauss`` overflows and returns zero weights from order 371).
The half-Gaussian recurrence has no closed form; it is computed once by the Lanczos
process on a fine discretisation of the weight (Gautschi's discretised Stieltjes
procedure).

References:
    Golub & Welsch, `Calculation of Gauss quadrature rules
    <https://doi.org/10.1090/S0025-5718-69-99647-1>`_, 1969;
    Gautschi, `Orthogonal Polynomials: Computation and Approximation
    <https://doi.org/10.1093/oso/9780198506720.001.0001>`_, 2004 (§2.2).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks

__all__ = [
    "MAX_ORDER",
    "gauss_hermite",
    "half_gauss_hermite",
    "gaussian_rule",
    "gaussian_expectation",
]

#: Largest accepted number of nodes.
MAX_ORDER = 512
# Pieces between break points reach at most this far (in standard deviations): beyond
# it the Gaussian mass, 2e-32, is below float32 resolution of any expectation.
_REACH = 12.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def check_non_negative(name: str, value: ArrayLike) -> None:
    """Reject negative or non-finite values; skipped for tracers (inside jit/vmap)."""
    if isinstance(value, jax.core.Tracer):
        return
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")


def _check_order(order: object) -> int:
    _checks.positive_int("order", order)
    if not 2 <= order <= MAX_ORDER:  # type: ignore[operator]
        raise ValueError(f"order must be an integer in [2, {MAX_ORDER}], got {order!r}")
    return order  # type: ignore[return-value]


def _gauss_from_recurrence(
    a: np.ndarray, b: np.ndarray, mass: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule from the orthonormal three-term recurrence.

    ``b[k+1] p_{k+1} = (x - a[k]) p_k - b[k] p_{k-1}``, ``p_0 = 1 / sqrt(mass)``.

    ``a`` has ``m`` entries, ``b`` has ``m`` (``b[0]`` unused). Nodes: eigenvalues of the
    Jacobi matrix; weights: ``1 / sum_k p_k(x)^2`` accumulated in log space.
    """
    m = len(a)
    jacobi = np.diag(a) + np.diag(b[1:m], 1) + np.diag(b[1:m], -1)
    x = np.linalg.eigvalsh(jacobi)
    prev, cur = np.zeros_like(x), np.full_like(x, 1.0 / math.sqrt(mass))
    total, log_scale = cur**2, np.zeros_like(x)
    for k in range(m - 1):
        prev, cur = cur, ((x - a[k]) * cur - b[k] * prev) / b[k + 1]
        total = total + cur**2
        big = np.maximum(np.abs(cur), 1.0)  # rescale so that nothing overflows
        prev, cur, total = prev / big, cur / big, total / big**2
        log_scale += 2.0 * np.log(big)
    return x, np.exp(-np.log(total) - log_scale)


# Float64 nodes, weights and recurrence coefficients: pure numerical constants (no jit
# identity depends on them), computed once per (family, size) because the half-line
# recurrence costs about a second at size 512.
_CONSTANTS: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}


def _constant(
    family: str, size: int, compute: Callable[[int], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    if (family, size) not in _CONSTANTS:
        _CONSTANTS[family, size] = compute(size)
    return _CONSTANTS[family, size]


def _hermite64(order: int) -> tuple[np.ndarray, np.ndarray]:
    return _constant("hermite", order, _hermite_rule)


def _hermite_rule(order: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros(order)
    b = np.sqrt(np.arange(order, dtype=np.float64))  # He_{k+1} = x He_k - k He_{k-1}
    return _gauss_from_recurrence(a, b, 1.0)


def _half_recurrence(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Recurrence of the weight ``phi(s)`` on ``[0, inf)``, ``n`` terms (a power of 2)."""
    return _constant("half-recurrence", n, _lanczos_half)


def _lanczos_half(n: int) -> tuple[np.ndarray, np.ndarray]:
    reach = math.sqrt(4.0 * n) + 14.0  # beyond the largest node, sqrt(4 n)
    t, lam = np.polynomial.legendre.leggauss(max(4 * n, 400))
    s = 0.5 * reach * (t + 1.0)
    weight = 0.5 * reach * lam * np.exp(-0.5 * s**2) / math.sqrt(2.0 * math.pi)
    basis = np.zeros((n + 1, s.size))  # rows: orthonormal polynomials at the points
    basis[0] = np.sqrt(weight / weight.sum())
    a, b = np.zeros(n), np.zeros(n + 1)
    for k in range(n):  # Lanczos on diag(s), fully re-orthogonalised
        r = s * basis[k]
        a[k] = basis[k] @ r
        r -= a[k] * basis[k] + (b[k] * basis[k - 1] if k else 0.0)
        for _ in range(2):
            r -= (basis[: k + 1] @ r) @ basis[: k + 1]
        b[k + 1] = np.linalg.norm(r)
        basis[k + 1] = r / b[k + 1]
    return a, b


def _half64(order: int) -> tuple[np.ndarray, np.ndarray]:
    return _constant("half", order, _half_rule)


def _half_rule(order: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = _half_recurrence(1 << (order - 1).bit_length())  # same terms for any n
    return _gauss_from_recurrence(a[:order], b[: order + 1], 0.5)


def _float32(x: np.ndarray, w: np.ndarray) -> tuple[Array, Array]:
    # Drop the nodes whose weights underflow float32 (they would add 0 * inf = nan
    # where f blows up, e.g. ReLU at q = inf).
    keep = w > np.finfo(np.float32).tiny
    return jnp.asarray(x[keep], jnp.float32), jnp.asarray(w[keep], jnp.float32)


def gauss_hermite(order: int = 128) -> tuple[Array, Array]:
    r"""Gauss–Hermite nodes and weights for expectations over a standard Gaussian.

    .. math::

        \mathbb{E}_{u \sim \mathcal{N}(0, 1)}[f(u)] \approx \sum_{i=1}^{m} w_i f(u_i),
        \qquad \sum_i w_i = 1,

    exact when :math:`f` is a polynomial of degree below :math:`2m` (probabilists'
    nodes, weights divided by :math:`\sqrt{2\pi}`), computed by Golub–Welsch in float64.

    Args:
        order: number of nodes :math:`m`, an integer in [2, 512].

    Returns:
        ``(nodes, weights)``, float32, sorted by node: all ``order`` of them except the
        outermost nodes whose weights underflow float32 (below about :math:`10^{-38}`;
        from order 26 on).

    Raises:
        ValueError: if ``order`` is out of range.

    References:
        Golub & Welsch, `Calculation of Gauss quadrature rules
        <https://doi.org/10.1090/S0025-5718-69-99647-1>`_, 1969.

    Examples:
        >>> u, w = gauss_hermite(512)
        >>> round(float(jnp.sum(w * u**2)), 5)
        1.0
    """
    return _float32(*_hermite64(_check_order(order)))


def half_gauss_hermite(order: int = 64) -> tuple[Array, Array]:
    r"""Gauss rule for the Gaussian density on the half-line :math:`[0, \infty)`.

    .. math::

        \int_0^\infty f(s)\, \frac{e^{-s^2/2}}{\sqrt{2\pi}}\, ds
        \approx \sum_{i=1}^{m} v_i f(s_i), \qquad \sum_i v_i = \tfrac12,

    exact for polynomials of degree below :math:`2m`.

    Args:
        order: number of nodes :math:`m`, an integer in [1, 256].

    Returns:
        ``(nodes, weights)``, float32 (underflowing weights dropped).

    Raises:
        ValueError: if ``order`` is out of range.

    Examples:
        >>> s, v = half_gauss_hermite(8)
        >>> round(float(jnp.sum(v * s)), 6)  # E[z; z > 0] = 1/sqrt(2 pi)
        0.398942
    """
    _checks.positive_int("order", order)
    if order > MAX_ORDER // 2:
        raise ValueError(
            f"order must be an integer in [1, {MAX_ORDER // 2}], got {order}"
        )
    return _float32(*_half64(order))


def gaussian_rule(
    q: ArrayLike, *, order: int = 128, breakpoints: Sequence[float] = ()
) -> tuple[Array, Array]:
    r"""Nodes and weights for :math:`\mathbb{E}_{z \sim \mathcal N(0, q)}[f(z)]`, split at kinks.

    The line is cut at 0 and at every break point :math:`k`, at :math:`u = k/\sqrt q`
    in standard units (clipped to :math:`\pm 12`). The two outer half-lines
    :math:`[c, \infty)` use :func:`half_gauss_hermite` shifted to :math:`c`, with the
    tilt :math:`\varphi(c + s) = \varphi(s)\, e^{-cs - c^2/2}`; each finite piece
    :math:`[a, b]` uses Gauss–Legendre. Every piece has ``order // 2`` nodes, so with no
    break point but 0 the rule has ``order`` nodes and is exact for functions that are
    polynomials of degree below ``order`` on each side of 0, kinks and jumps included
    (Gauss nodes are interior, so the value *at* a break point never matters).

    Args:
        q: variance(s) >= 0, any shape (traced values are fine).
        order: nodes per pair of pieces, an even-or-odd integer in [2, 512].
        breakpoints: points (in :math:`z`) where :math:`f` or its derivative jumps; 0
            is always included.

    Returns:
        ``(z, w)``, each of shape ``(*q.shape, M)``: nodes in :math:`z` and weights that
        sum to one.

    Raises:
        ValueError: for a bad ``order`` or non-finite break points.

    Examples:
        >>> z, w = gaussian_rule(1.0, order=16)
        >>> round(float(jnp.sum(w * jnp.maximum(z, 0.0))), 6)  # 1/sqrt(2 pi)
        0.398942
    """
    _check_order(order)
    cuts = tuple(sorted({0.0, *(float(k) for k in breakpoints)}))
    if not all(math.isfinite(k) for k in cuts):
        raise ValueError(f"breakpoints must be finite, got {breakpoints!r}")
    return _rule(q, order, cuts)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _rule(q: ArrayLike, order: int, cuts: tuple[float, ...]) -> tuple[Array, Array]:
    q = jnp.asarray(q, jnp.float32)
    inv_sd = 1.0 / jnp.sqrt(jnp.maximum(q, 1e-30))
    u, w = pieces_rule(jnp.stack([k * inv_sd for k in cuts], -1), max(order // 2, 1))
    q = q[..., None]
    # A node whose weight is 0 (underflow, or an empty piece at q = inf) sits at z = 0,
    # so that 0 * f(z) cannot turn into 0 * inf = nan.
    return jnp.where(w > 0, jnp.sqrt(q) * u, 0.0), w


def pieces_rule(cuts: Array, half: int) -> tuple[Array, Array]:
    """Standard-normal rule split at ``cuts`` (``(..., K)`` in standard units, traced).

    The cuts are sorted and clipped to ``±12``; they must include 0 somewhere so that
    both outer tilts decay. Outer half-lines: :func:`half_gauss_hermite` with ``half``
    nodes, tilted; finite pieces: Gauss–Legendre with ``half`` nodes. Returns ``(u,
    w)``, each ``(..., (K + 1) * half)`` (less the underflowing half-line nodes).
    """
    c = jnp.clip(jnp.sort(cuts, axis=-1), -_REACH, _REACH)[..., None]  # (..., K, 1)
    s, v = _float32(*_half64(half))
    t, lam = (
        jnp.asarray(a, jnp.float32) for a in np.polynomial.legendre.leggauss(half)
    )
    lo, hi = c[..., 0, :], c[..., -1, :]
    a, b = c[..., :-1, :], c[..., 1:, :]
    mid = 0.5 * (a + b) + 0.5 * (b - a) * t  # (..., K - 1, half)
    mid_w = 0.5 * (b - a) * lam * jnp.exp(-0.5 * mid**2) / _SQRT_2PI
    lead = mid.shape[:-2]
    u = jnp.concatenate([lo - s, hi + s, mid.reshape(*lead, -1)], -1)
    w = jnp.concatenate(
        [
            v * jnp.exp(lo * s - 0.5 * lo**2),
            v * jnp.exp(-hi * s - 0.5 * hi**2),
            mid_w.reshape(*lead, -1),
        ],
        -1,
    )
    return u, w


def gaussian_expectation(
    f: Callable[[ArrayLike], Array],
    q: ArrayLike,
    *,
    order: int = 128,
    breakpoints: Sequence[float] = (),
) -> Array:
    r""":math:`\mathbb{E}_{z \sim \mathcal{N}(0, q)}[f(z)]` by :func:`gaussian_rule`.

    .. math::

        \mathbb{E}[f(z)] \approx \sum_i w_i\, f(z_i).

    Args:
        f: elementwise function.
        q: variance(s) >= 0, any shape.
        order: nodes per pair of pieces, see :func:`gaussian_rule`.
        breakpoints: kinks or jumps of ``f`` besides 0.

    Returns:
        The expectation, with the shape of ``q``.

    Raises:
        ValueError: if ``f`` is not callable, ``q`` is negative, or ``order`` is out of
            range.

    Examples:
        >>> round(float(gaussian_expectation(lambda z: z**4, 2.0)), 4)  # 3 q^2
        12.0
    """
    if not callable(f):
        raise ValueError(f"f must be callable, got {f!r}")
    check_non_negative("q", q)
    z, w = gaussian_rule(q, order=order, breakpoints=breakpoints)
    return jnp.sum(w * f(z), axis=-1)
