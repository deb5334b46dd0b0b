r"""Layer Jacobians of a deep MLP, their products, and products of random matrices.

For the network of :mod:`gradcourse.networks`, :math:`z_l = W_l h_{l-1} + b_l`,
:math:`h_l = \phi(z_l)`, the Jacobian of layer :math:`l` at an input is

.. math::

    J_l = \frac{\partial h_l}{\partial h_{l-1}} = \operatorname{diag}\bigl(\phi'(z_l)\bigr)
    W_l ,

and by the chain rule the input-output Jacobian is the ordered product
:math:`\partial h_L / \partial x = J_L J_{L-1} \cdots J_1`, while back-propagation
multiplies the loss gradient by the same factors transposed, in the other order:

.. math::

    \frac{\partial L}{\partial h_l} = J_{l+1}^\top J_{l+2}^\top \cdots J_L^\top
    \frac{\partial L}{\partial h_L}.

How large these products are is set by their **singular values**, not by the
eigenvalues of the factors. This module computes the factors with :func:`jax.jacfwd`,
their running product with :func:`jax.lax.scan`, and the back-propagated signals; the
spectra of the products over inputs and seeds are in :mod:`gradcourse.spectra`, products
of random Gaussian and Haar-orthogonal matrices and powers of a single matrix in
:mod:`gradcourse.randmat`.

Every weight is drawn through :mod:`gradcourse.initializers`: Gaussian weights from one
:func:`~gradcourse.initializers.normal_blocks` draw, orthogonal ones from
:func:`~gradcourse.initializers.haar_stack` (:func:`jax.random.orthogonal`: QR of a
Gaussian matrix with the signs of ``diag(R)`` folded into ``Q``, Mezzadri's recipe for the
Haar measure) or :func:`~gradcourse.initializers.orthogonal`, which equals
:func:`jax.nn.initializers.orthogonal` key for key in our ``(out, in)`` layout.

References:
    Saxe, McClelland & Ganguli, `Exact solutions to the nonlinear dynamics of learning in
    deep linear neural networks <https://arxiv.org/abs/1312.6120>`_, 2014;
    Pennington, Schoenholz & Ganguli, `Resurrecting the sigmoid in deep learning through
    dynamical isometry <https://arxiv.org/abs/1711.04735>`_, 2017;
    Furstenberg & Kesten, `Products of random matrices
    <https://doi.org/10.1214/aoms/1177705909>`_, 1960.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, initializers
from gradcourse.networks import MLP, ActivationLike, Dense, forward_with_trace, init_mlp
from gradcourse.registry import resolve

__all__ = [
    "WEIGHTS",
    "RandomMLP",
    "LayerJacobians",
    "init_mean_field",
    "layer_jacobians",
    "jacobian_products",
    "input_output_jacobian",
    "backprop_signals",
]

#: The weight ensembles, i.i.d. Gaussian or Haar-orthogonal (semi-orthogonal if not square).
WEIGHTS = ("gaussian", "orthogonal")


@dataclasses.dataclass(frozen=True)
class RandomMLP:
    r"""A family of random networks in the mean-field parametrisation: one network per
    key is drawn by :func:`init_mean_field` and run with ``activation``.

    :func:`gradcourse.spectra.spectra_seeds`, :func:`~gradcourse.spectra.log_spectra_seeds`
    and :func:`~gradcourse.spectra.gradient_gains` take one, so a chapter names a
    family once and measures it in several ways. ``sigma_w2`` and ``sigma_b2`` may be
    traced (``jax.vmap`` over a grid of variances); the other fields are Python values.

    Attributes:
        width: units per hidden layer, an integer >= 1.
        depth: hidden layers, an integer >= 1.
        activation: registry name or elementwise function.
        sigma_w2: :math:`\sigma_w^2 \ge 0`.
        sigma_b2: :math:`\sigma_b^2 \ge 0`.
        weights: one of :data:`WEIGHTS`.

    Raises:
        ValueError: for a bad size, a negative variance or an unknown ``weights``.
    """

    width: int
    depth: int
    activation: ActivationLike = "tanh"
    sigma_w2: ArrayLike = 1.0
    sigma_b2: ArrayLike = 0.0
    weights: str = "gaussian"

    def __post_init__(self) -> None:
        _checks.positive_int("width", self.width)
        _checks.positive_int("depth", self.depth)
        _checks.variance("sigma_w2", self.sigma_w2)
        _checks.variance("sigma_b2", self.sigma_b2)
        _checks.one_of("weights", self.weights, WEIGHTS)


class LayerJacobians(NamedTuple):
    """The Jacobians :math:`J_l = \\partial h_l / \\partial h_{l-1}` at one input.

    Attributes:
        first: :math:`J_1 = \\partial h_1 / \\partial x`, shape ``(width, in_dim)``.
        hidden: :math:`J_2, \\dots, J_L` stacked, shape ``(depth - 1, width, width)``.
    """

    first: Array
    hidden: Array


def init_mean_field(
    key: Array,
    in_dim: int,
    width: int,
    depth: int,
    out_dim: int,
    *,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike = 0.0,
    weights: str = "gaussian",
) -> MLP:
    r"""An :class:`~gradcourse.networks.MLP` in the mean-field parametrisation.

    .. math::

        W_l = \sigma_w\, \tilde W_l, \qquad b_l \sim \mathcal{N}(0, \sigma_b^2),

    with :math:`\tilde W_l` either Gaussian, :math:`\mathcal{N}(0, 1/n_{\text{in}})`, or
    Haar-orthogonal (semi-orthogonal for the non-square first and read-out layers). Both
    give :math:`\mathbb{E}\, \lVert W_l v \rVert^2 = \sigma_w^2 \lVert v \rVert^2` for
    square layers, so the mean-field :math:`q^*` and :math:`\chi`
    (:mod:`gradcourse.meanfield`) are the same; the orthogonal weights have every
    singular value equal to :math:`\sigma_w`. The scales multiply unit-scale draws, so
    ``sigma_w2`` and ``sigma_b2`` may be traced (``jax.vmap`` over a grid of them).

    Args:
        key: PRNG key.
        in_dim, width, depth, out_dim: sizes, integers >= 1.
        sigma_w2: :math:`\sigma_w^2 \ge 0`.
        sigma_b2: :math:`\sigma_b^2 \ge 0`.
        weights: one of :data:`WEIGHTS`.

    Returns:
        The parameters.

    Raises:
        ValueError: for a bad size, a negative variance or an unknown ``weights``.

    References:
        Schoenholz et al., `Deep Information Propagation
        <https://arxiv.org/abs/1611.01232>`_, 2017; Saxe et al., 2014 (orthogonal).

    Examples:
        >>> p = init_mean_field(jax.random.key(0), 4, 8, 3, 2, sigma_w2=1.0,
        ...                     weights="orthogonal")
        >>> bool(jnp.allclose(p.hidden.w[0] @ p.hidden.w[0].T, jnp.eye(8), atol=1e-5))
        True
    """
    _checks.one_of("weights", weights, WEIGHTS)
    _checks.variance("sigma_w2", sigma_w2)
    _checks.variance("sigma_b2", sigma_b2)
    for name, value in [("in_dim", in_dim), ("width", width), ("depth", depth),
                        ("out_dim", out_dim)]:  # fmt: skip
        _checks.positive_int(name, value)
    return _init_mean_field(
        key, sigma_w2, sigma_b2, in_dim, width, depth, out_dim, weights
    )


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6, 7))
def _init_mean_field(
    key: Array,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    in_dim: int,
    width: int,
    depth: int,
    out_dim: int,
    weights: str,
) -> MLP:
    # One compiled program per size and ensemble (eagerly, every random op and QR would
    # compile on its own).
    sw, sb = jnp.sqrt(sigma_w2), jnp.sqrt(sigma_b2)
    if weights == "orthogonal" and in_dim <= width and out_dim <= width:
        # One batched Haar draw (one QR to compile): the first ``rows x cols`` block of a
        # Haar matrix of size ``width`` with ``cols = width`` or ``rows = width`` is
        # Haar semi-orthogonal, as :func:`jax.nn.initializers.orthogonal` draws it.
        k_w, k_b = jax.random.split(key)
        q = initializers.haar_stack(k_w, width, depth + 1)
        (u,) = initializers.normal_blocks(k_b, [(depth * width + out_dim,)])
        b = sb * u
        return MLP(
            Dense(sw * q[0][:, :in_dim], b[:width]),
            Dense(sw * q[1:depth], b[width : depth * width].reshape(depth - 1, width)),
            Dense(sw * q[depth][:out_dim], b[depth * width :]),
        )
    if weights == "orthogonal":
        unit = init_mlp(key, in_dim, width, depth, out_dim,
                        w_init=initializers.orthogonal(),
                        b_init=jax.nn.initializers.normal(1.0))  # fmt: skip
        return jax.tree.map(lambda layer: type(layer)(sw * layer.w, sb * layer.b), unit,
                            is_leaf=lambda x: hasattr(x, "w"))  # fmt: skip
    # Gaussian: one draw for all weights and one for all biases (a single random-number
    # kernel each, so compiling an initialiser under jit stays cheap).
    shapes = [(width, in_dim), (depth - 1, width, width), (out_dim, width)]
    k_w, k_b = jax.random.split(key)
    z = initializers.normal_blocks(k_w, shapes)
    (u,) = initializers.normal_blocks(k_b, [(depth * width + out_dim,)])
    w_first, w_hidden, w_out = (
        block * (sw / np.sqrt(sh[-1])) for block, sh in zip(z, shapes, strict=True)
    )
    b = sb * u
    return MLP(
        Dense(w_first, b[:width]),
        Dense(w_hidden, b[width : depth * width].reshape(depth - 1, width)),
        Dense(w_out, b[depth * width :]),
    )


def layer_jacobians(
    params: MLP, x: ArrayLike, activation: ActivationLike = "tanh"
) -> LayerJacobians:
    r"""Every layer's Jacobian :math:`J_l = \partial h_l / \partial h_{l-1}` at ``x``.

    .. math::

        J_l = \operatorname{diag}\bigl(\phi'(z_l)\bigr) W_l .

    Each factor is computed by :func:`jax.jacfwd` of the layer map
    :math:`h \mapsto \phi(W_l h + b_l)` at the activations of one forward pass; the
    hidden layers are mapped with :func:`jax.vmap`.

    Args:
        params: network parameters.
        x: one input, shape ``(in_dim,)``.
        activation: registry name or elementwise function.

    Returns:
        A :class:`LayerJacobians`.

    Raises:
        ValueError: if ``x`` is not 1-D.

    Examples:
        >>> p = init_mlp(jax.random.key(0), in_dim=3, width=5, depth=4, out_dim=2)
        >>> jacs = layer_jacobians(p, jnp.ones(3))
        >>> jacs.first.shape, jacs.hidden.shape
        ((5, 3), (3, 5, 5))
    """
    x = jnp.asarray(x)
    _checks.ndim("x", x, 1)
    return _layer_jacobians(params, x, activation)


@functools.partial(jax.jit, static_argnames=("activation",))
def _layer_jacobians(
    params: MLP, x: Array, activation: ActivationLike
) -> LayerJacobians:
    # One compiled program (eagerly, jacfwd + vmap would compile op by op).
    phi = resolve(activation)
    _, trace = forward_with_trace(params, x, activation)

    def layer(w: Array, b: Array, h: Array) -> Array:
        return phi(w @ h + b)

    jac = jax.jacfwd(layer, argnums=2)
    first = jac(params.first.w, params.first.b, x)
    hidden = jax.vmap(jac)(params.hidden.w, params.hidden.b, trace.post[:-1])
    return LayerJacobians(first, hidden)


def jacobian_products(jacs: LayerJacobians) -> Array:
    r"""Running products :math:`P_l = J_l J_{l-1} \cdots J_1 = \partial h_l / \partial x`.

    Scanned over layers (:math:`P_l = J_l P_{l-1}`), so compile time does not grow with
    depth. The last entry is the input-output Jacobian of the hidden stack.

    Args:
        jacs: the factors, from :func:`layer_jacobians`.

    Returns:
        ``(depth, width, in_dim)`` array; entry ``l - 1`` is :math:`P_l`.

    Raises:
        ValueError: if the shapes of ``jacs`` do not chain.
    """
    first, hidden = jnp.asarray(jacs.first), jnp.asarray(jacs.hidden)
    _checks.ndim("jacs.first", first, 2)
    _checks.ndim("jacs.hidden", hidden, 3)
    if hidden.shape[1:] != (first.shape[0],) * 2:
        raise ValueError(
            f"jacs.hidden must have shape (depth - 1, {first.shape[0]}, "
            f"{first.shape[0]}) to chain with jacs.first, got {hidden.shape}"
        )

    return _running_products(first, hidden)


@jax.jit
def _running_products(first: Array, hidden: Array) -> Array:
    def step(p: Array, j: Array) -> tuple[Array, Array]:
        p = j @ p
        return p, p

    _, rest = jax.lax.scan(step, first, hidden)
    return jnp.concatenate([first[None], rest])


def input_output_jacobian(
    params: MLP, x: ArrayLike, activation: ActivationLike = "tanh"
) -> Array:
    r"""End-to-end Jacobian :math:`\partial h_L / \partial x` by one :func:`jax.jacfwd`.

    The map is the whole hidden stack :math:`x \mapsto h_L` (the linear read-out is left
    out, as in Pennington et al., 2017). This is the reference that
    :func:`jacobian_products` must reproduce.

    Args:
        params: network parameters.
        x: one input, shape ``(in_dim,)``.
        activation: registry name or elementwise function.

    Returns:
        ``(width, in_dim)`` array.

    Raises:
        ValueError: if ``x`` is not 1-D.
    """
    x = jnp.asarray(x)
    _checks.ndim("x", x, 1)
    return _input_output_jacobian(params, x, activation)


@functools.partial(jax.jit, static_argnames=("activation",))
def _input_output_jacobian(params: MLP, x: Array, activation: ActivationLike) -> Array:
    return jax.jacfwd(lambda v: forward_with_trace(params, v, activation)[1].post[-1])(
        x
    )


def backprop_signals(jacs: LayerJacobians, grad_top: ArrayLike) -> Array:
    r"""Back-propagated gradients :math:`\partial L / \partial h_l` for every layer.

    .. math::

        \delta_L = \frac{\partial L}{\partial h_L}, \qquad
        \delta_{l} = J_{l+1}^\top \delta_{l+1} \quad (l = L-1, \dots, 1),

    a reverse scan of vector-Jacobian products: reverse-mode differentiation written out
    with the factors of :func:`layer_jacobians`.

    Args:
        jacs: the factors at one input.
        grad_top: :math:`\partial L / \partial h_L`, shape ``(width,)``.

    Returns:
        ``(depth, width)`` array; row ``l - 1`` is :math:`\partial L / \partial h_l`.

    Raises:
        ValueError: if ``grad_top`` does not have shape ``(width,)``.
    """
    g = jnp.asarray(grad_top)
    width = jacs.first.shape[0]
    if g.shape != (width,):
        raise ValueError(f"grad_top must have shape ({width},), got {g.shape}")
    return _backprop_signals(jnp.asarray(jacs.hidden), g)


@jax.jit
def _backprop_signals(hidden: Array, g: Array) -> Array:
    def step(delta: Array, j: Array) -> tuple[Array, Array]:
        below = j.T @ delta
        return below, below

    _, lower = jax.lax.scan(step, g, hidden, reverse=True)
    return jnp.concatenate([lower, g[None]])
