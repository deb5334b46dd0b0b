"""Activation functions, their analytic derivatives, and the registry that describes them.

Every activation is an elementwise pure function ``ArrayLike -> Array`` with a companion
``<name>_grad`` that returns its derivative in closed form. The tests compare each
derivative with ``jax.vmap(jax.grad(f))`` at ordinary points, at kinks and at |x| = 1e4, and
each function with ``jax.nn`` wherever ``jax.nn`` has it.

The registry (:data:`REGISTRY`, :func:`get`, :func:`names`) records for each activation its
year, the paper that introduced it (a key of ``references.bib``), the largest slope
``max |phi'|`` and the initialisation gain that keeps forward variance constant. Chapters
draw the timeline, the derivative gallery and the depth comparison from it, so adding an
entry here adds the function to all three.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

__all__ = [
    "Activation",
    "REGISTRY",
    "get",
    "names",
    "resolve",
    "sigmoid",
    "sigmoid_grad",
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
        rounds to the ends for |x| > 17 or so).

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
    float32 ``1 - tanh(x)**2`` cancels to 0 for |x| > 9 while the product keeps the true
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


class Activation(NamedTuple):
    """One registry entry: an activation and what the course says about it.

    Attributes:
        name: short name, also the key in :data:`REGISTRY` (``"sigmoid"``).
        fn: the activation, elementwise ``ArrayLike -> Array``.
        grad: its analytic derivative, elementwise.
        year: year of the paper that introduced it as a hidden-unit activation.
        citation: key of that paper in ``references.bib``.
        max_slope: :math:`\\sup_x |\\phi'(x)|`, the most a unit can amplify a gradient.
        gain: standard-deviation gain for fan-in initialisation, ``Var(w) = gain**2 / n``,
            that keeps the forward signal's scale (as ``torch.nn.init.calculate_gain``).
        saturating: True if :math:`\\phi'(x) \\to 0` on both sides.
    """

    name: str
    fn: Callable[[ArrayLike], Array]
    grad: Callable[[ArrayLike], Array]
    year: int
    citation: str
    max_slope: float
    gain: float
    saturating: bool


_ENTRIES: tuple[Activation, ...] = (
    Activation(
        "sigmoid", sigmoid, sigmoid_grad, 1986, "rumelhart1986learning", 0.25, 1.0, True
    ),
    Activation(
        "tanh", tanh, tanh_grad, 1991, "lecun1991eigenvalues", 1.0, 5.0 / 3.0, True
    ),
)

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
