"""Activation functions, their analytic derivatives, and the registry that describes them.

Every activation is an elementwise pure function ``ArrayLike -> Array`` with a companion
``<name>_grad`` that returns its derivative in closed form. The tests compare each
derivative with ``jax.vmap(jax.grad(f))`` at ordinary points, at kinks and at
:math:`|x| = 10^4`, and each function with ``jax.nn`` wherever ``jax.nn`` has it.

The registry (:data:`REGISTRY`, :func:`get`, :func:`names`) records for each activation its
year, the paper that introduced it (a key of ``references.bib``), the largest slope
``max |phi'|`` and the initialisation gain that keeps forward variance constant. Chapters
draw the timeline, the derivative gallery and the depth comparison from it, so adding an
entry here adds the function to all three.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks

__all__ = [
    "Activation",
    "REGISTRY",
    "PRELU_INIT",
    "RRELU_CONVENTIONS",
    "SELU_ALPHA",
    "SELU_SCALE",
    "elu",
    "elu_grad",
    "fixed_point_gain",
    "gelu",
    "gelu_grad",
    "get",
    "hard_swish",
    "hard_swish_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "mish",
    "mish_grad",
    "names",
    "prelu",
    "prelu_grad",
    "prelu_grad_alpha",
    "relu",
    "relu6",
    "relu6_grad",
    "relu_grad",
    "resolve",
    "rrelu",
    "rrelu_eval_slope",
    "rrelu_grad",
    "rrelu_slopes",
    "selu",
    "selu_constants",
    "selu_grad",
    "sigmoid",
    "sigmoid_grad",
    "silu",
    "silu_grad",
    "softplus",
    "softplus_grad",
    "swish",
    "swish_grad",
    "tabulate",
    "tanh",
    "tanh_grad",
]


def sigmoid(x: ArrayLike) -> Array:
    r"""Logistic sigmoid.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}}

    It maps a logit to a probability (the inverse of :math:`\log \frac{p}{1-p}`), and was
    the hidden unit of the first back-propagation networks.

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape with values in [0, 1] (open in exact arithmetic; float32
        rounds to the ends for :math:`|x| > 17` or so).

    References:
        Rumelhart, Hinton & Williams, `Learning representations by back-propagating errors
        <https://doi.org/10.1038/323533a0>`_, 1986.

    Examples:
        >>> float(sigmoid(0.0))
        0.5
    """
    return jax.nn.sigmoid(x)


def sigmoid_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`sigmoid`.

    .. math::

        \sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr) = \sigma(x)\,\sigma(-x)
        \le \tfrac14

    The maximum 1/4 is reached at :math:`x = 0`. The factor :math:`1 - \sigma(x)` is
    computed as :math:`\sigma(-x)`, the same number in exact arithmetic, because in float32
    ``1 - sigmoid(x)`` rounds to 0 for x > 17 while :math:`\sigma(-x)` keeps the true tail
    :math:`\approx e^{-x}`. The result is finite for every finite float32 input.

    Args:
        x: input array, any shape.

    Returns:
        :math:`\sigma'(x)`, same shape as ``x``, in [0, 1/4].

    Examples:
        >>> float(sigmoid_grad(0.0))
        0.25
    """
    return jax.nn.sigmoid(x) * jax.nn.sigmoid(-jnp.asarray(x))


def tanh(x: ArrayLike) -> Array:
    r"""Hyperbolic tangent.

    .. math::

        \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1

    A rescaled sigmoid with outputs in [-1, 1], centred on zero.

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape with values in [-1, 1].

    References:
        LeCun, Kanter & Solla, `Eigenvalues of covariance matrices: Application to
        neural-network learning <https://doi.org/10.1103/PhysRevLett.66.2396>`_, 1991;
        LeCun, Bottou, Orr & Müller, `Efficient BackProp
        <https://doi.org/10.1007/3-540-49430-8_2>`_, 1998.

    Examples:
        >>> float(tanh(0.0))
        0.0
    """
    return jnp.tanh(x)


def tanh_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`tanh`.

    .. math::

        \tanh'(x) = 1 - \tanh^2(x) = 4\,\sigma'(2x) \le 1

    The maximum 1 is reached at :math:`x = 0`. It is computed as
    :math:`4\,\sigma(2x)\,\sigma(-2x)`, the same number in exact arithmetic, because in
    float32 ``1 - tanh(x)**2`` cancels to 0 for :math:`|x| > 9` while the product keeps the true
    tail :math:`\approx 4e^{-2|x|}`.

    Args:
        x: input array, any shape.

    Returns:
        :math:`1 - \tanh^2(x)`, same shape as ``x``, in [0, 1].

    Examples:
        >>> float(tanh_grad(0.0))
        1.0
    """
    x2 = 2.0 * jnp.asarray(x)
    return 4.0 * jax.nn.sigmoid(x2) * jax.nn.sigmoid(-x2)


def _inexact(x: ArrayLike) -> Array:
    """``x`` as a JAX array of a floating dtype (integers become the default float)."""
    return jnp.asarray(x, dtype=jnp.result_type(x, 1.0))


def _check_scalar(
    name: str, value: object, check: Callable[[str, object], float]
) -> None:
    """Validate a hyper-parameter given as a Python number; arrays (possibly traced or
    learnable) pass through unchecked."""
    if isinstance(value, (bool, int, float)):
        check(name, value)


def _finite(name: str, value: object) -> float:
    if not _checks._is_real(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def softplus(x: ArrayLike) -> Array:
    r"""Softplus, a smooth rectifier.

    .. math::

        \operatorname{softplus}(x) = \log(1 + e^{x})

    Computed as ``logaddexp(x, 0)``, which neither overflows for large x nor loses the
    tail :math:`e^{x}` for very negative x.

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape with values in :math:`(0, \infty)` (float32 rounds
        the far negative tail to 0).

    References:
        Dugas, Bengio, Bélisle, Nadeau & Garcia, `Incorporating second-order functional
        knowledge for better option pricing
        <https://proceedings.neurips.cc/paper/2000/hash/44968aece94f667e4095002d140b5896-Abstract.html>`_,
        2001.

    Examples:
        >>> round(float(softplus(0.0)), 6)
        0.693147
    """
    return jnp.logaddexp(_inexact(x), 0.0)


def softplus_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`softplus`: :math:`\operatorname{softplus}'(x) = \sigma(x)`.

    Smooth, in (0, 1), tending to 1 for large x: softplus never saturates on the right.
    """
    return jax.nn.sigmoid(_inexact(x))


def relu(x: ArrayLike) -> Array:
    r"""Rectified linear unit.

    .. math::

        \operatorname{relu}(x) = \max(0, x) = \begin{cases} x & x > 0 \\ 0 & x \le 0
        \end{cases}

    Written as ``where(x > 0, x, 0)`` so that ``jax.grad`` takes the constant branch at
    the kink and gives :math:`\operatorname{relu}'(0) = 0`, the convention of
    :func:`jax.nn.relu` (``jnp.maximum`` would give 1/2 there).

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape, non-negative.

    References:
        Nair & Hinton, `Rectified linear units improve restricted Boltzmann machines
        <https://icml.cc/Conferences/2010/papers/432.pdf>`_, 2010.

    Examples:
        >>> relu(jnp.array([-2.0, 0.0, 3.0])).tolist()
        [0.0, 0.0, 3.0]
    """
    x = _inexact(x)
    return jnp.where(x > 0, x, jnp.zeros_like(x))


def relu_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`relu`: 1 for x > 0, else 0.

    Convention at the kink: :math:`\operatorname{relu}'(0) = 0` (the left derivative), as
    :func:`jax.nn.relu`. A unit whose pre-activation is :math:`\le 0` passes no gradient.
    """
    x = _inexact(x)
    return jnp.where(x > 0, jnp.ones_like(x), jnp.zeros_like(x))


def relu6(x: ArrayLike) -> Array:
    r"""ReLU capped at 6.

    .. math::

        \operatorname{relu6}(x) = \min(\max(0, x), 6)

    Krizhevsky used the cap for a convolutional deep belief net on CIFAR-10; MobileNets
    keep it because a bounded activation quantises well to 8 bits.

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape with values in [0, 6].

    References:
        Krizhevsky, `Convolutional deep belief networks on CIFAR-10
        <https://www.cs.toronto.edu/~kriz/conv-cifar10-aug2010.pdf>`_, 2010.

    Examples:
        >>> relu6(jnp.array([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    x = _inexact(x)
    return jnp.where(
        x > 0, jnp.where(x < 6, x, jnp.full_like(x, 6.0)), jnp.zeros_like(x)
    )


def relu6_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`relu6`: 1 on (0, 6), else 0.

    Convention at the kinks: 0 at x = 0 and at x = 6, as :func:`jax.nn.relu6`.
    """
    x = _inexact(x)
    return jnp.where((x > 0) & (x < 6), jnp.ones_like(x), jnp.zeros_like(x))


def leaky_relu(x: ArrayLike, negative_slope: ArrayLike = 0.01) -> Array:
    r"""Leaky ReLU: a small fixed slope on the negative side.

    .. math::

        \operatorname{leaky\_relu}(x) = \begin{cases} x & x \ge 0 \\
        a\,x & x < 0 \end{cases}, \qquad a = \text{negative\_slope}

    A unit with negative input still passes a gradient :math:`a`, so it cannot die.

    Args:
        x: input array, any shape.
        negative_slope: :math:`a`, in [0, 1] when a Python number (default 0.01, as
            Maas et al. and :func:`jax.nn.leaky_relu`).

    Returns:
        An array of the same shape.

    Raises:
        ValueError: if ``negative_slope`` is a number outside [0, 1].

    References:
        Maas, Hannun & Ng, `Rectifier nonlinearities improve neural network acoustic
        models <https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf>`_,
        2013.

    Examples:
        >>> [round(v, 4) for v in leaky_relu(jnp.array([-2.0, 3.0])).tolist()]
        [-0.02, 3.0]
    """
    _check_scalar("negative_slope", negative_slope, _unit_interval)
    x = _inexact(x)
    return jnp.where(x >= 0, x, negative_slope * x)


def leaky_relu_grad(x: ArrayLike, negative_slope: ArrayLike = 0.01) -> Array:
    r"""Derivative of :func:`leaky_relu`: 1 for x >= 0, ``negative_slope`` for x < 0.

    Convention at the kink: the right derivative 1 at x = 0, as ``jax.grad`` of
    :func:`jax.nn.leaky_relu` (which selects the ``x >= 0`` branch there). Note that
    this differs from :func:`relu_grad`, which takes 0 at x = 0.

    Raises:
        ValueError: if ``negative_slope`` is a number outside [0, 1].
    """
    _check_scalar("negative_slope", negative_slope, _unit_interval)
    x = _inexact(x)
    return jnp.where(x >= 0, jnp.ones_like(x), negative_slope * jnp.ones_like(x))


def _unit_interval(name: str, value: object) -> float:
    return _checks.in_range(name, value, 0.0, 1.0)


#: PReLU's initial slope in He et al. (2015).
PRELU_INIT = 0.25


def prelu(x: ArrayLike, alpha: ArrayLike = PRELU_INIT) -> Array:
    r"""Parametric ReLU: leaky ReLU whose negative slope is a learned parameter.

    .. math::

        \operatorname{prelu}(x; a) = \begin{cases} x & x \ge 0 \\ a\,x & x < 0
        \end{cases}

    He et al. learn :math:`a` by back-propagation (one per channel, or one per layer),
    start it at 0.25 and leave it **unconstrained**: learned values can be negative or
    larger than 1 (a bound to (0, 1) is not part of the method). The gradient that
    trains it is :func:`prelu_grad_alpha`.

    Args:
        x: input array, any shape.
        alpha: the slope :math:`a`, any real array broadcastable against ``x`` (a
            scalar, or one value per channel on the last axis). Default
            :data:`PRELU_INIT` = 0.25.

    Returns:
        An array of the broadcast shape.

    References:
        He, Zhang, Ren & Sun, `Delving deep into rectifiers: surpassing human-level
        performance on ImageNet classification <https://arxiv.org/abs/1502.01852>`_, 2015.

    Examples:
        >>> prelu(jnp.array([-2.0, 3.0]), alpha=-0.5).tolist()
        [1.0, 3.0]
    """
    x = _inexact(x)
    return jnp.where(x >= 0, x, alpha * x)


def prelu_grad(x: ArrayLike, alpha: ArrayLike = PRELU_INIT) -> Array:
    r"""Derivative of :func:`prelu` with respect to ``x``: 1 for x >= 0, :math:`a` below.

    Convention at the kink: 1 at x = 0, as :func:`leaky_relu_grad`.
    """
    x = _inexact(x)
    return jnp.where(x >= 0, jnp.ones_like(x), alpha * jnp.ones_like(x))


def prelu_grad_alpha(x: ArrayLike, alpha: ArrayLike = PRELU_INIT) -> Array:
    r"""Derivative of :func:`prelu` with respect to the slope, elementwise.

    .. math::

        \frac{\partial \operatorname{prelu}(x; a)}{\partial a} = \min(x, 0)

    (He et al., 2015, eq. 2; the gradient of a shared slope sums this times the upstream
    gradient over the positions that share it). ``alpha`` only sets the broadcast shape.
    """
    x = _inexact(x)
    return jnp.where(x >= 0, jnp.zeros_like(x), x) * jnp.ones_like(alpha)


#: Test-time conventions of :func:`rrelu`, with their default bounds ``(lower, upper)``.
RRELU_CONVENTIONS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"pytorch": (1.0 / 8.0, 1.0 / 3.0), "paper": (3.0, 8.0)}
)


def _rrelu_bounds(
    lower: float | None, upper: float | None, convention: str
) -> tuple[float, float]:
    _checks.one_of("convention", convention, tuple(RRELU_CONVENTIONS))
    default_lower, default_upper = RRELU_CONVENTIONS[convention]
    lower = default_lower if lower is None else lower
    upper = default_upper if upper is None else upper
    if convention == "paper":
        lower = _checks.positive("lower", lower)
    else:
        lower = _checks.non_negative("lower", lower)
    upper = _checks.positive("upper", upper)
    if lower > upper:
        raise ValueError(f"lower must be <= upper, got lower={lower}, upper={upper}")
    return lower, upper


def rrelu_eval_slope(
    lower: float | None = None, upper: float | None = None, convention: str = "pytorch"
) -> float:
    r"""The deterministic negative-side slope :func:`rrelu` uses at evaluation.

    * ``"pytorch"`` (``torch.nn.RReLU``, the form most write-ups quote): the training
      slope is :math:`a \sim U(l, u)` with :math:`(l, u) = (1/8, 1/3)`; at test time the
      mean :math:`(l + u)/2 = 11/48 \approx 0.229`.
    * ``"paper"`` (Xu et al., 2015): the negative part is *divided* by
      :math:`a \sim U(l, u)` with :math:`(l, u) = (3, 8)`; at test time by
      :math:`(l + u)/2`, a slope of :math:`2/(l+u) = 2/11 \approx 0.182`. This is not
      the mean training slope :math:`\mathbb{E}[1/a] = \ln(u/l)/(u-l) \approx 0.196`.

    Args:
        lower, upper: the bounds :math:`l \le u`; ``None`` takes the convention's
            default.
        convention: ``"pytorch"`` or ``"paper"``.

    Returns:
        The evaluation slope, a Python float.

    Raises:
        ValueError: for an unknown ``convention``, ``lower > upper``, a negative bound,
            or (``"paper"``) a bound that is not > 0.

    Examples:
        >>> round(rrelu_eval_slope(), 6), round(rrelu_eval_slope(convention="paper"), 6)
        (0.229167, 0.181818)
    """
    lower, upper = _rrelu_bounds(lower, upper, convention)
    mid = 0.5 * (lower + upper)
    return mid if convention == "pytorch" else 1.0 / mid


def rrelu_slopes(
    key: Array,
    shape: tuple[int, ...],
    lower: float | None = None,
    upper: float | None = None,
    convention: str = "pytorch",
    dtype: jnp.dtype = jnp.float32,
) -> Array:
    r"""Random negative-side slopes of :func:`rrelu` in training, one per element.

    ``"pytorch"``: :math:`a \sim U(l, u)`. ``"paper"``: :math:`1/a` with
    :math:`a \sim U(l, u)`. See :func:`rrelu_eval_slope` for the conventions.

    Args:
        key: PRNG key.
        shape: shape of the activation array.
        lower, upper, convention: as in :func:`rrelu_eval_slope`.
        dtype: floating dtype of the result.

    Returns:
        Slopes of shape ``shape``.
    """
    lower, upper = _rrelu_bounds(lower, upper, convention)
    a = jax.random.uniform(key, shape, dtype, minval=lower, maxval=upper)
    return a if convention == "pytorch" else 1.0 / a


def _rrelu_slope(
    x: Array,
    key: Array | None,
    lower: float | None,
    upper: float | None,
    convention: str,
) -> Array:
    if key is None:
        return jnp.asarray(rrelu_eval_slope(lower, upper, convention), x.dtype)
    return rrelu_slopes(key, x.shape, lower, upper, convention, x.dtype)


def rrelu(
    x: ArrayLike,
    key: Array | None = None,
    lower: float | None = None,
    upper: float | None = None,
    convention: str = "pytorch",
) -> Array:
    r"""Randomised leaky ReLU: a random negative slope in training, a fixed one at test.

    .. math::

        \operatorname{rrelu}(x) = \begin{cases} x & x \ge 0 \\ s\,x & x < 0
        \end{cases}, \qquad
        s = \begin{cases} a \sim U(l, u) & \text{"pytorch"} \\
        1/a,\ a \sim U(l, u) & \text{"paper"} \end{cases}
        \ \text{(training)}, \qquad
        s = \begin{cases} \tfrac{l+u}{2} \\ \tfrac{2}{l+u} \end{cases}
        \ \text{(evaluation)}.

    With ``key`` the function is in training mode and draws one slope per element from
    that key (same key, same slopes, so :func:`rrelu_grad` with the same key is its
    derivative); without a key it is deterministic, with the slope of
    :func:`rrelu_eval_slope`. The default ``convention="pytorch"`` (bounds 1/8, 1/3)
    is ``torch.nn.RReLU``; ``convention="paper"`` (bounds 3, 8) is the experiments of
    Xu et al., who divide the negative part by :math:`a`.

    Args:
        x: input array, any shape.
        key: PRNG key for training mode, or ``None`` for evaluation.
        lower, upper: bounds :math:`l \le u` of the uniform draw; ``None`` takes the
            convention's default.
        convention: ``"pytorch"`` or ``"paper"`` (:data:`RRELU_CONVENTIONS`).

    Returns:
        An array of the same shape.

    Raises:
        ValueError: for an unknown ``convention`` or invalid bounds (``lower > upper``,
            a negative bound, or a bound that is not > 0 with ``"paper"``).

    References:
        Xu, Wang, Chen & Li, `Empirical evaluation of rectified activations in
        convolutional network <https://arxiv.org/abs/1505.00853>`_, 2015.

    Examples:
        >>> round(float(rrelu(-11.0, convention="paper")), 6)
        -2.0
    """
    x = _inexact(x)
    slope = _rrelu_slope(x, key, lower, upper, convention)
    return jnp.where(x >= 0, x, slope * x)


def rrelu_grad(
    x: ArrayLike,
    key: Array | None = None,
    lower: float | None = None,
    upper: float | None = None,
    convention: str = "pytorch",
) -> Array:
    r"""Derivative of :func:`rrelu` (same arguments, same key, same slopes).

    1 for x >= 0 (convention at the kink, as :func:`leaky_relu_grad`), the slope
    :math:`s` for x < 0.
    """
    x = _inexact(x)
    slope = _rrelu_slope(x, key, lower, upper, convention)
    return jnp.where(x >= 0, jnp.ones_like(x), slope * jnp.ones_like(x))


def elu(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    r"""Exponential linear unit.

    .. math::

        \operatorname{elu}(x) = \begin{cases} x & x > 0 \\
        \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    Negative inputs give outputs down to :math:`-\alpha`, which pulls the mean activation
    toward zero (the bias-shift argument of Clevert et al.). The "double where" feeds
    ``expm1`` only non-positive numbers: with a single ``where`` the unused branch
    :math:`e^{100} = \infty` makes ``jax.grad`` return ``inf * 0 = nan`` at x = 100.

    Args:
        x: input array, any shape.
        alpha: :math:`\alpha \ge 0` when a Python number (default 1.0, as
            :func:`jax.nn.elu`).

    Returns:
        An array of the same shape, values > :math:`-\alpha`.

    Raises:
        ValueError: if ``alpha`` is a negative number.

    References:
        Clevert, Unterthiner & Hochreiter, `Fast and accurate deep network learning by
        exponential linear units (ELUs) <https://arxiv.org/abs/1511.07289>`_, 2015.

    Examples:
        >>> round(float(elu(-100.0)), 6), float(elu(2.0))
        (-1.0, 2.0)
    """
    _check_scalar("alpha", alpha, _checks.non_negative)
    x = _inexact(x)
    safe = jnp.where(x > 0, jnp.zeros_like(x), x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(safe))


def elu_grad(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    r"""Derivative of :func:`elu`: 1 for x > 0, :math:`\alpha e^{x}` for x <= 0.

    Convention at the kink: :math:`\alpha` at x = 0 (the left derivative, as
    :func:`jax.nn.elu`); for the default :math:`\alpha = 1` both sides agree and ELU is
    continuously differentiable.

    Raises:
        ValueError: if ``alpha`` is a negative number.
    """
    _check_scalar("alpha", alpha, _checks.non_negative)
    x = _inexact(x)
    safe = jnp.where(x > 0, jnp.zeros_like(x), x)
    return jnp.where(x > 0, jnp.ones_like(x), alpha * jnp.exp(safe))


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


#: SELU's :math:`\alpha`, the published constant (as in :func:`jax.nn.selu`);
#: :func:`selu_constants` derives it to within float64 round-off (1.6732632423543778,
#: three units in the last place above, from ``math.erfc``).
SELU_ALPHA: float = 1.6732632423543772848170429916717
#: SELU's :math:`\lambda`, the published constant; :func:`selu_constants` agrees.
SELU_SCALE: float = 1.0507009873554804934193349852946


def selu(x: ArrayLike) -> Array:
    r"""Scaled ELU, the self-normalising activation.

    .. math::

        \operatorname{selu}(x) = \lambda \begin{cases} x & x > 0 \\
        \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    with :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507` derived by
    :func:`selu_constants` (stored in ``SELU_ALPHA`` and ``SELU_SCALE``). With
    LeCun-normal weights (gain 1) the per-layer mean and variance are attracted to
    (0, 1).

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape, values > :math:`-\lambda\alpha \approx -1.758`.

    References:
        Klambauer, Unterthiner, Mayr & Hochreiter, `Self-normalizing neural networks
        <https://arxiv.org/abs/1706.02515>`_, 2017.

    Examples:
        >>> round(float(selu(1.0)), 4)
        1.0507
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`selu`: :math:`\lambda` for x > 0, :math:`\lambda\alpha e^x`
    for x <= 0.

    Convention at the kink: :math:`\lambda\alpha \approx 1.758` at x = 0 (the left
    derivative, as :func:`jax.nn.selu`), which is also :math:`\sup |\operatorname{selu}'|`.
    """
    return SELU_SCALE * elu_grad(x, SELU_ALPHA)


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


def gelu(x: ArrayLike, approximate: bool = False) -> Array:
    r"""Gaussian error linear unit.

    .. math::

        \operatorname{gelu}(x) = x\,\Phi(x) = \frac{x}{2}\operatorname{erfc}\!\Bigl(
        -\frac{x}{\sqrt 2}\Bigr)
        \approx \frac{x}{2}\Bigl(1 + \tanh\bigl(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\bigr)
        \Bigr)

    The input weighted by the probability that a standard normal is below it: a smooth
    ReLU that dips to about -0.17 near x = -0.75. ``approximate=True`` is the tanh form
    of Hendrycks & Gimpel. **The default here is the exact form** (the paper's
    definition and PyTorch's default); :func:`jax.nn.gelu` defaults to the
    approximation.

    Args:
        x: input array, any shape.
        approximate: use the tanh approximation (a Python bool).

    Returns:
        An array of the same shape.

    Raises:
        ValueError: if ``approximate`` is not a bool.

    References:
        Hendrycks & Gimpel, `Gaussian error linear units (GELUs)
        <https://arxiv.org/abs/1606.08415>`_, 2016.

    Examples:
        >>> round(float(gelu(1.0)), 4), round(float(gelu(1.0, approximate=True)), 4)
        (0.8413, 0.8412)
    """
    _check_bool("approximate", approximate)
    x = _inexact(x)
    if approximate:
        return 0.5 * x * (1.0 + jnp.tanh(_GELU_C * (x + _GELU_K * x**3)))
    return 0.5 * x * jax.lax.erfc(-x / math.sqrt(2.0))


def gelu_grad(x: ArrayLike, approximate: bool = False) -> Array:
    r"""Derivative of :func:`gelu`.

    .. math::

        \operatorname{gelu}'(x) = \Phi(x) + x\,\varphi(x), \qquad
        \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}},

    largest at :math:`x = \sqrt 2` (:math:`\approx 1.129`), and slightly negative for
    x < -0.75. With ``approximate=True``, the derivative of the tanh form,
    :math:`\tfrac12(1 + \tanh u) + \tfrac12 x\,(1 - \tanh^2 u)\,\sqrt{2/\pi}\,
    (1 + 3 \cdot 0.044715\,x^2)` with :math:`u = \sqrt{2/\pi}(x + 0.044715 x^3)`; the
    factor :math:`1 - \tanh^2 u` is computed as :func:`tanh_grad`, which keeps its tail.

    Raises:
        ValueError: if ``approximate`` is not a bool.
    """
    _check_bool("approximate", approximate)
    x = _inexact(x)
    if approximate:
        u = _GELU_C * (x + _GELU_K * x**3)
        du = _GELU_C * (1.0 + 3.0 * _GELU_K * x**2)
        return 0.5 * (1.0 + jnp.tanh(u)) + 0.5 * x * tanh_grad(u) * du
    pdf = jnp.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return 0.5 * jax.lax.erfc(-x / math.sqrt(2.0)) + x * pdf


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def swish(x: ArrayLike, beta: ArrayLike = 1.0) -> Array:
    r"""Swish: the input gated by a sigmoid of itself.

    .. math::

        \operatorname{swish}(x; \beta) = x\,\sigma(\beta x)

    :math:`\beta = 1` is the SiLU of Hendrycks & Gimpel (:func:`silu`); Ramachandran et al.
    found the form by automated search and also let :math:`\beta` be learned, so it is
    not restricted (:math:`\beta \to \infty` gives ReLU, :math:`\beta = 0` gives
    :math:`x/2`).

    Args:
        x: input array, any shape.
        beta: :math:`\beta`, a finite real (array) broadcastable against ``x``.

    Returns:
        An array of the broadcast shape.

    Raises:
        ValueError: if ``beta`` is a Python number that is not finite.

    References:
        Ramachandran, Zoph & Le, `Searching for activation functions
        <https://arxiv.org/abs/1710.05941>`_, 2017; Elfwing, Uchibe & Doya,
        `Sigmoid-weighted linear units for neural network function approximation in
        reinforcement learning <https://arxiv.org/abs/1702.03118>`_, 2017/2018.

    Examples:
        >>> round(float(swish(2.0, beta=1.0)), 4)
        1.7616
    """
    _check_scalar("beta", beta, _finite)
    x = _inexact(x)
    return x * jax.nn.sigmoid(beta * x)


def swish_grad(x: ArrayLike, beta: ArrayLike = 1.0) -> Array:
    r"""Derivative of :func:`swish`.

    .. math::

        \frac{d}{dx}\,x\,\sigma(\beta x) = \sigma(\beta x)
        + \beta x\,\sigma(\beta x)\,\sigma(-\beta x)

    For :math:`\beta = 1` its maximum is about 1.0998 at x = 2.3994 (the root of
    :math:`x \tanh(x/2) = 2`), and it is negative for x < -1.2785.

    Raises:
        ValueError: if ``beta`` is a Python number that is not finite.
    """
    _check_scalar("beta", beta, _finite)
    x = _inexact(x)
    bx = beta * x
    return jax.nn.sigmoid(bx) + bx * jax.nn.sigmoid(bx) * jax.nn.sigmoid(-bx)


def silu(x: ArrayLike) -> Array:
    r"""Sigmoid-weighted linear unit, :math:`x\,\sigma(x)` (:func:`swish` with
    :math:`\beta = 1`).

    References:
        Hendrycks & Gimpel, `Gaussian Error Linear Units (GELUs)
        <https://arxiv.org/abs/1606.08415>`_, 2016 (where it is proposed and named);
        Elfwing, Uchibe & Doya, `Sigmoid-weighted linear units for neural network
        function approximation in reinforcement learning
        <https://arxiv.org/abs/1702.03118>`_, 2017/2018.

    Examples:
        >>> round(float(silu(1.0)), 4)
        0.7311
    """
    return swish(x, 1.0)


def silu_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`silu`: :math:`\sigma(x)\,(1 + x\,\sigma(-x))`."""
    return swish_grad(x, 1.0)


def hard_swish(x: ArrayLike) -> Array:
    r"""Hard swish: swish with the sigmoid replaced by a clipped line.

    .. math::

        \operatorname{hard\_swish}(x) = x\,\frac{\operatorname{relu6}(x + 3)}{6}

    Piecewise quadratic, cheap and exact in low precision; MobileNetV3 uses it in the
    deeper layers.

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape (0 for x <= -3, x for x >= 3).

    References:
        Howard et al., `Searching for MobileNetV3 <https://arxiv.org/abs/1905.02244>`_,
        2019.

    Examples:
        >>> hard_swish(jnp.array([-4.0, 0.0, 4.0])).tolist()
        [-0.0, 0.0, 4.0]
    """
    x = _inexact(x)
    return x * (relu6(x + 3.0) / 6.0)


def hard_swish_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`hard_swish`: 0 for x <= -3, :math:`(2x + 3)/6` on (-3, 3),
    1 for x >= 3.

    Convention at the kinks: 0 at x = -3 and 1 at x = 3, what ``jax.grad`` of
    :func:`jax.nn.hard_swish` gives with :func:`relu6`'s convention. The derivative jumps
    from 3/2 to 1 at x = 3, so :math:`\sup|\phi'| = 3/2` is approached from the left and
    never attained.
    """
    x = _inexact(x)
    middle = (2.0 * x + 3.0) / 6.0
    return jnp.where(
        x <= -3, jnp.zeros_like(x), jnp.where(x >= 3, jnp.ones_like(x), middle)
    )


def mish(x: ArrayLike) -> Array:
    r"""Mish: the input gated by tanh of softplus.

    .. math::

        \operatorname{mish}(x) = x \tanh\bigl(\operatorname{softplus}(x)\bigr)

    Args:
        x: input array, any shape.

    Returns:
        An array of the same shape (minimum about -0.309 near x = -1.19).

    References:
        Misra, `Mish: a self regularized non-monotonic activation function
        <https://arxiv.org/abs/1908.08681>`_, 2019.

    Examples:
        >>> round(float(mish(1.0)), 4)
        0.8651
    """
    x = _inexact(x)
    return x * jnp.tanh(softplus(x))


def mish_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`mish`.

    .. math::

        \operatorname{mish}'(x) = \tanh(s) + x\,\bigl(1 - \tanh^2(s)\bigr)\,\sigma(x),
        \qquad s = \operatorname{softplus}(x),

    with :math:`1 - \tanh^2` computed as :func:`tanh_grad`. Its maximum is about 1.0885
    at x = 1.4906.
    """
    x = _inexact(x)
    s = softplus(x)
    return jnp.tanh(s) + x * tanh_grad(s) * jax.nn.sigmoid(x)


def fixed_point_gain(fn: Callable[[Array], Array], *, points: int = 200_001) -> float:
    r"""The gain that makes unit pre-activation variance a fixed point of the forward pass.

    For :math:`z_{l+1} = W h_l` with :math:`W_{ij} \sim \mathcal N(0, g^2/n)` and
    :math:`h_l = \phi(z_l)`, :math:`\operatorname{Var}(z_{l+1}) = g^2\,
    \mathbb E[\phi(z_l)^2]`, so :math:`\operatorname{Var}(z) = 1` is kept when

    .. math::

        g = \mathbb E_{z \sim \mathcal N(0,1)}\bigl[\phi(z)^2\bigr]^{-1/2}.

    This gives :math:`\sqrt 2` for ReLU and :math:`\sqrt{2/(1+a^2)}` for a leaky slope
    :math:`a` (He et al., 2015) at every scale, and 1 for SELU by construction. The
    expectation is a trapezoid rule on [-12, 12] (float32 function values, float64 sum).

    Args:
        fn: elementwise activation.
        points: grid points, >= 1001.

    Returns:
        :math:`g` as a Python float.

    Raises:
        ValueError: if ``points`` < 1001 or the second moment is not positive and finite.

    Examples:
        >>> round(fixed_point_gain(relu), 5)
        1.41421
    """
    _checks.positive_int("points", points)
    if points < 1001:
        raise ValueError(f"points must be >= 1001, got {points}")
    z = np.linspace(-12.0, 12.0, points)
    values = np.asarray(fn(jnp.asarray(z, jnp.float32)), dtype=np.float64)
    density = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    second = float(np.trapezoid(values**2 * density, z))
    if not 0.0 < second < math.inf:
        raise ValueError(f"fn must have a positive finite second moment, got {second}")
    return 1.0 / math.sqrt(second)


class Activation(NamedTuple):
    r"""One registry entry: an activation and what the course says about it.

    Attributes:
        name: short name, also the key in :data:`REGISTRY` (``"sigmoid"``).
        fn: the activation, elementwise ``ArrayLike -> Array``, at its default
            hyper-parameters (RReLU in evaluation mode).
        grad: its analytic derivative, elementwise.
        year: year of the paper that introduced it as a hidden-unit activation.
        citation: key of that paper in ``references.bib``.
        max_slope: :math:`\sup_x |\phi'(x)|`, the most a unit can amplify a gradient.
        gain: standard-deviation gain for fan-in initialisation, ``Var(w) = gain**2 / n``,
            that keeps the forward signal's scale. Sigmoid and tanh carry
            ``torch.nn.init.calculate_gain``'s values (1 and 5/3); every other entry
            carries :func:`fixed_point_gain`, which for the ReLU family is He et al.'s
            :math:`\sqrt{2/(1+a^2)}` and for SELU is 1 (LeCun normal).
        saturating: True if :math:`\phi'(x) \to 0` on both sides.
        label: display name (``"Leaky ReLU"``).
        formula: the definition in matplotlib mathtext (no ``$``), for the gallery.
        authors: short author list for the timeline (``"Nair & Hinton"``).
        kinks: points where :math:`\phi'` is discontinuous (empty for smooth functions).
    """

    name: str
    fn: Callable[[ArrayLike], Array]
    grad: Callable[[ArrayLike], Array]
    year: int
    citation: str
    max_slope: float
    gain: float
    saturating: bool
    label: str = ""
    formula: str = ""
    authors: str = ""
    kinks: tuple[float, ...] = ()


def _leaky_gain(slope: float) -> float:
    return math.sqrt(2.0 / (1.0 + slope**2))


_RRELU_SLOPE = 11.0 / 48.0  # rrelu_eval_slope() with PyTorch's bounds (1/8, 1/3)

# Values of max_slope and gain are typed, with where they come from; the tests measure
# max_slope on a grid and recompute gain with fixed_point_gain.
_ENTRIES: tuple[Activation, ...] = (
    Activation(
        "sigmoid", sigmoid, sigmoid_grad, 1986, "rumelhart1986learning", 0.25, 1.0, True,
        label="Sigmoid", formula=r"\frac{1}{1+e^{-x}}", authors="Rumelhart, Hinton & Williams",
    ),
    Activation(
        "tanh", tanh, tanh_grad, 1991, "lecun1991eigenvalues", 1.0, 5.0 / 3.0, True,
        label="Tanh", formula=r"\tanh(x)", authors="LeCun, Kanter & Solla",
    ),
    Activation(
        "softplus", softplus, softplus_grad, 2001, "dugas2001incorporating",
        1.0, 1.0419, False,  # sup sigma(x) = 1 (not attained)
        label="Softplus", formula=r"\ln(1+e^{x})", authors="Dugas et al.",
    ),
    Activation(
        "relu", relu, relu_grad, 2010, "nair2010rectified", 1.0, math.sqrt(2.0), False,
        label="ReLU", formula=r"\max(0,x)", authors="Nair & Hinton", kinks=(0.0,),
    ),
    Activation(
        "relu6", relu6, relu6_grad, 2010, "krizhevsky2010convolutional",
        1.0, 1.41421, True,  # gain: the cap at 6 changes E[phi^2] by ~1e-9
        label="ReLU6", formula=r"\min(\max(0,x),6)", authors="Krizhevsky", kinks=(0.0, 6.0),
    ),
    Activation(
        "leaky_relu", leaky_relu, leaky_relu_grad, 2013, "maas2013rectifier",
        1.0, _leaky_gain(0.01), False,
        label="Leaky ReLU", formula=r"\max(0.01x,x)", authors="Maas, Hannun & Ng",
        kinks=(0.0,),
    ),
    Activation(
        "prelu", prelu, prelu_grad, 2015, "he2015delving", 1.0, _leaky_gain(PRELU_INIT),
        False,
        label="PReLU", formula=r"\max(ax,x),\ a_0=0.25", authors="He et al.", kinks=(0.0,),
    ),
    Activation(
        "rrelu", rrelu, rrelu_grad, 2015, "xu2015empirical", 1.0, _leaky_gain(_RRELU_SLOPE),
        False,
        label="RReLU", formula=r"\max(\frac{11}{48}x,x)\ \mathrm{(eval)}",
        authors="Xu et al.", kinks=(0.0,),
    ),
    Activation(
        "elu", elu, elu_grad, 2015, "clevert2016fast", 1.0, 1.2452, False,
        label="ELU", formula=r"x\ (x>0);\ e^{x}-1",
        authors="Clevert, Unterthiner & Hochreiter",
    ),
    Activation(
        "gelu", gelu, gelu_grad, 2016, "hendrycks2016gaussian",
        # max slope at x = sqrt(2): Phi(sqrt 2) + sqrt(2) phi(sqrt 2)
        0.5 * (1.0 + math.erf(1.0)) + math.exp(-1.0) / math.sqrt(math.pi), 1.5335, False,
        label="GELU", formula=r"x\,\Phi(x)", authors="Hendrycks & Gimpel",
    ),
    Activation(
        "selu", selu, selu_grad, 2017, "klambauer2017self", SELU_SCALE * SELU_ALPHA, 1.0,
        False,
        label="SELU", formula=r"\lambda x\ (x>0);\ \lambda\alpha(e^{x}-1)",
        authors="Klambauer et al.", kinks=(0.0,),
    ),
    Activation(
        # named and proposed with GELU by Hendrycks & Gimpel (2016); Elfwing et al. (2018)
        # and Ramachandran et al. (Swish, 2017) came later
        "silu", silu, silu_grad, 2016, "hendrycks2016gaussian", 1.09984, 1.6765, False,
        label="SiLU / Swish", formula=r"x\,\sigma(x)", authors="Hendrycks & Gimpel",
    ),
    Activation(
        "hard_swish", hard_swish, hard_swish_grad, 2019, "howard2019searching", 1.5, 1.7367, False,
        label="Hard swish", formula=r"x\,\frac{\mathrm{relu6}(x+3)}{6}",
        authors="Howard et al.", kinks=(-3.0, 3.0),
    ),
    Activation(
        "mish", mish, mish_grad, 2019, "misra2019mish", 1.08850, 1.4869, False,
        label="Mish", formula=r"x\tanh(\ln(1+e^{x}))", authors="Misra",
    ),
)  # fmt: skip

#: Read-only mapping from name to :class:`Activation`, in historical order.
REGISTRY: Mapping[str, Activation] = MappingProxyType(
    {a.name: a for a in sorted(_ENTRIES, key=lambda a: a.year)}
)


def names() -> tuple[str, ...]:
    """Names of all registered activations, oldest first.

    Examples:
        >>> names()[:2]
        ('sigmoid', 'tanh')
    """
    return tuple(REGISTRY)


def get(name: str) -> Activation:
    """Look up a registry entry by name.

    Args:
        name: one of :func:`names`.

    Returns:
        The :class:`Activation`.

    Raises:
        ValueError: if ``name`` is not registered; the message lists the valid names.
    """
    if name not in REGISTRY:
        raise ValueError(f"activation must be one of {list(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


def resolve(activation: str | Callable[[ArrayLike], Array]) -> Callable[[Array], Array]:
    """Return the function for a registry name, or ``activation`` itself if callable.

    Raises:
        ValueError: if ``activation`` is neither a registered name nor callable.
    """
    if callable(activation):
        return activation
    return get(activation).fn


@functools.partial(jax.jit, static_argnames=("names",))
def _tabulate(x: Array, names: tuple[str, ...]) -> tuple[Array, Array]:
    entries = [REGISTRY[n] for n in names]
    values = jnp.stack([e.fn(x[a]) for a, e in enumerate(entries)])
    slopes = jnp.stack([e.grad(x[a]) for a, e in enumerate(entries)])
    return values, slopes


def tabulate(x: ArrayLike, names: tuple[str, ...] | None = None) -> tuple[Array, Array]:
    """Values and analytic derivatives of several registered activations, in one jit.

    Evaluating fourteen functions eagerly compiles every primitive of each for every new
    shape; this compiles them together once per ``(names, shape)``.

    Args:
        x: points, ``(n,)`` (the same for every activation) or ``(A, n)`` (row ``a`` for
            activation ``names[a]``).
        names: registry names; default all of :func:`names`, oldest first.

    Returns:
        ``(values, slopes)``, each ``(A, n)``: :math:`\\phi_a(x)` and :math:`\\phi_a'(x)`.

    Raises:
        ValueError: for an unknown name, or ``x`` that is not 1-D or ``(A, n)``.

    Examples:
        >>> values, slopes = tabulate(jnp.array([-1.0, 2.0]), ("relu", "tanh"))
        >>> values.shape, slopes[0].tolist()
        ((2, 2), [0.0, 1.0])
    """
    names = tuple(REGISTRY) if names is None else tuple(names)
    for name in names:
        get(name)
    x = _inexact(x)
    if x.ndim == 1:
        x = jnp.broadcast_to(x, (len(names), x.shape[0]))
    if x.ndim != 2 or x.shape[0] != len(names):
        raise ValueError(f"x must be (n,) or ({len(names)}, n), got shape {x.shape}")
    return _tabulate(x, names)
