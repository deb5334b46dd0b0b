r"""Products of random matrices: growth rates, Lyapunov spectra and matrix powers.

A deep network's gradient is a long product of layer Jacobians
(:mod:`gradcourse.jacobians`). This module studies the prototype, a product
:math:`W_L \cdots W_1` of independent random matrices, without ever forming it: a
product of 48 Gaussian ``64 x 64`` matrices already has singular values 35 decades apart,
far beyond float32 (7 decades) and float64 (16). Every routine therefore renormalises as
it goes and works with logarithms:

- :func:`chain_log_norms` follows one vector, :math:`\log\lVert W_l \cdots W_1 u\rVert`;
- :func:`lyapunov_spectrum` follows a whole orthonormal frame by repeated QR
  (Benettin et al.), :math:`W_l Q_{l-1} = Q_l R_l`, and sums :math:`\log|(R_l)_{ii}|`:
  the logs of the diagonal of :math:`R` in :math:`W_L \cdots W_1 = Q_L R_L \cdots
  R_1`. Divided by :math:`L` they converge to the Lyapunov exponents, which are the
  limits of :math:`\frac1L \log s_i(W_L \cdots W_1)` (Oseledets), so for long products
  they are the log singular values to within :math:`O(1)` out of :math:`O(L)`;
- :func:`gaussian_lyapunov` gives their exact mean per layer for Gaussian matrices, and
  :func:`gaussian_log_growth` the mean and variance of the top one;
- :func:`log_power_norms` gives :math:`\log\lVert A^k\rVert_2` for a single matrix.

References:
    Furstenberg & Kesten, `Products of random matrices
    <https://doi.org/10.1214/aoms/1177705909>`_, 1960;
    Benettin, Galgani, Giorgilli & Strelcyn, `Lyapunov characteristic exponents for smooth
    dynamical systems <https://doi.org/10.1007/BF02128236>`_, 1980;
    Newman, `The distribution of Lyapunov exponents: exact results for random matrices
    <https://doi.org/10.1007/BF01210702>`_, 1986.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, initializers

__all__ = [
    "WEIGHTS",
    "random_chain",
    "chain_log_norms",
    "gaussian_log_growth",
    "lyapunov_spectrum",
    "gaussian_lyapunov",
    "log_power_norms",
    "power_norms",
    "spectral_radius",
]

#: The random-matrix ensembles, i.i.d. Gaussian or Haar-orthogonal.
WEIGHTS = ("gaussian", "orthogonal")


def random_chain(
    key: Array, n: int, depth: int, *, kind: str = "gaussian", sigma: float = 1.0
) -> Array:
    r"""A stack of independent random ``n x n`` matrices :math:`W_1, \dots, W_L`.

    ``"gaussian"``: :math:`W_{ij} \sim \mathcal{N}(0, \sigma^2 / n)`, so
    :math:`\mathbb{E}\lVert W u\rVert^2 = \sigma^2 \lVert u \rVert^2`.
    ``"orthogonal"``: :math:`W = \sigma Q` with :math:`Q` Haar-distributed on
    :math:`O(n)` (:func:`jax.random.orthogonal`), so every singular value is
    :math:`\sigma`.

    Args:
        key: PRNG key.
        n: matrix size, >= 1.
        depth: number of matrices, >= 1.
        kind: one of :data:`WEIGHTS`.
        sigma: scale :math:`\sigma > 0`.

    Returns:
        ``(depth, n, n)`` float32 array.

    Raises:
        ValueError: for a bad ``n``, ``depth``, ``kind`` or ``sigma``.

    Examples:
        >>> random_chain(jax.random.key(0), 4, 3, kind="orthogonal").shape
        (3, 4, 4)
    """
    _checks.positive_int("n", n)
    _checks.positive_int("depth", depth)
    _checks.one_of("kind", kind, WEIGHTS)
    _checks.positive("sigma", sigma)
    return _random_chain(key, sigma, n, depth, kind)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _random_chain(key: Array, sigma: ArrayLike, n: int, depth: int, kind: str) -> Array:
    if kind == "gaussian":
        (eps,) = initializers.normal_blocks(key, [(n, n)], batch=(depth,))
        return sigma / jnp.sqrt(n) * eps
    return sigma * initializers.haar_stack(key, n, depth)


def chain_log_norms(mats: ArrayLike, u: ArrayLike) -> Array:
    r"""Log-norms :math:`\log \lVert W_l \cdots W_1 u \rVert` for :math:`l = 1..L`.

    Scanned with renormalisation: the vector is divided by its norm after each factor
    and the logs of the norms are summed, so depth 10,000 neither overflows nor
    underflows in float32.

    Args:
        mats: ``(depth, n, n)`` stack, applied first to last.
        u: starting vector ``(n,)``, nonzero (its own norm is included).

    Returns:
        ``(depth,)`` cumulative log-norms.

    Raises:
        ValueError: for mismatched shapes.

    References:
        Furstenberg & Kesten, `Products of random matrices
        <https://doi.org/10.1214/aoms/1177705909>`_, 1960.
    """
    mats, u = jnp.asarray(mats), jnp.asarray(u)
    _checks.ndim("mats", mats, 3)
    if mats.shape[1] != mats.shape[2] or u.shape != (mats.shape[1],):
        raise ValueError(
            f"mats must be (depth, n, n) and u (n,), got {mats.shape} and {u.shape}"
        )
    return _chain_log_norms(mats, u)


@jax.jit
def _chain_log_norms(mats: Array, u: Array) -> Array:
    norm0 = jnp.linalg.norm(u)

    def step(carry: tuple[Array, Array], w: Array) -> tuple[tuple[Array, Array], Array]:
        v, log_norm = carry
        v = w @ v
        size = jnp.linalg.norm(v)
        log_norm = log_norm + jnp.log(size)
        return (v / size, log_norm), log_norm

    _, logs = jax.lax.scan(step, (u / norm0, jnp.log(norm0)), mats)
    return logs


def gaussian_log_growth(n: int, sigma: float = 1.0) -> tuple[float, float]:
    r"""Exact mean and variance, per layer, of :math:`\log\lVert W_L \cdots W_1 u\rVert`.

    For :math:`W_{ij} \sim \mathcal{N}(0, \sigma^2/n)` and any fixed :math:`v`,
    :math:`\lVert W v\rVert^2 / \lVert v\rVert^2 = \frac{\sigma^2}{n} X` with
    :math:`X \sim \chi^2_n`, independent of the direction :math:`Wv/\lVert Wv\rVert`
    (rotation invariance). So the log-norm is a sum of :math:`L` i.i.d. terms
    :math:`\tfrac12 \log(\sigma^2 X / n)`, with

    .. math::

        \mu = \tfrac12\Bigl[\log\sigma^2 + \psi\bigl(\tfrac n2\bigr)
              - \log\tfrac n2\Bigr] \approx \log\sigma - \frac{1}{2n},
        \qquad
        s^2 = \tfrac14\, \psi'\bigl(\tfrac n2\bigr) \approx \frac{1}{2n},

    (:math:`\psi` the digamma function, from :math:`\mathbb{E}\log\chi^2_n =
    \psi(n/2) + \log 2`, :math:`\operatorname{Var}\log\chi^2_n = \psi'(n/2)`). The
    log-norm after :math:`L` layers has mean :math:`L\mu` and variance :math:`L s^2`,
    and is Gaussian for large :math:`L`; :math:`\mu` is the top Lyapunov exponent of the
    product (Furstenberg–Kesten).

    Args:
        n: matrix size, >= 1.
        sigma: scale, > 0.

    Returns:
        ``(mu, s2)`` as Python floats.

    Raises:
        ValueError: for a bad ``n`` or ``sigma``.

    References:
        Furstenberg & Kesten, 1960; Newman, `The distribution of Lyapunov exponents:
        exact results for random matrices <https://doi.org/10.1007/BF01210702>`_, 1986.

    Examples:
        >>> mu, s2 = gaussian_log_growth(256)
        >>> round(mu, 5), round(s2, 5)  # ~ -1/(2n), 1/(2n)
        (-0.00196, 0.00196)
    """
    _checks.positive_int("n", n)
    _checks.positive("sigma", sigma)
    mu, s2 = _log_growth(jnp.float32(n / 2.0), jnp.float32(sigma))
    return float(mu), float(s2)


@jax.jit
def _log_growth(half: Array, sigma: Array) -> tuple[Array, Array]:
    # One program for every n and sigma (eagerly, each special function compiles alone).
    mu = 0.5 * (2.0 * jnp.log(sigma) + jax.scipy.special.digamma(half) - jnp.log(half))
    return mu, 0.25 * jax.scipy.special.polygamma(1, half)


def log_power_norms(a: ArrayLike, k_max: int) -> Array:
    r"""Natural logs :math:`\log\lVert A^k \rVert_2` for :math:`k = 0, 1, \dots, k_{\max}`.

    The power is renormalised after every step, :math:`P_k = A P_{k-1} / \lVert A
    P_{k-1}\rVert_2`, and the logs of the norms are summed, so no power of any size
    overflows or underflows (a float32 :math:`A^k` of the matrix in the example reaches
    ``inf`` at :math:`k = 102`).

    For any square :math:`A`, :math:`\rho(A)^k \le \lVert A^k\rVert_2 \le
    \lVert A \rVert_2^k` and :math:`\lVert A^k\rVert_2^{1/k} \to \rho(A)` (Gelfand), so
    the eigenvalues decide the long run; for a non-normal :math:`A` the norm can first
    grow by a large factor even when every eigenvalue is below 1 in modulus.

    Args:
        a: square matrix ``(n, n)``, finite.
        k_max: largest power, >= 1.

    Returns:
        ``(k_max + 1,)`` float32 array, starting with :math:`\log\lVert I\rVert_2 = 0`.

    Raises:
        ValueError: if ``a`` is not square or not finite, or ``k_max`` < 1.

    References:
        Trefethen & Embree, `Spectra and Pseudospectra: The Behavior of Nonnormal
        Matrices and Operators <https://press.princeton.edu/books/hardcover/
        9780691119465/spectra-and-pseudospectra>`_, 2005.

    Examples:
        >>> a = jnp.array([[0.5, 4.0], [0.0, 0.5]])  # eigenvalues 0.5, 0.5
        >>> round(float(log_power_norms(a, 400)[-1]), 1)  # ||A^400|| = 1600 / 2^399
        -269.2
    """
    a = _square("a", a)
    _checks.positive_int("k_max", k_max)
    return _log_power_norms(jnp.asarray(a, jnp.float32), k_max)


@functools.partial(jax.jit, static_argnums=1)
def _log_power_norms(a: Array, k_max: int) -> Array:
    def step(carry: tuple[Array, Array], _: None) -> tuple[tuple[Array, Array], Array]:
        p, log_norm = carry
        p = a @ p
        size = jnp.linalg.norm(p, ord=2)
        log_norm = log_norm + jnp.log(size)
        return (p / size, log_norm), log_norm

    eye = jnp.eye(a.shape[0], dtype=a.dtype)
    _, logs = jax.lax.scan(step, (eye, jnp.zeros((), a.dtype)), None, length=k_max)
    return jnp.concatenate([jnp.zeros(1, a.dtype), logs])


def power_norms(a: ArrayLike, k_max: int) -> np.ndarray:
    r"""Spectral norms :math:`\lVert A^k \rVert_2`, :math:`k = 0, \dots, k_{\max}`.

    :func:`log_power_norms` exponentiated in float64, so norms up to :math:`10^{308}`
    and down to :math:`10^{-308}` are represented (beyond that, use the logs).

    Args:
        a: square matrix ``(n, n)``, finite.
        k_max: largest power, >= 1.

    Returns:
        ``(k_max + 1,)`` NumPy float64 array, starting with 1.

    Raises:
        ValueError: as :func:`log_power_norms`.

    Examples:
        >>> a = jnp.array([[0.5, 4.0], [0.0, 0.5]])  # eigenvalues 0.5, 0.5
        >>> [round(float(v), 3) for v in power_norms(a, 3)]
        [1.0, 4.062, 4.016, 3.005]
    """
    return np.exp(np.asarray(log_power_norms(a, k_max), np.float64))


def spectral_radius(a: ArrayLike) -> float:
    r"""Largest eigenvalue modulus :math:`\rho(A) = \max_i |\lambda_i(A)|`, in float64.

    Args:
        a: square matrix ``(n, n)``, finite.

    Returns:
        A Python float.

    Raises:
        ValueError: if ``a`` is not square or not finite.

    Examples:
        >>> spectral_radius(jnp.array([[0.5, 4.0], [0.0, 0.5]]))
        0.5
    """
    return float(np.max(np.abs(np.linalg.eigvals(_square("a", a)))))


def _square(name: str, a: ArrayLike) -> np.ndarray:
    arr = np.asarray(a, np.float64)
    _checks.ndim(name, arr, 2)
    if arr.shape[0] != arr.shape[1] or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must be a finite square matrix, got shape {arr.shape}"
        )
    return arr


def lyapunov_spectrum(mats: ArrayLike) -> Array:
    r"""Log stretches of :math:`W_l \cdots W_1` by repeated QR, for :math:`l = 1..L`.

    Starting from :math:`Q_0 = I`, each factor is applied to the current orthonormal
    frame and re-orthonormalised, :math:`W_l Q_{l-1} = Q_l R_l`; then
    :math:`W_l \cdots W_1 = Q_l R_l \cdots R_1` and the product of the triangular
    factors has diagonal :math:`\prod_k (R_k)_{ii}`. This returns its logs,

    .. math::

        \Lambda_{l,i} = \sum_{k=1}^{l} \log\lvert (R_k)_{ii} \rvert ,

    the volume stretched along the :math:`i`-th Gram–Schmidt direction. Sorted, they
    estimate the log singular values of the product to :math:`O(1)` while the exact ones
    grow like :math:`O(l)`, with no float32 floor: a direction crushed by
    :math:`10^{-30}` is a log of :math:`-69`, not round-off.

    Args:
        mats: ``(depth, n, n)`` stack, applied first to last.

    Returns:
        ``(depth, n)`` cumulative logs, in Gram–Schmidt order (not sorted). A direction
        that a factor annihilates (a dead ReLU unit) gets a log near
        :math:`\log 10^{-7}` per layer from float32 round-off, so it falls off quickly.

    Raises:
        ValueError: if ``mats`` is not a stack of square matrices.

    References:
        Benettin et al., 1980; Oseledets, `A multiplicative ergodic theorem
        <https://www.mathnet.ru/eng/mmo214>`_, 1968.

    Examples:
        >>> mats = jnp.stack([jnp.diag(jnp.array([2.0, 0.5]))] * 3)
        >>> [round(float(v), 3) for v in lyapunov_spectrum(mats)[-1]]  # 3 log 2, -3 log 2
        [2.079, -2.079]
    """
    mats = jnp.asarray(mats, jnp.float32)
    _checks.ndim("mats", mats, 3)
    if mats.shape[1] != mats.shape[2]:
        raise ValueError(f"mats must be (depth, n, n), got {mats.shape}")
    return _lyapunov(mats)


@jax.jit
def _lyapunov(mats: Array) -> Array:
    def step(q: Array, w: Array) -> tuple[Array, Array]:
        q, r = jnp.linalg.qr(w @ q)
        return q, jnp.log(jnp.abs(jnp.diagonal(r)))

    _, logs = jax.lax.scan(step, jnp.eye(mats.shape[1], dtype=mats.dtype), mats)
    return jnp.cumsum(logs, axis=0)


def _digamma_half_integer(k: int) -> float:
    """psi(k / 2) for a positive integer k, exactly (no special-function library)."""
    euler = 0.5772156649015329
    if k % 2 == 0:  # psi(m) = -gamma + H_{m-1}
        return -euler + sum(1.0 / j for j in range(1, k // 2))
    # psi(m + 1/2) = -gamma - 2 log 2 + sum_{j=1}^{m} 2 / (2j - 1)
    return (
        -euler
        - 2.0 * math.log(2.0)
        + sum(2.0 / (2 * j - 1) for j in range(1, k // 2 + 1))
    )


def gaussian_lyapunov(n: int, sigma: float = 1.0) -> np.ndarray:
    r"""Mean log stretch per layer of each direction for Gaussian factors.

    For :math:`W_{ij} \sim \mathcal N(0, \sigma^2/n)` and any orthonormal frame
    :math:`Q`, :math:`WQ` is again Gaussian, and its QR factor has independent
    :math:`(R_{ii})^2 \sim \frac{\sigma^2}{n}\chi^2_{n-i+1}` (Bartlett). So every
    layer adds to :func:`lyapunov_spectrum`'s :math:`i`-th log, on average,

    .. math::

        \lambda_i = \tfrac12\Bigl[\log\sigma^2 + \psi\bigl(\tfrac{n-i+1}{2}\bigr)
        - \log\tfrac n2\Bigr], \qquad i = 1, \dots, n,

    the Lyapunov exponents of the product (Newman 1986); :math:`\lambda_1` is
    :func:`gaussian_log_growth`'s :math:`\mu`. Over :math:`L` layers the log singular
    values spread over :math:`L(\lambda_1 - \lambda_n)`, and
    :math:`\lambda_n = \frac12[\psi(\tfrac12) - \log\tfrac n2] \approx -1.96 -
    \tfrac12\log\tfrac n2`.

    Args:
        n: matrix size, >= 1.
        sigma: scale, > 0.

    Returns:
        ``(n,)`` NumPy float64 array, decreasing.

    Raises:
        ValueError: for a bad ``n`` or ``sigma``.

    Examples:
        >>> [round(float(v), 4) for v in gaussian_lyapunov(2)]
        [-0.2886, -0.9818]
    """
    _checks.positive_int("n", n)
    _checks.positive("sigma", sigma)
    psi = np.array([_digamma_half_integer(n - i + 1) for i in range(1, n + 1)])
    return 0.5 * (2.0 * math.log(sigma) + psi - math.log(n / 2.0))
