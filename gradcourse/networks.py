r"""Deep multilayer perceptrons of equal width, scanned over a stack of layers.

The network has ``depth`` hidden layers of ``width`` units and a linear read-out:

.. math::

    h_0 = x, \qquad z_l = W_l h_{l-1} + b_l, \qquad h_l = \phi(z_l)
    \quad (l = 1, \dots, L), \qquad f(x) = W_{\text{out}} h_L + b_{\text{out}}.

Layer 1 maps ``in_dim`` to ``width``; layers 2..L are ``width x width`` and are stored as
one stacked array of shape ``(depth - 1, width, width)`` that :func:`jax.lax.scan` walks
through, so tracing and compile time stay flat in depth (a Python loop unrolls every layer
into the XLA program). Weights are ``(out, in)`` and act on one example as ``w @ x``;
batches come from :func:`jax.vmap` (:func:`forward_batch`).

References:
    Rumelhart, Hinton & Williams, `Learning representations by back-propagating errors
    <https://doi.org/10.1038/323533a0>`_, 1986.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.leaky import prelu
from gradcourse.registry import resolve

__all__ = [
    "Dense",
    "MLP",
    "MLPModel",
    "PReLUBlock",
    "PReLUNet",
    "PlainBlock",
    "ResidualBlock",
    "Trace",
    "prelu_forward",
    "prelu_model",
    "scan_forward",
    "init_mlp",
    "forward",
    "forward_with_trace",
    "forward_batch",
    "forward_unrolled",
    "loss",
    "mlp_model",
    "LOSSES",
]

Initializer = Callable[..., Array]
ActivationLike = str | Callable[[ArrayLike], Array]


class Dense(NamedTuple):
    """Affine layer parameters: ``w`` is ``(out, in)``, ``b`` is ``(out,)``.

    A stack of layers has one more leading axis on both: ``(depth, out, in)``, ``(depth, out)``.
    """

    w: Array
    b: Array


class MLP(NamedTuple):
    """Parameters of a deep equal-width MLP.

    Attributes:
        first: layer 1, ``w`` of shape ``(width, in_dim)``.
        hidden: layers 2..depth stacked, ``w`` of shape ``(depth - 1, width, width)``.
        readout: linear output layer, ``w`` of shape ``(out_dim, width)``.
    """

    first: Dense
    hidden: Dense
    readout: Dense

    @property
    def depth(self) -> int:
        """Number of hidden (activation) layers."""
        return 1 + self.hidden.w.shape[0]

    @property
    def width(self) -> int:
        """Units per hidden layer."""
        return self.first.w.shape[0]


class Trace(NamedTuple):
    """Every hidden layer's pre-activations ``z`` and activations ``h``, each ``(depth, width)``
    for one example (``(batch, depth, width)`` from :func:`forward_batch`)."""

    pre: Array
    post: Array


def _default_w_init() -> Initializer:
    # Gaussian with Var(w) = 1 / fan_in (LeCun), untruncated, with the (out, in) layout.
    return jax.nn.initializers.variance_scaling(
        1.0, "fan_in", "normal", in_axis=-1, out_axis=-2
    )


def init_mlp(
    key: Array,
    in_dim: int,
    width: int,
    depth: int,
    out_dim: int,
    *,
    w_init: Initializer | None = None,
    b_init: Initializer | None = None,
    dtype: jnp.dtype = jnp.float32,
) -> MLP:
    """Initialise an :class:`MLP`.

    Each weight matrix is drawn separately with ``w_init(key, (out, in), dtype)``, so
    fan-in and fan-out are those of one layer even for the stacked hidden weights.

    Args:
        key: PRNG key.
        in_dim: input features, >= 1.
        width: units per hidden layer, >= 1.
        depth: number of hidden layers, >= 1.
        out_dim: outputs (classes), >= 1.
        w_init: a ``jax.nn.initializers``-style initialiser for ``(out, in)`` weights;
            default an untruncated Gaussian with ``Var(w) = 1 / fan_in`` (LeCun). Pass ``in_axis=-1,
            out_axis=-2`` when building one from ``jax.nn.initializers``.
        b_init: initialiser for biases; default zeros.
        dtype: parameter dtype.

    Returns:
        The parameters.

    Raises:
        ValueError: if a size is not an integer >= 1.

    Examples:
        >>> params = init_mlp(jax.random.key(0), in_dim=8, width=16, depth=5, out_dim=3)
        >>> params.hidden.w.shape, params.depth
        ((4, 16, 16), 5)
    """
    for name, value in [
        ("in_dim", in_dim),
        ("width", width),
        ("depth", depth),
        ("out_dim", out_dim),
    ]:
        _checks.positive_int(name, value)
    w_init = _default_w_init() if w_init is None else w_init
    b_init = jax.nn.initializers.zeros if b_init is None else b_init
    k_first, k_hidden, k_out, k_bias = jax.random.split(key, 4)
    kb = jax.random.split(k_bias, 3)

    def dense(kw: Array, kb_: Array, n_out: int, n_in: int) -> Dense:
        return Dense(w_init(kw, (n_out, n_in), dtype), b_init(kb_, (n_out,), dtype))

    hidden_keys = jax.random.split(k_hidden, 2 * (depth - 1)).reshape(depth - 1, 2)
    hidden = (
        jax.vmap(lambda k: dense(k[0], k[1], width, width))(hidden_keys)
        if depth > 1
        else Dense(jnp.zeros((0, width, width), dtype), jnp.zeros((0, width), dtype))
    )
    return MLP(
        first=dense(k_first, kb[0], width, in_dim),
        hidden=hidden,
        readout=dense(k_out, kb[2], out_dim, width),
    )


@dataclasses.dataclass(frozen=True)
class PlainBlock:
    r"""The plain layer :math:`h_l = \phi(W_l h_{l-1} + b_l)`; scanned input a
    :class:`Dense` of shape ``(width, width)``."""

    activation: ActivationLike = "tanh"

    def __call__(self, h: Array, layer: Dense) -> tuple[Array, Array]:
        """``(h_l, z_l)`` of one layer."""
        z = layer.w @ h + layer.b
        return resolve(self.activation)(z), z


@dataclasses.dataclass(frozen=True)
class PReLUBlock:
    r"""The PReLU layer :math:`h_l = \operatorname{prelu}(W_l h_{l-1} + b_l;\ a_l)`
    with per-unit slopes :math:`a_l` (He et al., 2015); scanned input ``(Dense, a_l)``."""

    def __call__(self, h: Array, inputs: tuple[Dense, Array]) -> tuple[Array, Array]:
        """``(h_l, z_l)`` of one layer."""
        (w, b), a = inputs
        z = w @ h + b
        return prelu(z, a), z


@dataclasses.dataclass(frozen=True)
class ResidualBlock:
    r"""The residual block :math:`h_l = h_{l-1} + \alpha_l F_l(h_{l-1})` (or the plain
    :math:`F_l(h_{l-1})` where the shortcut flag is off), with a one-layer branch
    :math:`F(h) = \phi(W h + b)` or a two-layer branch :math:`V\phi(W h + b) + c`
    (He et al., 2016); scanned input ``(branch layers, shortcut, alpha)``."""

    activation: ActivationLike = "relu"

    def branch(self, layers: tuple[Dense, ...], h: Array) -> tuple[Array, Array]:
        """``(F(h), z)``: the branch output and its first pre-activation."""
        z = layers[0].w @ h + layers[0].b
        out = resolve(self.activation)(z)
        if len(layers) == 2:
            out = layers[1].w @ out + layers[1].b
        return out, z

    def __call__(self, h: Array, inputs: tuple) -> tuple[Array, Array]:
        """``(h_l, z_l)`` of one block."""
        layers, shortcut, alpha = inputs
        f, z = self.branch(layers, h)
        return jnp.where(shortcut, h + alpha * f, f), z


def scan_forward(
    block: Callable[[Array, Any], tuple[Array, Array]],
    first: Dense,
    inputs: Any,
    readout: Dense,
    x: Array,
    embed: Callable[[Array], Array],
    taps: Array | None = None,
) -> tuple[Array, Trace]:
    r"""The one scanned forward pass: embed, ``block`` over a stack, linear read-out.

    .. math::

        h_1 = \text{embed}(W_1 x + b_1), \qquad
        (h_{l+1}, z_{l+1}) = \text{block}(h_l, \text{inputs}_l), \qquad
        f(x) = W_{\text{out}} h_L + b_{\text{out}},

    one :func:`jax.lax.scan` over the leading axis of ``inputs``, so compile time stays
    flat in depth. The block is data (:class:`PlainBlock`, :class:`PReLUBlock`,
    :class:`ResidualBlock`: frozen dataclasses, equal by value).

    Args:
        block: ``block(h, inputs_l) -> (h_next, z)``.
        first: the first layer, ``w`` of shape ``(width, in_dim)``.
        inputs: the scanned per-layer inputs (weights and any per-layer settings).
        readout: the read-out layer, ``w`` of shape ``(out_dim, width)``.
        x: one input ``(in_dim,)``.
        embed: activation of the first layer.
        taps: optional ``(layers, width)`` array added to every ``h`` (its gradient is
            :math:`\partial L/\partial h_l`); None adds nothing.

    Returns:
        ``(output, trace)`` with ``trace`` fields ``(layers, width)``.
    """
    z1 = first.w @ x + first.b
    h1 = embed(z1) if taps is None else embed(z1) + taps[0]

    def layer(h: Array, per_layer: Any) -> tuple[Array, tuple[Array, Array]]:
        if taps is None:
            h_next, z = block(h, per_layer)
        else:
            h_next, z = block(h, per_layer[0])
            h_next = h_next + per_layer[1]
        return h_next, (z, h_next)

    scanned = inputs if taps is None else (inputs, taps[1:])
    h_last, (zs, hs) = jax.lax.scan(layer, h1, scanned)
    out = readout.w @ h_last + readout.b
    return out, Trace(jnp.concatenate([z1[None], zs]), jnp.concatenate([h1[None], hs]))


def forward_with_trace(
    params: MLP,
    x: ArrayLike,
    activation: ActivationLike = "tanh",
    *,
    taps: ArrayLike | None = None,
) -> tuple[Array, Trace]:
    """Run the network on one example and keep every layer's ``z_l`` and ``h_l``.

    Args:
        params: network parameters.
        x: one input, shape ``(in_dim,)``.
        activation: a registry name (``"tanh"``) or an elementwise function.
        taps: optional ``(depth, width)`` array added to each layer's activation
            (``h_l + taps[l]``). Its gradient is :math:`\\partial L / \\partial h_l`, which is
            how :mod:`gradcourse.probes` reads the back-propagated signal; zeros change
            nothing.

    Returns:
        ``(output, trace)``: output of shape ``(out_dim,)`` and a :class:`Trace`.
    """
    x = jnp.asarray(x)
    _checks.ndim("x", x, 1)
    if taps is None:
        taps = jnp.zeros((params.depth, params.width), x.dtype)
    block = PlainBlock(activation)
    return scan_forward(block, params.first, params.hidden, params.readout, x,
                        resolve(activation), taps)  # fmt: skip


def forward(params: MLP, x: ArrayLike, activation: ActivationLike = "tanh") -> Array:
    """Output of the network for one example ``x`` of shape ``(in_dim,)``.

    Examples:
        >>> params = init_mlp(jax.random.key(0), in_dim=4, width=8, depth=3, out_dim=2)
        >>> forward(params, jnp.ones(4)).shape
        (2,)
    """
    return forward_with_trace(params, x, activation)[0]


def forward_batch(
    params: MLP, xs: ArrayLike, activation: ActivationLike = "tanh"
) -> tuple[Array, Trace]:
    """:func:`forward_with_trace` over a batch ``xs`` of shape ``(batch, in_dim)``.

    Returns:
        ``(outputs, trace)`` with shapes ``(batch, out_dim)`` and ``(batch, depth, width)``.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    return jax.vmap(lambda x: forward_with_trace(params, x, activation))(xs)


def forward_unrolled(
    params: MLP, x: ArrayLike, activation: ActivationLike = "tanh"
) -> Array:
    """Reference implementation with a Python loop over layers (unrolled when traced).

    Same result as :func:`forward`; used by the tests and the benchmark to show what the
    scan saves in compile time.
    """
    phi = resolve(activation)
    h = phi(params.first.w @ jnp.asarray(x) + params.first.b)
    for i in range(params.depth - 1):
        h = phi(params.hidden.w[i] @ h + params.hidden.b[i])
    return params.readout.w @ h + params.readout.b


@dataclasses.dataclass(frozen=True)
class MLPModel:
    """The ``model`` of :func:`gradcourse.train.fit` for a :class:`MLP`:
    ``model(params, xs) -> (outputs, trace)`` by
    :func:`gradcourse.networks.forward_batch`. Frozen, so equal activations give equal
    models and one compiled training loop."""

    activation: ActivationLike = "tanh"

    def __call__(self, params: MLP, xs: Array) -> tuple[Array, Trace]:
        """Outputs ``(batch, out_dim)`` and the :class:`~gradcourse.networks.Trace`."""
        return forward_batch(params, xs, self.activation)


def mlp_model(activation: ActivationLike) -> MLPModel:
    """The ``model`` callable for a :class:`MLP` with ``activation``.

    Examples:
        >>> model = mlp_model("tanh")
        >>> model == mlp_model("tanh"), model(
        ...     init_mlp(jax.random.key(0), 2, 4, 2, 3), jnp.ones((5, 2)))[0].shape
        (True, (5, 3))
    """
    return MLPModel(activation)


def _cross_entropy(outputs: Array, ys: Array) -> Array:
    return optax.softmax_cross_entropy_with_integer_labels(outputs, ys).mean()


def _mse(outputs: Array, ys: Array) -> Array:
    return 0.5 * jnp.mean(jnp.sum((outputs - ys) ** 2, axis=-1))


#: Loss functions, by name (``"cross_entropy"`` with integer labels, and ``"mse"``).
LOSSES: dict[str, Callable[[Array, Array], Array]] = {
    "cross_entropy": _cross_entropy,
    "mse": _mse,
}


def loss(
    params: MLP,
    xs: ArrayLike,
    ys: ArrayLike,
    activation: ActivationLike = "tanh",
    kind: str = "cross_entropy",
) -> Array:
    r"""Batch-mean loss.

    ``"cross_entropy"``: :math:`-\frac1B\sum_i \log \operatorname{softmax}(f(x_i))_{y_i}`
    with integer labels ``ys`` of shape ``(batch,)``. ``"mse"``:
    :math:`\frac{1}{2B}\sum_i \lVert f(x_i) - y_i\rVert^2` with ``ys`` of shape
    ``(batch, out_dim)``.

    Raises:
        ValueError: if ``kind`` is not one of :data:`LOSSES`.
    """
    _checks.one_of("kind", kind, tuple(LOSSES))
    outputs, _ = forward_batch(params, xs, activation)
    return LOSSES[kind](outputs, jnp.asarray(ys))


class PReLUNet(NamedTuple):
    """An :class:`MLP` with one learnable PReLU slope per unit.

    Attributes:
        mlp: the weights and biases.
        alpha: ``(depth, width)`` negative-side slopes, layer 1 first ("channel-wise"
            in He et al.'s terms; an MLP unit plays the role of a channel).
    """

    mlp: MLP
    alpha: Array


def prelu_forward(params: PReLUNet, x: ArrayLike) -> tuple[Array, Trace]:
    r"""One example through a :class:`PReLUNet`: :func:`scan_forward` with
    :class:`PReLUBlock`.

    :math:`h_l = \operatorname{prelu}(W_l h_{l-1} + b_l;\ a_l)` with the per-unit slopes
    :math:`a_l` of layer :math:`l`, then a linear read-out.

    Args:
        params: the network.
        x: one input ``(in_dim,)``.

    Returns:
        ``(output, trace)`` as :func:`forward_with_trace`.
    """
    mlp, alpha = params
    x = jnp.asarray(x)
    _checks.ndim("x", x, 1)
    return scan_forward(PReLUBlock(), mlp.first, (mlp.hidden, alpha[1:]), mlp.readout, x,
                        lambda z: prelu(z, alpha[0]))  # fmt: skip


def prelu_model(params: PReLUNet, xs: ArrayLike) -> tuple[Array, Trace]:
    """A batch ``(batch, in_dim)`` through :func:`prelu_forward`: the ``model`` argument
    of :func:`gradcourse.train.fit`."""
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    return jax.vmap(lambda x: prelu_forward(params, x))(xs)
