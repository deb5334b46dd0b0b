"""Activation functions and their analytic derivatives: the saturating and rectifying
classics.

Every activation is an elementwise pure function ``ArrayLike -> Array`` with a companion
``<name>_grad`` that returns its derivative in closed form. The tests compare each
derivative with ``jax.vmap(jax.grad(f))`` at ordinary points, at kinks and at
:math:`|x| = 10^4`, and each function with ``jax.nn`` wherever ``jax.nn`` has it.

This module holds sigmoid, tanh, softplus, ReLU, ReLU6, ELU and SELU. The rectifiers with
a negative-side slope (leaky ReLU, PReLU, RReLU) live in :mod:`gradcourse.leaky`, the
self-gated ones (GELU, SiLU/Swish, hard swish, Mish) in :mod:`gradcourse.gated`, and what
the course says about each (year, paper, slope, gain) in :mod:`gradcourse.registry`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import inexact

__all__ = [
    "elu",
    "elu_grad",
    "relu",
    "relu6",
    "relu6_grad",
    "relu_grad",
    "selu",
    "selu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softplus",
    "softplus_grad",
    "tanh",
    "tanh_grad",
    "SELU_ALPHA",
    "SELU_SCALE",
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
    return jnp.logaddexp(inexact(x), 0.0)


def softplus_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`softplus`: :math:`\operatorname{softplus}'(x) = \sigma(x)`.

    Smooth, in (0, 1), tending to 1 for large x: softplus never saturates on the right.
    """
    return jax.nn.sigmoid(inexact(x))


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
    x = inexact(x)
    return jnp.where(x > 0, x, jnp.zeros_like(x))


def relu_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`relu`: 1 for x > 0, else 0.

    Convention at the kink: :math:`\operatorname{relu}'(0) = 0` (the left derivative), as
    :func:`jax.nn.relu`. A unit whose pre-activation is :math:`\le 0` passes no gradient.
    """
    x = inexact(x)
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
    x = inexact(x)
    return jnp.where(
        x > 0, jnp.where(x < 6, x, jnp.full_like(x, 6.0)), jnp.zeros_like(x)
    )


def relu6_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`relu6`: 1 on (0, 6), else 0.

    Convention at the kinks: 0 at x = 0 and at x = 6, as :func:`jax.nn.relu6`.
    """
    x = inexact(x)
    return jnp.where((x > 0) & (x < 6), jnp.ones_like(x), jnp.zeros_like(x))


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
    _checks.if_number("alpha", alpha, _checks.non_negative)
    x = inexact(x)
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
    _checks.if_number("alpha", alpha, _checks.non_negative)
    x = inexact(x)
    safe = jnp.where(x > 0, jnp.zeros_like(x), x)
    return jnp.where(x > 0, jnp.ones_like(x), alpha * jnp.exp(safe))


#: SELU's :math:`\alpha`, the published constant (as in :func:`jax.nn.selu`);
#: :func:`gradcourse.moments.selu_constants` derives it to within float64 round-off
#: (1.6732632423543778, three units in the last place above, from ``math.erfc``).
SELU_ALPHA: float = 1.6732632423543772848170429916717
#: SELU's :math:`\lambda`, the published constant; :func:`gradcourse.moments.selu_constants` agrees.
SELU_SCALE: float = 1.0507009873554804934193349852946


def selu(x: ArrayLike) -> Array:
    r"""Scaled ELU, the self-normalising activation.

    .. math::

        \operatorname{selu}(x) = \lambda \begin{cases} x & x > 0 \\
        \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    with :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507` derived by
    :func:`gradcourse.moments.selu_constants` (stored in ``SELU_ALPHA`` and ``SELU_SCALE``). With
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
