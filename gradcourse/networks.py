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

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.activations import resolve

__all__ = [
    "Dense",
    "MLP",
    "Trace",
    "init_mlp",
    "forward",
    "forward_with_trace",
    "forward_batch",
    "forward_unrolled",
    "loss",
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
    phi = resolve(activation)
    x = jnp.asarray(x)
    _checks.ndim("x", x, 1)
    if taps is None:
        taps = jnp.zeros((params.depth, params.width), x.dtype)

    z1 = params.first.w @ x + params.first.b
    h1 = phi(z1) + taps[0]

    def layer(
        h: Array, inputs: tuple[Dense, Array]
    ) -> tuple[Array, tuple[Array, Array]]:
        (w, b), tap = inputs
        z = w @ h + b
        h_next = phi(z) + tap
        return h_next, (z, h_next)

    h_last, (zs, hs) = jax.lax.scan(layer, h1, (params.hidden, taps[1:]))
    out = params.readout.w @ h_last + params.readout.b
    trace = Trace(jnp.concatenate([z1[None], zs]), jnp.concatenate([h1[None], hs]))
    return out, trace


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
