r"""Weight initialisers for ``(out, in)`` weights, derived from variance propagation.

Every initialiser here is a function ``init(key, shape, dtype) -> Array``, the calling
convention of :mod:`jax.nn.initializers`, for a weight matrix of shape ``(out, in)``
(``fan_in = in``, ``fan_out = out``). All the variance-based schemes are one-line
specialisations of :func:`variance_scaling`:

.. math::

    \operatorname{Var}(w) = \frac{s}{n}, \qquad
    n \in \{n_{\text{in}},\ n_{\text{out}},\ \tfrac12 (n_{\text{in}} + n_{\text{out}})\}.

Why these variances. For :math:`z_l = W_l h_{l-1}` with independent zero-mean weights,
the forward pass gives :math:`\operatorname{Var}(z_l) = n_{\text{in}}
\operatorname{Var}(w)\, \mathbb{E}[\phi(z_{l-1})^2]` and the backward pass
:math:`\operatorname{Var}(\partial L / \partial h_{l-1}) = n_{\text{out}}
\operatorname{Var}(w)\, \mathbb{E}[\phi'(z_l)^2]\, \operatorname{Var}(\partial L /
\partial h_l)`. For a unit that is linear near zero (tanh) both factors are 1 when
:math:`n \operatorname{Var}(w) = 1` (LeCun for the forward pass, fan-out for the backward
pass, Glorot's average as the compromise); for ReLU :math:`\mathbb{E}[\phi(z)^2] =
\tfrac12 \operatorname{Var}(z)` and :math:`\mathbb{E}[\phi'(z)^2] = \tfrac12`, which asks
for :math:`\operatorname{Var}(w) = 2/n` (He).

Naming, made explicit because libraries differ: ``*_normal`` here is an **untruncated**
Gaussian, as in the papers (He et al. draw from :math:`\mathcal{N}(0, 2/n_{\text{in}})`)
and in PyTorch; :func:`jax.nn.initializers.he_normal`, ``glorot_normal`` and
``lecun_normal`` (and Keras) draw a normal **truncated** at two standard deviations and
rescaled to the same variance, which is ``distribution="truncated_normal"`` here.

References:
    LeCun, Bottou, Orr & Müller, `Efficient BackProp
    <https://doi.org/10.1007/3-540-49430-8_2>`_, 1998;
    Glorot & Bengio, `Understanding the difficulty of training deep feedforward neural
    networks <https://proceedings.mlr.press/v9/glorot10a.html>`_, 2010;
    He et al., `Delving deep into rectifiers <https://arxiv.org/abs/1502.01852>`_, 2015;
    Saxe, McClelland & Ganguli, `Exact solutions to the nonlinear dynamics of learning
    in deep linear neural networks <https://arxiv.org/abs/1312.6120>`_, 2014.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import DTypeLike

from gradcourse import _checks
from gradcourse.registry import get

__all__ = [
    "Initializer",
    "MODES",
    "DISTRIBUTIONS",
    "fans",
    "gain",
    "variance_scaling",
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "standard_uniform",
    "orthogonal",
    "constant",
    "zeros",
    "normal_blocks",
    "haar_stack",
]

Initializer = Callable[..., Array]

#: The fans that can set the variance (inputs, outputs, or their arithmetic mean as in Glorot).
MODES = ("fan_in", "fan_out", "fan_avg")
#: Sampling distributions with zero mean and the requested variance.
DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")

# Standard deviation of a standard normal truncated to (-2, 2), as in jax.nn.
_TRUNCATED_STD = 0.87962566103423978


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of an ``(out, in)`` weight shape.

    Raises:
        ValueError: if ``shape`` is not two positive integers.

    Examples:
        >>> fans((10, 1000))
        (1000, 10)
    """
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(f"shape must be (out, in), got {shape}")
    _checks.positive_int("shape[0] (fan_out)", shape[0])
    _checks.positive_int("shape[1] (fan_in)", shape[1])
    return shape[1], shape[0]


def gain(activation: str) -> float:
    """Standard-deviation gain of a registered activation (``sqrt(2)`` for ReLU).

    A fan-in initialiser with :math:`\\operatorname{Var}(w) = g^2 / n_{\\text{in}}`
    keeps the forward signal's scale for that activation; the value comes from
    :func:`gradcourse.registry.get`.

    Raises:
        ValueError: if ``activation`` is not registered.
    """
    return float(get(activation).gain)


def variance_scaling(
    scale: float, mode: str = "fan_in", distribution: str = "normal"
) -> Initializer:
    r"""Zero-mean initialiser with :math:`\operatorname{Var}(w) = \text{scale} / n`.

    :math:`n` is :math:`n_{\text{in}}`, :math:`n_{\text{out}}` or
    :math:`(n_{\text{in}} + n_{\text{out}})/2` for ``mode`` ``"fan_in"``, ``"fan_out"``,
    ``"fan_avg"``. ``distribution`` ``"normal"`` draws :math:`\mathcal{N}(0, s/n)`;
    ``"uniform"`` draws :math:`U[-a, a]` with :math:`a = \sqrt{3 s / n}`;
    ``"truncated_normal"`` draws a normal cut at two standard deviations and divides by
    the cut normal's standard deviation (0.8796) so the variance is still :math:`s/n`.

    Same key, same numbers as ``jax.nn.initializers.variance_scaling(scale, mode,
    distribution, in_axis=-1, out_axis=-2)``.

    Args:
        scale: :math:`s > 0` (the square of the gain).
        mode: one of :data:`MODES`.
        distribution: one of :data:`DISTRIBUTIONS`.

    Returns:
        ``init(key, shape, dtype=jnp.float32)`` for ``(out, in)`` shapes.

    Raises:
        ValueError: for a bad ``scale``, ``mode`` or ``distribution`` (at once), or a
            shape that is not ``(out, in)`` (when called).

    Examples:
        >>> w = variance_scaling(2.0, "fan_in")(jax.random.key(0), (512, 256))
        >>> round(float(w.var() * 256), 1)
        2.0
    """
    scale = _checks.positive("scale", scale)
    _checks.one_of("mode", mode, MODES)
    _checks.one_of("distribution", distribution, DISTRIBUTIONS)

    def init(key: Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> Array:
        fan_in, fan_out = fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        variance = jnp.array(scale / n[mode], dtype)
        if distribution == "normal":
            return jax.random.normal(key, shape, dtype) * jnp.sqrt(variance)
        if distribution == "uniform":
            return jax.random.uniform(key, shape, dtype, -1) * jnp.sqrt(3 * variance)
        std = jnp.sqrt(variance) / jnp.array(_TRUNCATED_STD, dtype)
        return jax.random.truncated_normal(key, -2, 2, shape, dtype) * std

    return init


def lecun_normal(gain: float = 1.0) -> Initializer:
    r"""LeCun normal: :math:`\mathcal{N}(0, g^2 / n_{\text{in}})` (LeCun et al., 1998)."""
    return variance_scaling(_sq("gain", gain), "fan_in", "normal")


def lecun_uniform(gain: float = 1.0) -> Initializer:
    r"""LeCun uniform: :math:`U[\pm g\sqrt{3 / n_{\text{in}}}]`, variance g²/n_in."""
    return variance_scaling(_sq("gain", gain), "fan_in", "uniform")


def glorot_normal(gain: float = 1.0) -> Initializer:
    r"""Xavier/Glorot normal, :math:`\mathcal{N}(0, 2g^2 / (n_{\text{in}}+n_{\text{out}}))`.

    Untruncated (as PyTorch's ``xavier_normal_``); ``jax.nn``'s ``glorot_normal`` is the
    truncated version. Glorot & Bengio (2010) proposed the uniform form.
    """
    return variance_scaling(_sq("gain", gain), "fan_avg", "normal")


def glorot_uniform(gain: float = 1.0) -> Initializer:
    r"""Xavier/Glorot uniform, Glorot & Bengio's "normalized initialization" (2010).

    .. math::

        w \sim U\!\left[-g\sqrt{\tfrac{6}{n_{\text{in}} + n_{\text{out}}}},\;
        g\sqrt{\tfrac{6}{n_{\text{in}} + n_{\text{out}}}}\right], \qquad
        \operatorname{Var}(w) = \frac{2 g^2}{n_{\text{in}} + n_{\text{out}}}.

    Keras's ``glorot_uniform()`` and ``jax.nn.initializers.glorot_uniform`` with g = 1.
    """
    return variance_scaling(_sq("gain", gain), "fan_avg", "uniform")


def he_normal(activation: str = "relu", mode: str = "fan_in") -> Initializer:
    r"""He/Kaiming normal: :math:`\mathcal{N}(0, g^2 / n)`, :math:`g^2 = 2` for ReLU.

    ``mode="fan_in"`` keeps the forward variance, ``"fan_out"`` the backward one (He et
    al., 2015, eqs. 10 and 14). The gain is that of ``activation`` in the registry.
    Untruncated, as in the paper; ``jax.nn.initializers.he_normal`` is truncated.
    """
    return variance_scaling(gain(activation) ** 2, mode, "normal")


def he_uniform(activation: str = "relu", mode: str = "fan_in") -> Initializer:
    r"""He/Kaiming uniform: :math:`U[\pm g\sqrt{3/n}]`, variance :math:`g^2/n`."""
    return variance_scaling(gain(activation) ** 2, mode, "uniform")


def standard_uniform() -> Initializer:
    r"""The "standard" heuristic that Glorot & Bengio (2010, eq. 1) improved on.

    :math:`w \sim U[-1/\sqrt{n_{\text{in}}}, 1/\sqrt{n_{\text{in}}}]`, so
    :math:`n_{\text{in}} \operatorname{Var}(w) = 1/3`: each layer shrinks a near-linear
    signal's variance threefold, forward and backward.
    """
    return variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def orthogonal(gain: float = 1.0) -> Initializer:
    r"""A random (Haar-distributed) orthogonal matrix times ``gain``.

    The QR factorisation of a Gaussian matrix :math:`Z = QR`, with each column of
    :math:`Q` multiplied by the sign of :math:`R_{ii}` so the distribution is uniform
    (Mezzadri, 2007). For ``(out, in)`` with out >= in the columns are orthonormal
    (:math:`W^\top W = g^2 I`); otherwise the rows are (:math:`W W^\top = g^2 I`). Every
    singular value equals :math:`g`, so a deep linear network keeps the norm of every
    signal exactly, the regime Saxe et al. (2014) call dynamical isometry. Same key,
    same numbers as ``jax.nn.initializers.orthogonal(gain)``.
    """
    scale = _checks.positive("gain", gain)

    def init(key: Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> Array:
        n_out, n_in = fans(shape)[::-1]
        z = jax.random.normal(key, (max(n_out, n_in), min(n_out, n_in)), dtype)
        q, r = jnp.linalg.qr(z)
        q = q * jnp.sign(jnp.diagonal(r))[None, :]
        return jnp.array(scale, dtype) * (q if n_out >= n_in else q.T)

    return init


def constant(value: float) -> Initializer:
    """Every weight equal to ``value``: the symmetric start that gradient descent never
    breaks (all units of a layer receive the same gradient)."""
    if not _checks._is_real(value):
        raise ValueError(f"value must be a finite number, got {value!r}")

    def init(key: Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> Array:
        del key
        return jnp.full(tuple(shape), value, dtype)

    return init


def zeros(key: Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> Array:
    """All zeros (``jax.nn.initializers.zeros``); fine for biases, fatal for weights."""
    del key
    return jnp.zeros(tuple(shape), dtype)


def normal_blocks(
    key: Array,
    shapes: Sequence[Sequence[int]],
    batch: Sequence[int] = (),
    dtype: DTypeLike = jnp.float32,
) -> list[Array]:
    r"""Standard-normal arrays of several shapes from **one** draw, for a whole network.

    Draws :math:`\varepsilon \sim \mathcal N(0, I)` of shape ``(*batch, total)`` and
    cuts it into ``(*batch, *shape)`` blocks in order. The caller scales the blocks (by
    a gain over :math:`\sqrt{n_{\text{in}}}`, or a mean-field :math:`\sigma_w`); one
    random-number kernel for every layer keeps the compiled initialiser small (each
    ``jax.random`` call site compiles the threefry generator again, which dominates a
    small chapter's run time).

    Args:
        key: PRNG key.
        shapes: the blocks' shapes, in order.
        batch: leading axes shared by every block (seeds, ensemble members).
        dtype: floating dtype.

    Returns:
        One array per shape, ``(*batch, *shape)``.

    Examples:
        >>> w1, w2 = normal_blocks(jax.random.key(0), [(3, 2), (4,)], batch=(5,))
        >>> w1.shape, w2.shape
        ((5, 3, 2), (5, 4))
    """
    sizes = [math.prod(shape) for shape in shapes]
    eps = jax.random.normal(key, (*batch, sum(sizes)), dtype)
    parts = jnp.split(eps, list(itertools.accumulate(sizes))[:-1], axis=-1)
    return [
        part.reshape((*batch, *shape))
        for part, shape in zip(parts, shapes, strict=True)
    ]


def haar_stack(key: Array, n: int, count: int) -> Array:
    """``count`` independent Haar-orthogonal ``(n, n)`` matrices, ``(count, n, n)``, in
    one batched QR (:func:`jax.random.orthogonal`, Mezzadri's sign correction)."""
    return jax.random.orthogonal(key, n, (count,))


def _sq(name: str, value: float) -> float:
    return _checks.positive(name, value) ** 2
