"""Leaky rectifiers: ReLU with a negative-side slope that is fixed, learned or random.

* leaky ReLU (Maas et al., 2013): a fixed small slope, so a unit never dies;
* PReLU (He et al., 2015): the slope is a parameter trained by back-propagation;
* RReLU (Xu et al., 2015): the slope is drawn at random while training and fixed at
  evaluation, with two conventions (:data:`RRELU_CONVENTIONS`) that the literature mixes:
  PyTorch's, and the paper's, which divides by the draw.

Each function has an analytic ``<name>_grad`` tested against ``jax.grad`` as those of
:mod:`gradcourse.activations` are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import inexact

__all__ = [
    "leaky_relu",
    "leaky_relu_grad",
    "prelu",
    "prelu_grad",
    "prelu_grad_alpha",
    "rrelu",
    "rrelu_eval_slope",
    "rrelu_grad",
    "rrelu_slopes",
    "PRELU_INIT",
    "RRELU_CONVENTIONS",
    "RReLUConvention",
]


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
    _checks.if_number("negative_slope", negative_slope, _checks.unit_interval)
    x = inexact(x)
    return jnp.where(x >= 0, x, negative_slope * x)


def leaky_relu_grad(x: ArrayLike, negative_slope: ArrayLike = 0.01) -> Array:
    r"""Derivative of :func:`leaky_relu`: 1 for x >= 0, ``negative_slope`` for x < 0.

    Convention at the kink: the right derivative 1 at x = 0, as ``jax.grad`` of
    :func:`jax.nn.leaky_relu` (which selects the ``x >= 0`` branch there). Note that
    this differs from :func:`.relu_grad`, which takes 0 at x = 0.

    Raises:
        ValueError: if ``negative_slope`` is a number outside [0, 1].
    """
    _checks.if_number("negative_slope", negative_slope, _checks.unit_interval)
    x = inexact(x)
    return jnp.where(x >= 0, jnp.ones_like(x), negative_slope * jnp.ones_like(x))


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
    x = inexact(x)
    return jnp.where(x >= 0, x, alpha * x)


def prelu_grad(x: ArrayLike, alpha: ArrayLike = PRELU_INIT) -> Array:
    r"""Derivative of :func:`prelu` with respect to ``x``: 1 for x >= 0, :math:`a` below.

    Convention at the kink: 1 at x = 0, as :func:`leaky_relu_grad`.
    """
    x = inexact(x)
    return jnp.where(x >= 0, jnp.ones_like(x), alpha * jnp.ones_like(x))


def prelu_grad_alpha(x: ArrayLike, alpha: ArrayLike = PRELU_INIT) -> Array:
    r"""Derivative of :func:`prelu` with respect to the slope, elementwise.

    .. math::

        \frac{\partial \operatorname{prelu}(x; a)}{\partial a} = \min(x, 0)

    (He et al., 2015, eq. 2; the gradient of a shared slope sums this times the upstream
    gradient over the positions that share it). ``alpha`` only sets the broadcast shape.
    """
    x = inexact(x)
    return jnp.where(x >= 0, jnp.zeros_like(x), x) * jnp.ones_like(alpha)


@dataclasses.dataclass(frozen=True)
class RReLUConvention:
    r"""How :func:`rrelu` draws its negative-side slope: :math:`a \sim U(l, u)` in
    training, and whether the negative part is multiplied by :math:`a` (PyTorch) or
    divided by it (Xu et al.'s experiments, ``divide=True``).

    Attributes:
        lower: :math:`l`, the lower bound of the uniform draw, :math:`\ge 0`
            (:math:`> 0` with ``divide``).
        upper: :math:`u \ge l`, the upper bound, :math:`> 0`.
        divide: divide the negative part by the draw instead of multiplying.

    Raises:
        ValueError: for ``lower > upper``, a negative bound, or (``divide``) a bound
            that is not > 0.
    """

    lower: float
    upper: float
    divide: bool = False

    def __post_init__(self) -> None:
        if self.divide:
            _checks.positive("lower", self.lower)
        else:
            _checks.non_negative("lower", self.lower)
        _checks.positive("upper", self.upper)
        if self.lower > self.upper:
            raise ValueError(
                f"lower must be <= upper, got lower={self.lower}, upper={self.upper}"
            )


#: The two conventions of :func:`rrelu` by name: PyTorch's, and the paper's.
RRELU_CONVENTIONS: Mapping[str, RReLUConvention] = MappingProxyType(
    {
        "pytorch": RReLUConvention(1.0 / 8.0, 1.0 / 3.0),
        "paper": RReLUConvention(3.0, 8.0, divide=True),
    }
)


def _convention(convention: str | RReLUConvention) -> RReLUConvention:
    if isinstance(convention, RReLUConvention):
        return convention
    _checks.one_of("convention", convention, tuple(RRELU_CONVENTIONS))
    return RRELU_CONVENTIONS[convention]


def rrelu_eval_slope(convention: str | RReLUConvention = "pytorch") -> float:
    r"""The deterministic negative-side slope :func:`rrelu` uses at evaluation.

    * ``"pytorch"`` (``torch.nn.RReLU``, the form most write-ups quote): the training
      slope is :math:`a \sim U(l, u)` with :math:`(l, u) = (1/8, 1/3)`; at test time the
      mean :math:`(l + u)/2 = 11/48 \approx 0.229`.
    * ``"paper"`` (Xu et al., 2015): the negative part is *divided* by
      :math:`a \sim U(l, u)` with :math:`(l, u) = (3, 8)`; at test time by
      :math:`(l + u)/2`, a slope of :math:`2/(l+u) = 2/11 \approx 0.182`. This is not
      the mean training slope :math:`\mathbb{E}[1/a] = \ln(u/l)/(u-l) \approx 0.196`.

    Args:
        convention: ``"pytorch"``, ``"paper"`` (:data:`RRELU_CONVENTIONS`) or an
            :class:`RReLUConvention` with other bounds.

    Returns:
        The evaluation slope, a Python float.

    Raises:
        ValueError: for an unknown ``convention``.

    Examples:
        >>> round(rrelu_eval_slope(), 6), round(rrelu_eval_slope("paper"), 6)
        (0.229167, 0.181818)
    """
    c = _convention(convention)
    mid = 0.5 * (c.lower + c.upper)
    return 1.0 / mid if c.divide else mid


def rrelu_slopes(
    key: Array,
    shape: tuple[int, ...],
    convention: str | RReLUConvention = "pytorch",
    dtype: jnp.dtype = jnp.float32,
) -> Array:
    r"""Random negative-side slopes of :func:`rrelu` in training, one per element.

    ``"pytorch"``: :math:`a \sim U(l, u)`. ``"paper"``: :math:`1/a` with
    :math:`a \sim U(l, u)`. See :func:`rrelu_eval_slope` for the conventions.

    Args:
        key: PRNG key.
        shape: shape of the activation array.
        convention: as in :func:`rrelu_eval_slope`.
        dtype: floating dtype of the result.

    Returns:
        Slopes of shape ``shape``.
    """
    c = _convention(convention)
    a = jax.random.uniform(key, shape, dtype, minval=c.lower, maxval=c.upper)
    return 1.0 / a if c.divide else a


def _rrelu_slope(
    x: Array, key: Array | None, convention: str | RReLUConvention
) -> Array:
    if key is None:
        return jnp.asarray(rrelu_eval_slope(convention), x.dtype)
    return rrelu_slopes(key, x.shape, convention, x.dtype)


def rrelu(
    x: ArrayLike,
    key: Array | None = None,
    convention: str | RReLUConvention = "pytorch",
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
        convention: ``"pytorch"`` or ``"paper"`` (:data:`RRELU_CONVENTIONS`), or an
            :class:`RReLUConvention` with other bounds :math:`l \le u`.

    Returns:
        An array of the same shape.

    Raises:
        ValueError: for an unknown ``convention``.

    References:
        Xu, Wang, Chen & Li, `Empirical evaluation of rectified activations in
        convolutional network <https://arxiv.org/abs/1505.00853>`_, 2015.

    Examples:
        >>> round(float(rrelu(-11.0, convention="paper")), 6)
        -2.0
    """
    x = inexact(x)
    slope = _rrelu_slope(x, key, convention)
    return jnp.where(x >= 0, x, slope * x)


def rrelu_grad(
    x: ArrayLike,
    key: Array | None = None,
    convention: str | RReLUConvention = "pytorch",
) -> Array:
    r"""Derivative of :func:`rrelu` (same arguments, same key, same slopes).

    1 for x >= 0 (convention at the kink, as :func:`leaky_relu_grad`), the slope
    :math:`s` for x < 0.
    """
    x = inexact(x)
    slope = _rrelu_slope(x, key, convention)
    return jnp.where(x >= 0, jnp.ones_like(x), slope * jnp.ones_like(x))
