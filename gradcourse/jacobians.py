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
their running product with :func:`jax.lax.scan`, spectra batched over inputs and seeds
with :func:`jax.vmap`, products of random Gaussian and Haar-orthogonal matrices with their
exact log-norm statistics, and powers of a single (possibly non-normal) matrix.

Orthogonal weights come from :func:`jax.random.orthogonal` (QR of a Gaussian matrix with
the signs of ``diag(R)`` folded into ``Q``, Mezzadri's recipe for the Haar measure), the
sampler behind :func:`jax.nn.initializers.orthogonal`; the initialiser's ``(rows,
columns)`` convention matches our ``(out, in)`` layout, so no re-implementation is needed.

References:
    Saxe, McClelland & Ganguli, `Exact solutions to the nonlinear dynamics of learning in
    deep linear neural networks <https://arxiv.org/abs/1312.6120>`_, 2014;
    Pennington, Schoenholz & Ganguli, `Resurrecting the sigmoid in deep learning through
    dynamical isometry <https://arxiv.org/abs/1711.04735>`_, 2017;
    Furstenberg & Kesten, `Products of random matrices
    <https://doi.org/10.1214/aoms/1177705909>`_, 1960.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.networks import MLP, ActivationLike, Dense, forward_with_trace, init_mlp
from gradcourse.probes import grad_norms
from gradcourse.randmat import (  # noqa: F401  (re-exported: gc.jacobians.random_chain, ...)
    _lyapunov,
    chain_log_norms,
    gaussian_log_growth,
    power_norms,
    random_chain,
    spectral_radius,
)
from gradcourse.registry import resolve

__all__ = [
    "WEIGHTS",
    "LayerJacobians",
    "init_mean_field",
    "layer_jacobians",
    "jacobian_products",
    "input_output_jacobian",
    "backprop_signals",
    "jacobian_spectra",
    "spectra_seeds",
    "log_spectra_seeds",
    "gradient_gains",
]

#: The weight ensembles, i.i.d. Gaussian or Haar-orthogonal (semi-orthogonal if not square).
WEIGHTS = ("gaussian", "orthogonal")


class LayerJacobians(NamedTuple):
    """The Jacobians :math:`J_l = \\partial h_l / \\partial h_{l-1}` at one input.

    Attributes:
        first: :math:`J_1 = \\partial h_1 / \\partial x`, shape ``(width, in_dim)``.
        hidden: :math:`J_2, \\dots, J_L` stacked, shape ``(depth - 1, width, width)``.
    """

    first: Array
    hidden: Array


def _check_sigma(name: str, value: ArrayLike) -> None:
    if isinstance(value, jax.core.Tracer):
        return
    _checks.non_negative(name, float(value))  # type: ignore[arg-type]


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
    _check_sigma("sigma_w2", sigma_w2)
    _check_sigma("sigma_b2", sigma_b2)
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
        q = jax.random.orthogonal(k_w, width, (depth + 1,))
        u = jax.random.normal(k_b, (depth * width + out_dim,))
        b = sb * u
        return MLP(
            Dense(sw * q[0][:, :in_dim], b[:width]),
            Dense(sw * q[1:depth], b[width : depth * width].reshape(depth - 1, width)),
            Dense(sw * q[depth][:out_dim], b[depth * width :]),
        )
    if weights == "orthogonal":
        unit = init_mlp(key, in_dim, width, depth, out_dim,
                        w_init=jax.nn.initializers.orthogonal(),
                        b_init=jax.nn.initializers.normal(1.0))  # fmt: skip
        return jax.tree.map(lambda layer: type(layer)(sw * layer.w, sb * layer.b), unit,
                            is_leaf=lambda x: hasattr(x, "w"))  # fmt: skip
    # Gaussian: one draw for all weights and one for all biases (a single random-number
    # kernel each, so compiling an initialiser under jit stays cheap).
    shapes = [(width, in_dim), (depth - 1, width, width), (out_dim, width)]
    sizes = [int(np.prod(sh)) for sh in shapes]
    k_w, k_b = jax.random.split(key)
    z = jax.random.normal(k_w, (sum(sizes),))
    u = jax.random.normal(k_b, (depth * width + out_dim,))
    ends = np.cumsum(sizes)
    w_first, w_hidden, w_out = (
        z[e - n : e].reshape(sh) * (sw / np.sqrt(sh[-1]))
        for e, n, sh in zip(ends, sizes, shapes, strict=True)
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


def _slopes(phi: ActivationLike, z: Array) -> Array:
    # phi'(z) elementwise: a JVP with a tangent of ones (phi acts entry by entry).
    return jax.jvp(resolve(phi), (z,), (jnp.ones_like(z),))[1]


@functools.partial(jax.jit, static_argnames=("layers",))
def _product_spectra(
    first_w: Array, hidden_w: Array, slopes: Array, layers: tuple[int, ...]
) -> Array:
    # slopes: (batch, depth, width) = phi'(z_l). J_l = diag(slopes_l) W_l, so the heavy
    # part (products and SVDs) does not depend on the activation and compiles once.
    def one(s: Array) -> Array:
        jacs = LayerJacobians(s[0][:, None] * first_w, s[1:, :, None] * hidden_w)
        prods = jacobian_products(jacs)
        return jnp.linalg.svd(prods[jnp.asarray(layers) - 1], compute_uv=False)

    return jax.vmap(one)(slopes)


@functools.partial(jax.jit, static_argnames=("activation",))
def _batch_slopes(params: MLP, xs: Array, activation: ActivationLike) -> Array:
    pre = jax.vmap(lambda x: forward_with_trace(params, x, activation)[1].pre)(xs)
    return _slopes(activation, pre)


def _spectra(
    params: MLP, xs: Array, activation: ActivationLike, layers: tuple[int, ...]
) -> Array:
    slopes = _batch_slopes(params, xs, activation)
    return _product_spectra(params.first.w, params.hidden.w, slopes, layers)


def jacobian_spectra(
    params: MLP,
    xs: ArrayLike,
    activation: ActivationLike = "tanh",
    *,
    layers: tuple[int, ...] | None = None,
) -> Array:
    r"""Singular values of :math:`\partial h_l / \partial x` for a batch of inputs.

    One forward pass and one scanned product per input give the spectra at every
    requested depth :math:`l` at once (the product is shared); inputs are mapped with
    :func:`jax.vmap`. The squared singular values of :math:`P_l` are the factors by which
    :math:`P_l` stretches each direction; their mean is :math:`\frac1n
    \operatorname{tr} P_l^\top P_l \approx \chi^l` in the mean-field limit.

    Args:
        params: network parameters.
        xs: inputs, ``(batch, in_dim)``.
        activation: registry name or elementwise function (static).
        layers: 1-based depths at which to take the spectrum, each in
            ``[1, params.depth]``; default ``(params.depth,)``.

    Returns:
        ``(batch, len(layers), min(width, in_dim))`` singular values, descending.

    Raises:
        ValueError: if ``xs`` is not 2-D or a layer index is out of range.

    References:
        Pennington, Schoenholz & Ganguli, `Resurrecting the sigmoid in deep learning
        through dynamical isometry <https://arxiv.org/abs/1711.04735>`_, 2017.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    layers = (params.depth,) if layers is None else tuple(layers)
    _check_layers(layers, params.depth)
    return _spectra(params, xs, activation, layers)


def _check_layers(layers: tuple[int, ...], depth: int) -> None:
    if not layers or any(
        isinstance(l_, bool) or not isinstance(l_, int) or not 1 <= l_ <= depth
        for l_ in layers
    ):
        raise ValueError(f"layers must be integers in [1, {depth}], got {layers!r}")


def _check_seed_args(
    xs, width, depth, weights, sigma_w2, sigma_b2, layers, square=False
):
    """The arguments of :func:`spectra_seeds` and :func:`log_spectra_seeds`, checked;
    returns ``xs`` as an array and ``layers`` as a tuple (``(depth,)`` when ``None``)."""
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    _checks.positive_int("width", width)
    if square and xs.shape[1] != width:
        raise ValueError(f"xs must have width = {width} columns, got {xs.shape}")
    _checks.positive_int("depth", depth)
    _checks.one_of("weights", weights, WEIGHTS)
    _check_sigma("sigma_w2", sigma_w2)
    _check_sigma("sigma_b2", sigma_b2)
    layers = (depth,) if layers is None else tuple(layers)
    _check_layers(layers, depth)
    return xs, layers


def spectra_seeds(
    keys: Array,
    xs: ArrayLike,
    *,
    width: int,
    depth: int,
    activation: ActivationLike = "tanh",
    sigma_w2: ArrayLike = 1.0,
    sigma_b2: ArrayLike = 0.0,
    weights: str = "gaussian",
    layers: tuple[int, ...] | None = None,
) -> Array:
    """:func:`jacobian_spectra` of one network per key (seeds and inputs mapped with
    ``jax.vmap``).

    Networks come from :func:`init_mean_field` with ``in_dim = xs.shape[1]`` (take it
    equal to ``width`` for square Jacobians).

    Args:
        keys: PRNG keys, shape ``(seeds,)``.
        xs: inputs, ``(batch, in_dim)``.
        width, depth: network size.
        activation: registry name or elementwise function.
        sigma_w2, sigma_b2, weights: as in :func:`init_mean_field`.
        layers: depths, as in :func:`jacobian_spectra`.

    Returns:
        ``(seeds, batch, len(layers), min(width, in_dim))`` singular values.

    Raises:
        ValueError: as :func:`init_mean_field` and :func:`jacobian_spectra`.
    """
    xs, layers = _check_seed_args(xs, width, depth, weights, sigma_w2, sigma_b2, layers)
    # Three programs, each mapped over the seeds: the initialisation (one per ensemble),
    # the slopes phi'(z_l) (one per activation) and the products with their SVDs (one for
    # every activation and ensemble), rather than one per combination.
    params = _init_seeds(keys, sigma_w2, sigma_b2, xs.shape[1], width, depth, weights)
    slopes = _seed_slopes(params, xs, activation)
    return _seed_spectra(params.first.w, params.hidden.w, slopes, layers)


def log_spectra_seeds(
    keys: Array,
    xs: ArrayLike,
    *,
    width: int,
    depth: int,
    activation: ActivationLike = "tanh",
    sigma_w2: ArrayLike = 1.0,
    sigma_b2: ArrayLike = 0.0,
    weights: str = "gaussian",
    layers: tuple[int, ...] | None = None,
) -> Array:
    r"""Log singular values of :math:`\partial h_l / \partial x` by repeated QR.

    As :func:`spectra_seeds`, but the product is never formed: the layer Jacobians are
    applied to an orthonormal frame that is re-orthonormalised after every layer
    (:func:`gradcourse.randmat.lyapunov_spectrum`), and the logs of the diagonals of
    the triangular factors are summed. A float32 SVD of the product cannot see singular
    values more than about seven decades below the largest (a float64 one, sixteen);
    these logs have no such floor, and for long products they equal the log singular
    values to within :math:`O(1)` of :math:`O(l)` (Oseledets).

    Args:
        keys, xs, width, depth, activation, sigma_w2, sigma_b2, weights, layers: as in
            :func:`spectra_seeds`; ``xs.shape[1]`` must equal ``width``.

    Returns:
        ``(seeds, batch, len(layers), width)`` natural logs, descending.

    Raises:
        ValueError: as :func:`spectra_seeds`, or if ``xs.shape[1] != width``.
    """
    xs, layers = _check_seed_args(
        xs, width, depth, weights, sigma_w2, sigma_b2, layers, square=True
    )
    params = _init_seeds(keys, sigma_w2, sigma_b2, width, width, depth, weights)
    slopes = _seed_slopes(params, xs, activation)
    return _seed_log_spectra(params.first.w, params.hidden.w, slopes, layers)


@functools.partial(jax.jit, static_argnames=("layers",))
def _seed_log_spectra(
    first_w: Array, hidden_w: Array, slopes: Array, layers: tuple[int, ...]
) -> Array:
    def one(f: Array, h: Array, s: Array) -> Array:  # s: (depth, width) for one input
        mats = jnp.concatenate([f[None], h]) * s[:, :, None]  # J_l = diag(phi') W_l
        logs = _lyapunov(mats)[jnp.asarray(layers) - 1]
        return -jnp.sort(-logs, axis=-1)

    per_seed = jax.vmap(one, in_axes=(None, None, 0))
    return jax.vmap(per_seed)(first_w, hidden_w, slopes)


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _init_seeds(
    keys: Array,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    in_dim: int,
    width: int,
    depth: int,
    weights: str,
) -> MLP:
    return jax.vmap(
        lambda k: _init_mean_field(
            k, sigma_w2, sigma_b2, in_dim, width, depth, 1, weights
        )
    )(keys)


@functools.partial(jax.jit, static_argnames=("activation",))
def _seed_slopes(params: MLP, xs: Array, activation: ActivationLike) -> Array:
    return jax.vmap(lambda p: _batch_slopes(p, xs, activation))(params)


@functools.partial(jax.jit, static_argnames=("layers",))
def _seed_spectra(
    first_w: Array, hidden_w: Array, slopes: Array, layers: tuple[int, ...]
) -> Array:
    return jax.vmap(lambda f, h, s: _product_spectra(f, h, s, layers))(
        first_w, hidden_w, slopes
    )


@functools.partial(
    jax.jit, static_argnames=("width", "depth", "activation", "weights", "out_dim")
)
def _gains(
    key: Array,
    xs: Array,
    ys: Array,
    sigma_w2: Array,
    sigma_b2: Array,
    width: int,
    depth: int,
    activation: ActivationLike,
    weights: str,
    out_dim: int,
) -> Array:
    params = init_mean_field(key, xs.shape[1], width, depth, out_dim, sigma_w2=sigma_w2,
                             sigma_b2=sigma_b2, weights=weights)  # fmt: skip
    hidden = grad_norms(params, xs, ys, activation).hidden
    return hidden[:-1] / hidden[1:]


def gradient_gains(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    width: int,
    depth: int,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike = 0.0,
    activation: ActivationLike = "tanh",
    weights: str = "gaussian",
) -> Array:
    r"""Measured per-layer gain of the back-propagated gradient in a fresh network.

    .. math::

        r_l = \frac{\lVert \partial L / \partial H_l \rVert_F}
                   {\lVert \partial L / \partial H_{l+1} \rVert_F},
        \qquad l = 1, \dots, L - 1,

    for the cross-entropy loss of a batch (norms from
    :func:`gradcourse.probes.grad_norms`) in a network drawn by :func:`init_mean_field`.
    Mean-field theory predicts
    :math:`r_l^2 \approx \chi` once the layers have reached :math:`q^*`
    (:func:`gradcourse.meanfield.mean_field`). Jitted; ``sigma_w2`` and ``sigma_b2`` are
    traced, so ``jax.vmap`` maps it over seeds and over grids of variances.

    Args:
        key: PRNG key for the network.
        xs: inputs ``(batch, in_dim)``.
        ys: integer labels ``(batch,)``; ``out_dim = max(ys) + 1`` (at least 2).
        width, depth: network size, integers >= 1 and depth >= 2.
        sigma_w2, sigma_b2: variances, >= 0.
        activation: registry name or elementwise function.
        weights: one of :data:`WEIGHTS`.

    Returns:
        ``(depth - 1,)`` ratios :math:`r_1, \dots, r_{L-1}`.

    Raises:
        ValueError: for bad sizes, shapes, variances or ``weights``.

    References:
        Schoenholz et al., `Deep Information Propagation
        <https://arxiv.org/abs/1611.01232>`_, 2017 (Fig. 4).
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    _checks.ndim("ys", ys, 1)
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    if depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    _checks.one_of("weights", weights, WEIGHTS)
    _check_sigma("sigma_w2", sigma_w2)
    _check_sigma("sigma_b2", sigma_b2)
    if ys.shape[0] != xs.shape[0]:
        raise ValueError(
            f"ys must have the batch size of xs ({xs.shape[0]}), got shape {ys.shape}"
        )
    # Labels read on the host: an eager ``ys.max()`` would compile a program of its own.
    out_dim = (
        2 if isinstance(ys, jax.core.Tracer) else max(2, int(np.asarray(ys).max()) + 1)
    )
    return _gains(key, xs, ys, jnp.asarray(sigma_w2, xs.dtype),
                  jnp.asarray(sigma_b2, xs.dtype), width, depth, activation, weights,
                  out_dim)  # fmt: skip
