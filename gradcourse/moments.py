r"""Per-layer mean and variance of activations: the bias shift and self-normalisation.

For a deep MLP with weights :math:`w \sim \mathcal N(0, g^2/n)` and zero biases, each
pre-activation of layer :math:`l` is, over the random weights, a centred Gaussian whose
variance is set by the **second moment** of the layer below:

.. math::

    z_l \sim \mathcal N(0, q_l), \qquad q_l = g^2\, \mathbb E[h_{l-1}^2]
    = g^2 \bigl(\mu_{l-1}^2 + \nu_{l-1}\bigr),

so the layer's mean and variance follow a one-dimensional map

.. math::

    \mu_l = \mathbb E[\phi(z_l)], \qquad
    \nu_l = \mathbb E[\phi(z_l)^2] - \mu_l^2 .

For the ELU family :math:`\phi(x) = \lambda x` (:math:`x > 0`),
:math:`\lambda\alpha(e^x - 1)` (:math:`x \le 0`), which contains ReLU
(:math:`\alpha = 0`), ELU (:math:`\lambda = 1`) and SELU, both expectations have closed
forms (:func:`elu_family_moments`). A positive mean :math:`\mu_l` is Clevert et al.'s
**bias shift**; SELU's constants make :math:`(\mu, \nu) = (0, 1)` a fixed point of the
map with :math:`g = 1` (Klambauer et al.; :func:`selu_constants` derives them), which
:func:`moment_map` iterates and :func:`propagate` measures in sampled networks.

References:
    Clevert, Unterthiner & Hochreiter, `Fast and accurate deep network learning by
    exponential linear units (ELUs) <https://arxiv.org/abs/1511.07289>`_, 2015;
    Klambauer, Unterthiner, Mayr & Hochreiter, `Self-normalizing neural networks
    <https://arxiv.org/abs/1706.02515>`_, 2017.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.scipy.special import log_ndtr
from jax.typing import ArrayLike

from gradcourse import _checks, initializers
from gradcourse.activations import selu
from gradcourse.networks import MLP, ActivationLike, Dense, forward_batch
from gradcourse.quadrature import gaussian_expectation
from gradcourse.registry import resolve

__all__ = [
    "Moments",
    "layer_moments",
    "elu_family_moments",
    "moment_map",
    "selu_constants",
    "selu_map_jacobian",
    "propagate",
    "shifted_inputs",
]


class Moments(NamedTuple):
    """Per-layer mean and variance of activations, each ending in a ``depth`` axis.

    Attributes:
        mean: :math:`\\mu_l`, the average over inputs and units.
        var: :math:`\\nu_l`, the variance over inputs and units together.
    """

    mean: Array
    var: Array


def layer_moments(post: ArrayLike) -> Moments:
    """Mean and variance of each layer's activations over inputs and units.

    Args:
        post: activations ``(batch, depth, width)`` (``Trace.post``).

    Returns:
        :class:`Moments` with fields of shape ``(depth,)``.

    Raises:
        ValueError: if ``post`` is not 3-D.

    Examples:
        >>> m = layer_moments(jnp.array([[[0.0, 2.0]], [[2.0, 4.0]]]))
        >>> float(m.mean[0]), float(m.var[0])
        (2.0, 2.0)
    """
    post = jnp.asarray(post)
    _checks.ndim("post", post, 3)
    return Moments(jnp.mean(post, axis=(0, 2)), jnp.var(post, axis=(0, 2)))


def elu_family_moments(
    q: ArrayLike, alpha: float = 1.0, scale: float = 1.0
) -> tuple[Array, Array]:
    r"""Exact :math:`\mathbb E[\phi(z)]` and :math:`\mathbb E[\phi(z)^2]` for
    :math:`z \sim \mathcal N(0, q)` and :math:`\phi` in the ELU family.

    With :math:`s = \sqrt q`, :math:`\mathbb E[z; z > 0] = s/\sqrt{2\pi}`,
    :math:`\mathbb E[z^2; z > 0] = q/2` and
    :math:`\mathbb E[e^{kz}; z \le 0] = e^{k^2 q/2}\,\Phi(-ks)`:

    .. math::

        \mathbb E[\phi] = \lambda\Bigl(\frac{s}{\sqrt{2\pi}}
            + \alpha\bigl(e^{q/2}\Phi(-s) - \tfrac12\bigr)\Bigr), \qquad
        \mathbb E[\phi^2] = \lambda^2\Bigl(\frac q2 + \alpha^2\bigl(e^{2q}\Phi(-2s)
            - 2e^{q/2}\Phi(-s) + \tfrac12\bigr)\Bigr).

    The products :math:`e^{a}\Phi(-b)` are computed as
    :math:`\exp(a + \log\Phi(-b))`, finite for every :math:`q`.

    Args:
        q: variance :math:`q \ge 0` (array).
        alpha: :math:`\alpha \ge 0` (0 for ReLU, 1 for ELU, 1.6733 for SELU).
        scale: :math:`\lambda > 0` (1.0507 for SELU).

    Returns:
        ``(mean, second_moment)``, each of the shape of ``q``.

    Raises:
        ValueError: for a negative ``alpha`` or a non-positive ``scale``.

    Examples:
        >>> m, m2 = elu_family_moments(2.0, alpha=0.0)  # ReLU: E[phi^2] = q/2
        >>> round(float(m2), 6), round(float(m) * math.sqrt(math.pi), 4)
        (1.0, 1.0)
    """
    _checks.non_negative("alpha", alpha)
    _checks.positive("scale", scale)
    q = jnp.asarray(q, jnp.float32)
    s = jnp.sqrt(q)
    e1 = jnp.exp(q / 2 + log_ndtr(-s))  # E[e^z; z <= 0]
    e2 = jnp.exp(2 * q + log_ndtr(-2 * s))  # E[e^{2z}; z <= 0]
    mean = scale * (s / math.sqrt(2 * math.pi) + alpha * (e1 - 0.5))
    second = scale**2 * (q / 2 + alpha**2 * (e2 - 2 * e1 + 0.5))
    return mean, second


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def selu_constants() -> tuple[float, float]:
    r"""Derive SELU's :math:`(\alpha, \lambda)` from the self-normalising fixed point.

    Klambauer et al. ask that a layer map inputs of mean 0 and variance 1 to outputs of
    mean 0 and variance 1 when the weights have :math:`\sum_i w_i = 0` and
    :math:`\sum_i w_i^2 = 1`; then the pre-activation is :math:`z \sim \mathcal N(0, 1)`
    and the two conditions read

    .. math::

        \mathbb E[\operatorname{selu}(z)] = \lambda\Bigl(\tfrac{1}{\sqrt{2\pi}}
        + \alpha\bigl(e^{1/2}\Phi(-1) - \tfrac12\bigr)\Bigr) = 0,

        \mathbb E[\operatorname{selu}(z)^2] = \lambda^2\Bigl(\tfrac12 + \alpha^2
        \bigl(e^{2}\Phi(-2) - 2 e^{1/2}\Phi(-1) + \tfrac12\bigr)\Bigr) = 1,

    using :math:`\mathbb E[z\,;\,z>0] = 1/\sqrt{2\pi}`,
    :math:`\mathbb E[z^2\,;\,z>0] = 1/2` and
    :math:`\mathbb E[e^{kz}\,;\,z\le 0] = e^{k^2/2}\Phi(-k)`. The first equation is
    linear in :math:`\alpha` and fixes it; the second is then linear in
    :math:`\lambda^2`. The Gaussian integrals are evaluated with ``math.erfc`` in
    float64.

    Returns:
        ``(alpha, scale)``, approximately (1.6733, 1.0507), the constants of
        :func:`jax.nn.selu`.

    References:
        Klambauer, Unterthiner, Mayr & Hochreiter, `Self-normalizing neural networks
        <https://arxiv.org/abs/1706.02515>`_, 2017.

    Examples:
        >>> [round(c, 4) for c in selu_constants()]
        [1.6733, 1.0507]
    """
    e_pos = 1.0 / math.sqrt(2.0 * math.pi)  # E[z; z > 0]
    e_exp1 = math.exp(0.5) * _normal_cdf(-1.0)  # E[e^z; z <= 0]
    e_exp2 = math.exp(2.0) * _normal_cdf(-2.0)  # E[e^{2z}; z <= 0]
    alpha = e_pos / (0.5 - e_exp1)
    second = 0.5 + alpha**2 * (e_exp2 - 2.0 * e_exp1 + 0.5)
    return alpha, 1.0 / math.sqrt(second)


def moment_map(
    mean0: float,
    var0: float,
    depth: int,
    *,
    constants: tuple[float, float] = (1.0, 1.0),
    gain: float = 1.0,
) -> Moments:
    r"""Iterate the mean-field map for ``depth`` layers of an ELU-family network.

    :math:`q_l = g^2(\mu_{l-1}^2 + \nu_{l-1})`, then :math:`(\mu_l, \nu_l)` from
    :func:`elu_family_moments`, starting from the input moments
    :math:`(\mu_0, \nu_0)`.

    Args:
        mean0, var0: mean and variance of the input features (``var0 >= 0``).
        depth: layers, >= 1.
        constants: ``(alpha, scale)`` of the activation, as in
            :func:`elu_family_moments`: ``(0, 1)`` for ReLU, ``(1, 1)`` for ELU,
            :func:`selu_constants` for SELU.
        gain: weight gain :math:`g > 0` (1 for LeCun normal).

    Returns:
        :class:`Moments` with fields of shape ``(depth,)``, layer 1 first.

    Raises:
        ValueError: for a bad ``var0``, ``depth``, ``constants`` or ``gain``.

    Examples:
        >>> m = moment_map(2.0, 3.0, 40, constants=(1.6732632, 1.0507010))
        >>> round(float(m.mean[-1]), 3), round(float(m.var[-1]), 3)
        (0.0, 1.0)
    """
    _checks.non_negative("var0", var0)
    _checks.positive_int("depth", depth)
    _checks.positive("gain", gain)
    if not _checks._is_real(mean0):
        raise ValueError(f"mean0 must be a finite real number, got {mean0!r}")
    if not isinstance(constants, tuple | list) or len(constants) != 2:
        raise ValueError(f"constants must be a pair (alpha, scale), got {constants!r}")
    alpha, scale = constants

    def layer(second: Array, _: None) -> tuple[Array, tuple[Array, Array]]:
        m, m2 = elu_family_moments(gain**2 * second, alpha, scale)
        return m2, (m, m2 - m**2)

    _, (means, variances) = jax.lax.scan(
        layer, jnp.float32(mean0**2 + var0), None, length=depth
    )
    return Moments(means, variances)


def _selu_map(mu: float, nu: float, omega: float, tau: float) -> np.ndarray:
    # (E selu(z), Var selu(z)) for z ~ N(mu omega, nu tau); the kink sits at z = 0,
    # u = -mu omega in the centred variable
    m = mu * omega

    def shifted(power: int):
        return lambda u: selu(m + u) ** power

    first = float(gaussian_expectation(shifted(1), nu * tau, breakpoints=(-m,)))
    second = float(gaussian_expectation(shifted(2), nu * tau, breakpoints=(-m,)))
    return np.array([first, second - first**2])


def selu_map_jacobian(
    omega: float = 0.0, tau: float = 1.0, *, step: float = 1e-2
) -> np.ndarray:
    r"""Jacobian of Klambauer et al.'s moment map :math:`g` at :math:`(\mu, \nu) = (0, 1)`.

    A SELU unit whose incoming weights have sum :math:`\omega = \sum_i w_i` and
    squared sum :math:`\tau = \sum_i w_i^2`, fed inputs of mean :math:`\mu` and
    variance :math:`\nu`, has :math:`z \sim \mathcal N(\mu\omega, \nu\tau)` and
    output moments

    .. math::

        g(\mu, \nu) = \bigl(\mathbb E[\operatorname{selu}(z)],\;
        \operatorname{Var}[\operatorname{selu}(z)]\bigr).

    Its Jacobian, here by central differences of Gauss rules split at the kink, has
    spectral norm below one on :math:`\omega \in [-0.1, 0.1]`,
    :math:`\tau \in [0.95, 1.1]` (0.7877 at :math:`\omega = 0, \tau = 1`): the
    *mean* is contracted too, which a network with zero-mean random weights cannot show,
    since averaged over the weights :math:`z` has mean zero whatever :math:`\mu`.

    Args:
        omega: sum of the incoming weights, finite.
        tau: sum of their squares, > 0.
        step: central-difference step, > 0.

    Returns:
        ``(2, 2)`` NumPy array, rows :math:`(\tilde\mu, \tilde\nu)`, columns
        :math:`(\mu, \nu)`.

    Raises:
        ValueError: for a bad ``omega``, ``tau`` or ``step``.

    References:
        Klambauer, Unterthiner, Mayr & Hochreiter, `Self-normalizing neural networks
        <https://arxiv.org/abs/1706.02515>`_, 2017 (Theorem 1).

    Examples:
        >>> round(float(np.linalg.norm(selu_map_jacobian(), 2)), 3)
        0.788
    """
    if not _checks._is_real(omega):
        raise ValueError(f"omega must be a finite real number, got {omega!r}")
    _checks.positive("tau", tau)
    _checks.positive("step", step)
    cols = [
        (_selu_map(d, 1 + e, omega, tau) - _selu_map(-d, 1 - e, omega, tau))
        / (2 * step)
        for d, e in ((step, 0.0), (0.0, step))
    ]
    return np.stack(cols, axis=1)


def shifted_inputs(key: Array, n: int, dim: int, mean: float, var: float) -> Array:
    r"""Gaussian inputs with given moments: :math:`x_{ij} = \mu + \sqrt{\nu}\,\epsilon_{ij}`.

    Args:
        key: PRNG key.
        n, dim: number of examples and features, each >= 1.
        mean: :math:`\mu`, finite.
        var: :math:`\nu \ge 0`.

    Returns:
        ``(n, dim)`` float32.

    Raises:
        ValueError: for a bad size, mean or variance.
    """
    _checks.positive_int("n", n)
    _checks.positive_int("dim", dim)
    _checks.non_negative("var", var)
    if not _checks._is_real(mean):
        raise ValueError(f"mean must be a finite real number, got {mean!r}")
    return mean + math.sqrt(var) * jax.random.normal(key, (n, dim))


@functools.partial(
    jax.jit, static_argnames=("width", "depth", "seeds", "activation", "gain")
)
def _propagate(
    key: Array, xs: Array, *, width: int, depth: int, seeds: int,
    activation: ActivationLike, gain: float,
) -> Moments:  # fmt: skip
    phi = resolve(activation)
    in_dim = xs.shape[1]
    shape = (seeds, depth, width, max(width, in_dim))
    # one flat draw: a many-dimensional draw compiles for seconds (partitionable threefry)
    (raw,) = initializers.normal_blocks(key, [shape], dtype=xs.dtype)

    def one(r: Array) -> Moments:
        params = MLP(
            first=Dense(r[0, :, :in_dim] * (gain / math.sqrt(in_dim)), jnp.zeros(width)),
            hidden=Dense(r[1:, :, :width] * (gain / math.sqrt(width)),
                         jnp.zeros((depth - 1, width))),
            readout=Dense(jnp.zeros((1, width)), jnp.zeros(1)),
        )  # fmt: skip
        return layer_moments(forward_batch(params, xs, phi)[1].post)

    return jax.vmap(one)(raw)


def propagate(
    key: Array,
    xs: ArrayLike,
    *,
    width: int,
    depth: int,
    seeds: int,
    activation: ActivationLike,
    gain: float = 1.0,
) -> Moments:
    r"""Measured per-layer moments of freshly initialised deep MLPs.

    ``seeds`` networks with ``depth`` hidden layers of ``width`` units, weights
    :math:`\mathcal N(0, g^2/n_{\text{in}})` (LeCun normal for :math:`g = 1`, He for
    :math:`g = \sqrt 2`) and zero biases, are run on ``xs``; each layer's activations are
    summarised by :func:`layer_moments`.

    Args:
        key: PRNG key.
        xs: inputs ``(batch, in_dim)``.
        width, depth, seeds: each >= 1.
        activation: registry name or elementwise function (hashable).
        gain: weight gain, > 0.

    Returns:
        :class:`Moments` with fields of shape ``(seeds, depth)``.

    Raises:
        ValueError: for bad sizes, a bad gain, or ``xs`` that is not 2-D.
    """
    xs = jnp.asarray(xs, jnp.float32)
    _checks.ndim("xs", xs, 2)
    for name, v in [("width", width), ("depth", depth), ("seeds", seeds)]:
        _checks.positive_int(name, v)
    _checks.positive("gain", gain)
    return _propagate(key, xs, width=width, depth=depth, seeds=seeds,
                      activation=activation, gain=float(gain))  # fmt: skip
