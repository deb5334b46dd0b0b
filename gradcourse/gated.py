r"""Self-gated activations: the input times a smooth gate of itself, :math:`x\,g(x)`.

GELU (:math:`g = \Phi`), SiLU/Swish (:math:`g = \sigma(\beta x)`), hard swish
(:math:`g = \operatorname{relu6}(x+3)/6`) and Mish
(:math:`g = \tanh\operatorname{softplus}`).
Each has an analytic ``<name>_grad`` tested against ``jax.grad`` as in
:mod:`gradcourse.activations`, whose functions the gates are built from.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import inexact
from gradcourse.activations import relu6, softplus, tanh_grad

__all__ = [
    "gelu",
    "gelu_grad",
    "hard_swish",
    "hard_swish_grad",
    "mish",
    "mish_grad",
    "silu",
    "silu_grad",
    "swish",
    "swish_grad",
]


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
    _checks.boolean("approximate", approximate)
    x = inexact(x)
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
    factor :math:`1 - \tanh^2 u` is computed as :func:`.tanh_grad`, which keeps its tail.

    Raises:
        ValueError: if ``approximate`` is not a bool.
    """
    _checks.boolean("approximate", approximate)
    x = inexact(x)
    if approximate:
        u = _GELU_C * (x + _GELU_K * x**3)
        du = _GELU_C * (1.0 + 3.0 * _GELU_K * x**2)
        return 0.5 * (1.0 + jnp.tanh(u)) + 0.5 * x * tanh_grad(u) * du
    pdf = jnp.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    return 0.5 * jax.lax.erfc(-x / math.sqrt(2.0)) + x * pdf


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
    _checks.if_number("beta", beta, _checks.finite)
    x = inexact(x)
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
    _checks.if_number("beta", beta, _checks.finite)
    x = inexact(x)
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
    x = inexact(x)
    return x * (relu6(x + 3.0) / 6.0)


def hard_swish_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`hard_swish`: 0 for x <= -3, :math:`(2x + 3)/6` on (-3, 3),
    1 for x >= 3.

    Convention at the kinks: 0 at x = -3 and 1 at x = 3, what ``jax.grad`` of
    :func:`jax.nn.hard_swish` gives with :func:`.relu6`'s convention. The derivative jumps
    from 3/2 to 1 at x = 3, so :math:`\sup|\phi'| = 3/2` is approached from the left and
    never attained.
    """
    x = inexact(x)
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
    x = inexact(x)
    return x * jnp.tanh(softplus(x))


def mish_grad(x: ArrayLike) -> Array:
    r"""Derivative of :func:`mish`.

    .. math::

        \operatorname{mish}'(x) = \tanh(s) + x\,\bigl(1 - \tanh^2(s)\bigr)\,\sigma(x),
        \qquad s = \operatorname{softplus}(x),

    with :math:`1 - \tanh^2` computed as :func:`.tanh_grad`. Its maximum is about 1.0885
    at x = 1.4906.
    """
    x = inexact(x)
    s = softplus(x)
    return jnp.tanh(s) + x * tanh_grad(s) * jax.nn.sigmoid(x)
