r"""The per-layer gradient-norm probe that every chapter uses.

For a batch :math:`(X, y)` and the batch-mean loss :math:`L`, the probe returns

* :math:`\lVert \partial L / \partial W_l \rVert_F` for each hidden layer
  :math:`l = 1, \dots, L` and the read-out, and
* :math:`\lVert \partial L / \partial H_l \rVert_F`, where :math:`H_l` is the
  ``(batch, width)`` matrix of layer-:math:`l` activations: the back-propagated signal
  itself.

It computes them by running backpropagation explicitly, as the recursion that the
chapter on Jacobian products derives. With :math:`Z_l = H_{l-1} W_l^\top + b_l` and
:math:`H_l = \phi(Z_l)`, starting from :math:`\Delta_L = \partial L/\partial H_L`,

.. math::

    G_l = \phi'(Z_l) \odot \Delta_l, \qquad
    \frac{\partial L}{\partial W_l} = G_l^\top H_{l-1}, \qquad
    \Delta_{l-1} = G_l\, W_l ,

one :func:`jax.lax.scan` from the top layer down (:math:`\phi'` through :func:`jax.vjp`,
so any elementwise activation works). The result equals ``jax.grad`` of the loss (the
tests check both norms against it); the reason to write the recursion out is that a
probe needs only each layer's *norm*: ``jax.grad`` builds the whole ``(depth, width,
width)`` stack of weight gradients and reads it back to take norms, 131 MB at depth 500
and width 256, while the recursion reduces each layer's gradient as soon as it is made.
That halves the probe's run time at depth 500 (``benchmarks/bench_probe.py``).

Both norms shrink toward the input when the product of layer Jacobians does
(Bengio, Simard & Frasconi, 1994; Glorot & Bengio, 2010). Norms are computed rescaled
(``gradcourse._linalg.scaled_norm``), so a gradient of 1e-30 is reported as such
rather than as 0.

The probe is jitted with the activation and loss static, and it is a pure function of the
parameters, so ``jax.vmap`` maps it over parameters drawn from many seeds
(:func:`probe_seeds`).

References:
    Rumelhart, Hinton & Williams, `Learning representations by back-propagating errors
    <https://doi.org/10.1038/323533a0>`_, 1986.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import scaled_norm
from gradcourse.networks import LOSSES, MLP, ActivationLike, Dense, init_mlp
from gradcourse.registry import resolve
from gradcourse.residual import ResidualMLP, forward_with_trace

__all__ = ["GradNorms", "grad_norms", "layer_grad_norms", "layer_ratio", "probe_seeds"]


class GradNorms(NamedTuple):
    """Result of :func:`grad_norms` (a leading seed axis is added by :func:`probe_seeds`).

    Attributes:
        weights: ``(depth + 1,)`` Frobenius norms of dL/dW for layers 1..depth, then the
            read-out.
        hidden: ``(depth,)`` Frobenius norms of dL/dH_l for layers 1..depth.
        loss: the batch-mean loss.
    """

    weights: Array
    hidden: Array
    loss: Array


@functools.partial(jax.jit, static_argnames=("activation", "kind"))
def _grad_norms(
    params: MLP, xs: Array, ys: Array, activation: ActivationLike, kind: str
) -> GradNorms:
    phi = resolve(activation)
    z1 = xs @ params.first.w.T + params.first.b
    h1 = phi(z1)

    def forward(h: Array, layer: Dense) -> tuple[Array, tuple[Array, Array]]:
        z = h @ layer.w.T + layer.b
        return phi(z), (h, z)  # keep each layer's input and pre-activation

    h_top, (h_in, zs) = jax.lax.scan(forward, h1, params.hidden)
    out = h_top @ params.readout.w.T + params.readout.b
    value, d_out = jax.value_and_grad(lambda o: LOSSES[kind](o, ys))(out)

    def backward(delta: Array, inputs: tuple) -> tuple[Array, tuple[Array, Array]]:
        layer, h_prev, z = inputs
        g = jax.vjp(phi, z)[1](delta)[0]  # phi'(Z_l) * Delta_l
        norms = (scaled_norm(g.T @ h_prev), scaled_norm(delta))
        return g @ layer.w, norms

    delta_1, (w_norms, h_norms) = jax.lax.scan(
        backward, d_out @ params.readout.w, (params.hidden, h_in, zs), reverse=True
    )
    g1 = jax.vjp(phi, z1)[1](delta_1)[0]
    weights = jnp.concatenate(
        [
            scaled_norm(g1.T @ xs)[None],
            w_norms,
            scaled_norm(d_out.T @ h_top)[None],
        ]
    )
    hidden = jnp.concatenate([scaled_norm(delta_1)[None], h_norms])
    return GradNorms(weights, hidden, value)


@functools.partial(jax.jit, static_argnames=("activation", "kind"))
def _residual_grad_norms(
    params: ResidualMLP,
    xs: Array,
    ys: Array,
    activation: ActivationLike,
    kind: str,
    residual: bool | Array,
    branch_scale: float | Array,
) -> GradNorms:
    taps = jnp.zeros((xs.shape[0], params.depth + 1, params.width), xs.dtype)

    def batch_loss(p: ResidualMLP, t: Array) -> Array:
        def one(x: Array, tap: Array) -> Array:
            return forward_with_trace(
                p, x, activation, residual=residual, branch_scale=branch_scale, taps=tap
            )[0]

        return LOSSES[kind](jax.vmap(one)(xs, t), ys)

    value, (g_p, g_t) = jax.value_and_grad(batch_loss, argnums=(0, 1))(params, taps)
    hidden = scaled_norm(g_t, axis=(0, 2))
    return GradNorms(layer_grad_norms(g_p), hidden, value)


def grad_norms(
    params: MLP | ResidualMLP,
    xs: ArrayLike,
    ys: ArrayLike,
    activation: ActivationLike = "tanh",
    kind: str = "cross_entropy",
    **wiring: bool | float | ArrayLike,
) -> GradNorms:
    r"""Per-layer gradient norms of the batch-mean loss.

    For an :class:`~gradcourse.networks.MLP` the norms come from the explicit
    back-propagation recursion above. For a :class:`~gradcourse.residual.ResidualMLP`
    they come from ``jax.grad`` of the loss with a zero "tap" added to every
    :math:`h_l` (:func:`gradcourse.residual.forward_with_trace`), whose gradient is
    :math:`\partial L / \partial H_l`; ``weights`` then has shape ``(depth + 2,)``
    (embedding, blocks, read-out) and ``hidden`` ``(depth + 1,)`` (:math:`l = 0, \dots,
    L`). Every norm is computed rescaled, so a gradient of 1e-30 is reported as such.

    Args:
        params: network parameters (:func:`gradcourse.networks.init_mlp` or
            :func:`gradcourse.residual.init_residual_mlp`).
        xs: inputs, ``(batch, in_dim)``.
        ys: integer labels ``(batch,)`` for ``"cross_entropy"``, targets
            ``(batch, out_dim)`` for ``"mse"``.
        activation: registry name or elementwise function (hashable; it is static).
        kind: loss name, one of :data:`gradcourse.networks.LOSSES`.
        wiring: for a residual network only, ``residual`` and ``branch_scale`` as in
            :func:`gradcourse.residual.forward_with_trace` (arrays allowed, so one
            compiled probe serves plain and residual networks).

    Returns:
        A :class:`GradNorms`.

    Raises:
        ValueError: if ``xs`` is not 2-D, the batch sizes differ, ``kind`` is unknown,
            or ``wiring`` is given for an MLP or names other keywords.

    Examples:
        >>> key = jax.random.key(0)
        >>> params = init_mlp(key, in_dim=4, width=8, depth=6, out_dim=3)
        >>> xs, ys = jnp.ones((5, 4)), jnp.zeros(5, dtype=int)
        >>> grad_norms(params, xs, ys, "sigmoid").weights.shape
        (7,)
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    _checks.one_of("kind", kind, tuple(LOSSES))
    if ys.shape[:1] != xs.shape[:1]:
        raise ValueError(
            f"ys must have the batch size of xs ({xs.shape[0]}), got shape {ys.shape}"
        )
    if isinstance(params, ResidualMLP):
        unknown = set(wiring) - {"residual", "branch_scale"}
        if unknown:
            raise ValueError(f"wiring must be residual or branch_scale, got {unknown}")
        residual, scale = wiring.get("residual", True), wiring.get("branch_scale", 1.0)
        return _residual_grad_norms(params, xs, ys, activation, kind, residual, scale)
    if wiring:
        raise ValueError(
            f"wiring is for a ResidualMLP, got {sorted(wiring)} for an MLP"
        )
    return _grad_norms(params, xs, ys, activation, kind)


def probe_seeds(
    keys: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    width: int,
    depth: int,
    activation: ActivationLike = "tanh",
    w_init: Callable[..., Array] | None = None,
    kind: str = "cross_entropy",
    out_dim: int | None = None,
) -> GradNorms:
    """Initialise one network per key and probe each, vectorised with ``jax.vmap``.

    Args:
        keys: PRNG keys, shape ``(seeds,)`` (from ``jax.random.split``).
        xs, ys: the batch, as in :func:`grad_norms`.
        width, depth: network size.
        activation: registry name or elementwise function.
        w_init: weight initialiser (default LeCun normal), see
            :func:`gradcourse.networks.init_mlp`.
        kind: loss name.
        out_dim: outputs; default ``max(ys) + 1`` for cross-entropy, ``ys.shape[1]`` for mse.

    Returns:
        A :class:`GradNorms` whose fields have a leading axis of length ``len(keys)``.
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    if out_dim is None:
        out_dim = int(ys.max()) + 1 if kind == "cross_entropy" else int(ys.shape[-1])

    def one(key: Array) -> GradNorms:
        params = init_mlp(key, xs.shape[1], width, depth, out_dim, w_init=w_init)
        return grad_norms(params, xs, ys, activation, kind)

    return jax.vmap(one)(keys)


def _is_layer(node: Any) -> bool:
    """A :class:`Dense`, or a residual branch: a plain tuple of stacked ``Dense``."""
    if isinstance(node, Dense):
        return True
    return (
        type(node) is tuple
        and len(node) > 0
        and all(isinstance(d, Dense) and jnp.ndim(d.w) == 3 for d in node)
    )


def _norms_of(node: Dense | tuple[Dense, ...]) -> Array:
    if isinstance(node, Dense):
        w = jnp.asarray(node.w)
        return scaled_norm(w, axis=(1, 2)) if w.ndim == 3 else scaled_norm(w)[None]
    per_matrix = jnp.stack([scaled_norm(d.w, axis=(1, 2)) for d in node], -1)
    return scaled_norm(per_matrix, axis=-1)


def layer_grad_norms(tree: Any) -> Array:
    r"""Frobenius norm of each layer's weight, :math:`\lVert W_l\rVert_F`, in layer order.

    The one per-layer norm of the package, for parameters, gradients and optax updates
    alike (an update has the parameters' structure); it is the default ``layer_norms``
    of :func:`gradcourse.train.fit`. Every :class:`~gradcourse.networks.Dense` in
    ``tree`` is a layer, in the order of ``jax.tree.leaves``; a ``Dense`` whose weight
    has a leading stack axis, ``(depth, out, in)``, is ``depth`` layers; a plain tuple
    of such stacks (a two-layer residual branch ``(W, V)``) is one layer per block,
    :math:`\sqrt{\lVert W_l\rVert_F^2 + \lVert V_l\rVert_F^2}`. Leaves that are not
    ``Dense`` (PReLU slopes, biases alone) are not layers. So an
    :class:`~gradcourse.networks.MLP` gives layers 1..depth then the read-out, a
    residual MLP the embedding, blocks 1..L, the read-out.

    Norms are computed rescaled, :math:`m\,\lVert W_l/m\rVert_F` with
    :math:`m = \max|W_l|` (``gradcourse._linalg.scaled_norm``): squaring float32
    entries below about 1e-19 would underflow and report a vanishing layer's gradient
    as exactly 0.

    Args:
        tree: a pytree holding :class:`~gradcourse.networks.Dense` layers.

    Returns:
        ``(layers,)`` norms.

    Raises:
        ValueError: if ``tree`` holds no ``Dense``.

    Examples:
        >>> layer_grad_norms(init_mlp(jax.random.key(0), 4, 8, 3, 2)).shape
        (4,)
    """
    layers = [n for n in jax.tree.leaves(tree, is_leaf=_is_layer) if _is_layer(n)]
    if not layers:
        raise ValueError(
            f"tree must hold gradcourse.networks.Dense layers, got {type(tree).__name__}"
        )
    return jnp.concatenate([_norms_of(n) for n in layers])


def layer_ratio(norms: ArrayLike) -> Array:
    """Ratio of the first hidden layer's norm to the last one's, along the last axis.

    For ``GradNorms.hidden`` this is :math:`\\lVert\\partial L/\\partial H_1\\rVert /
    \\lVert\\partial L/\\partial H_L\\rVert`: far below 1 means vanishing, far above 1
    exploding.

    Raises:
        ValueError: if the last axis has fewer than 2 layers.
    """
    norms = jnp.asarray(norms)
    if norms.ndim < 1 or norms.shape[-1] < 2:
        raise ValueError(
            f"norms must have >= 2 layers on its last axis, got {norms.shape}"
        )
    return norms[..., 0] / norms[..., -1]
