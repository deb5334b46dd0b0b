"""The activation registry: what the course says about each activation.

:data:`REGISTRY` records for each activation its function and analytic derivative, its
year, the paper that introduced it (a key of ``references.bib``), the largest slope
``max |phi'|`` and the initialisation gain that keeps forward variance constant
(:func:`fixed_point_gain`). :func:`get`, :func:`names` and :func:`resolve` look entries
up; :func:`tabulate` evaluates several in one compiled program. Chapters draw the
timeline, the derivative gallery and the depth comparison from it, so adding an entry
here adds the function to all three.
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
from gradcourse._linalg import inexact
from gradcourse.activations import (
    SELU_ALPHA,
    SELU_SCALE,
    elu,
    elu_grad,
    relu,
    relu6,
    relu6_grad,
    relu_grad,
    selu,
    selu_grad,
    sigmoid,
    sigmoid_grad,
    softplus,
    softplus_grad,
    tanh,
    tanh_grad,
)
from gradcourse.gated import (
    gelu,
    gelu_grad,
    hard_swish,
    hard_swish_grad,
    mish,
    mish_grad,
    silu,
    silu_grad,
)
from gradcourse.leaky import (
    PRELU_INIT,
    leaky_relu,
    leaky_relu_grad,
    prelu,
    prelu_grad,
    rrelu,
    rrelu_grad,
)

__all__ = [
    "fixed_point_gain",
    "get",
    "names",
    "resolve",
    "tabulate",
    "Activation",
    "REGISTRY",
]


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


#: A registry name (``"tanh"``) or a pair ``(phi, phi_prime)`` of elementwise functions.
ActivationSpec = str | tuple[Callable[[ArrayLike], Array], Callable[[ArrayLike], Array]]


def derivative_pair(
    activation: ActivationSpec,
) -> tuple[Callable[[ArrayLike], Array], Callable[[ArrayLike], Array]]:
    """``(phi, phi_prime)`` for a registry name, or ``activation`` itself if it is a
    pair of callables (as the mean-field recursions take it).

    Raises:
        ValueError: if ``activation`` is neither a registered name nor such a pair.
    """
    if isinstance(activation, str):
        entry = get(activation)
        return entry.fn, entry.grad
    if (
        isinstance(activation, tuple)
        and len(activation) == 2
        and all(callable(f) for f in activation)
    ):
        return activation
    raise ValueError(
        "activation must be a registry name or a pair (phi, phi_prime) of callables, "
        f"got {activation!r}"
    )


def kinks(activation: ActivationSpec) -> tuple[float, ...]:
    """Break points of a registered activation's derivative; ``()`` for a pair."""
    return get(activation).kinks if isinstance(activation, str) else ()


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
    x = inexact(x)
    if x.ndim == 1:
        x = jnp.broadcast_to(x, (len(names), x.shape[0]))
    if x.ndim != 2 or x.shape[0] != len(names):
        raise ValueError(f"x must be (n,) or ({len(names)}, n), got shape {x.shape}")
    return _tabulate(x, names)
