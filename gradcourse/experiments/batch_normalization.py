r"""Experiments of the batch-normalisation chapter.

What batch normalisation (Ioffe & Szegedy, 2015) does to a deep network, measured:
the transform's moments and backward pass (:func:`output_moments`,
:func:`backward_matches_formula`); per-layer gradient norms with batch norm, layer norm and
none (:func:`gradient_profiles`); training on the digits and evaluation with population
statistics or with the running averages frameworks keep (:func:`train_digits`,
:func:`running_accuracy`, :func:`running_stats`); scale invariance
(:func:`rescale_layer`); batch dependence (:func:`logit_spread`, :func:`mode_accuracies`,
:func:`batch_independence`, :func:`padding_change`); and the gradient explosion batch
norm causes in a deep plain ReLU network, which a skip path tames
(:func:`residual_forward`, :func:`skip_profiles`; Yang et al., 2019).

References:
    Ioffe & Szegedy, `Batch Normalization <https://arxiv.org/abs/1502.03167>`__, 2015.
    Yang et al., `A Mean Field Theory of Batch Normalization
    <https://arxiv.org/abs/1902.08129>`__, 2019.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from .. import _checks
from ..networks import LOSSES
from ..norm_mlp import NORMS, NormMLP, forward, init_norm_mlp
from ..normalization import Affine, batch_norm, layer_norm
from ..probes import layer_grad_norms
from ..registry import resolve
from ._batch_statistics import (
    DigitsRun,
    StatsModel,
    StatsTrace,
    logit_spread,
    mode_accuracies,
    model_with_stats,
    record_stats,
    running_accuracy,
    running_stats,
    train_digits,
)

__all__ = [
    "ACTIVATIONS",
    "DigitsRun",
    "StatsModel",
    "StatsTrace",
    "backward_matches_formula",
    "batch_independence",
    "gradient_profiles",
    "init_networks",
    "logit_spread",
    "mode_accuracies",
    "model_with_stats",
    "output_moments",
    "padding_change",
    "pick",
    "record_stats",
    "rescale_layer",
    "residual_forward",
    "running_accuracy",
    "running_stats",
    "skip_profiles",
    "train_digits",
]


def residual_forward(
    params: NormMLP,
    xs: ArrayLike,
    activation: str = "relu",
    *,
    branch_scale: float = 1.0,
) -> Array:
    r"""Outputs of a batch-normalised network with a skip path around each hidden layer.

    .. math::

        h_1 = \phi(\mathrm{BN}(W_1 x + b_1)), \qquad
        h_l = h_{l-1} + \alpha\,\phi(\mathrm{BN}(W_l h_{l-1} + b_l)) \quad (l \ge 2).

    Args:
        params: a :class:`gradcourse.norm_mlp.NormMLP`.
        xs: ``(batch, in_dim)``.
        activation: registry name.
        branch_scale: :math:`\alpha`.

    Returns:
        Outputs ``(batch, out_dim)`` in training mode (batch statistics).

    References:
        Yang et al., `A Mean Field Theory of Batch Normalization
        <https://arxiv.org/abs/1902.08129>`_, 2019.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    phi = resolve(activation)
    first = Affine(params.norm.gamma[0], params.norm.beta[0])
    h1 = phi(batch_norm(first, xs @ params.first.w.T + params.first.b))

    def layer(h: Array, inputs: tuple) -> tuple[Array, None]:
        dense, g, b = inputs
        u = batch_norm(Affine(g, b), h @ dense.w.T + dense.b)
        return h + branch_scale * phi(u), None

    h, _ = jax.lax.scan(
        layer, h1, (params.hidden, params.norm.gamma[1:], params.norm.beta[1:])
    )
    return h @ params.readout.w.T + params.readout.b


ACTIVATIONS = ("sigmoid", "relu")


def pick(tree: Any, index: int | slice) -> Any:
    """``tree`` with every leaf indexed along its leading (seed) axis, as NumPy arrays.

    NumPy indexing compiles nothing, so selecting seeds costs no compile time.
    """
    return jax.tree.map(lambda a: np.asarray(a)[index], tree)


@functools.partial(jax.jit, static_argnames=("width", "depth"))
def init_networks(keys: Array, *, width: int = 64, depth: int = 30) -> NormMLP:
    """One :func:`gradcourse.norm_mlp.init_norm_mlp` network (LeCun initialisation) for
    the digits, 64 inputs and 10 classes, per key, stacked along a leading seed axis."""
    return jax.vmap(lambda k: init_norm_mlp(k, 64, width, depth, 10))(keys)


@jax.jit
def output_moments(params: Affine, x: ArrayLike) -> tuple[Array, Array, Array]:
    r"""Per-unit mean, variance and standard deviation of :math:`\mathrm{BN}_{\gamma,\beta}(x)`
    over the batch: :math:`(\beta, \gamma^2, |\gamma|)` up to :math:`\varepsilon`
    (Ioffe & Szegedy, 2015, Algorithm 1).

    Args:
        params: the :class:`gradcourse.normalization.Affine` :math:`(\gamma, \beta)`.
        x: ``(batch, features)``.

    Returns:
        ``(mean, var, std)``, each ``(features,)``.
    """
    y = batch_norm(params, x)
    return y.mean(axis=0), y.var(axis=0), y.std(axis=0)


@jax.jit
def backward_matches_formula(params: Affine, x: ArrayLike, g: ArrayLike) -> Array:
    r"""Whether ``jax.grad`` of :math:`\sum_i g_i \cdot \mathrm{BN}(x)_i` equals the closed
    form of the batch-norm backward pass (with :math:`\gamma = 1`) to ``1e-5``:

    .. math::

        \frac{\partial \mathcal L}{\partial x_i} = \frac{1}{\sigma_B}\Bigl(g_i - \bar g -
        \hat x_i\,\overline{g\,\hat x}\Bigr), \qquad
        \sigma_B = \sqrt{\sigma_B^2 + \varepsilon},

    with bars the batch means (Ioffe & Szegedy, 2015, Section 3).

    Args:
        params: an :class:`gradcourse.normalization.Affine` with :math:`\gamma = 1`.
        x, g: ``(batch, features)``: the inputs and the upstream gradient.

    Returns:
        A boolean scalar.
    """
    x, g = jnp.asarray(x), jnp.asarray(g)
    auto = jax.grad(lambda x_: jnp.sum(g * batch_norm(params, x_)))(x)
    sigma = jnp.sqrt(x.var(axis=0) + 1e-5)
    xhat = (x - x.mean(axis=0)) / sigma
    manual = (g - g.mean(0) - xhat * (g * xhat).mean(0)) / sigma
    return jnp.allclose(auto, manual, atol=1e-5)


@functools.partial(jax.jit, static_argnames=("activations",))
def _profiles(
    params: NormMLP, xs: Array, ys: Array, configs: Array, activations: tuple
) -> Array:
    # One compiled program for every (normalisation, activation): both are traced
    # indices (lax.switch over the activations, forward's traced `norm`), and lax.map
    # runs the configurations one after the other.
    phis = [resolve(a) for a in activations]

    def one(p: NormMLP, norm: Array, act: Array) -> Array:
        phi = lambda u: jax.lax.switch(act, phis, u)  # noqa: E731
        loss = lambda q: LOSSES["cross_entropy"](forward(q, xs, phi, norm=norm)[0], ys)  # noqa: E731
        return layer_grad_norms(jax.grad(loss)(p))

    def config(c: Array) -> Array:
        return jax.vmap(one, in_axes=(0, None, None))(params, c[0], c[1])

    return jax.lax.map(config, (configs[:, 0], configs[:, 1]))


def gradient_profiles(
    params: NormMLP,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    activations: tuple[str, ...] = ACTIVATIONS,
) -> dict[str, dict[str, np.ndarray]]:
    r"""Per-layer weight-gradient norms :math:`\lVert\partial\mathcal L/\partial W_l\rVert`
    at initialisation, with batch norm, layer norm and none, for each activation.

    The cross-entropy loss of the training-mode network
    (:func:`gradcourse.norm_mlp.forward`) on the batch is differentiated with
    ``jax.grad`` and every layer's weight gradient is reduced to its Frobenius norm
    (:func:`gradcourse.probes.layer_grad_norms`), for every network of the stack.

    Args:
        params: a :class:`gradcourse.norm_mlp.NormMLP` whose leaves have a leading
            seed axis (:func:`init_networks`).
        xs: ``(batch, in_dim)`` inputs.
        ys: ``(batch,)`` integer labels.
        activations: registry names.

    Returns:
        ``profiles[activation][norm]``: ``(seeds, depth + 1)`` norms of layers
        :math:`1..L`, then the read-out, for every norm in
        :data:`gradcourse.normalization.NORMS`.

    Raises:
        ValueError: for ``xs`` that is not 2-D or an empty ``activations``.

    References:
        Ioffe & Szegedy, `Batch Normalization <https://arxiv.org/abs/1502.03167>`_, 2015.
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    if not activations:
        raise ValueError("activations must name at least one activation, got ()")
    for a in activations:
        resolve(a)
    configs = np.array(
        [(n, a) for a in range(len(activations)) for n in range(len(NORMS))], np.int32
    )
    out = np.asarray(_profiles(params, xs, ys, configs, tuple(activations)))
    return {
        act: {norm: out[i * len(NORMS) + j] for j, norm in enumerate(NORMS)}
        for i, act in enumerate(activations)
    }


@functools.partial(jax.jit, static_argnames=("hidden_index",))
def _rescaled(
    params: NormMLP, xs: Array, ys: Array, scales: Array, hidden_index: int
) -> tuple[Array, Array]:
    def one(a: Array) -> tuple[Array, Array]:
        w = params.hidden.w.at[hidden_index].multiply(a)
        p = params._replace(hidden=params.hidden._replace(w=w))

        def loss(q: NormMLP) -> tuple[Array, Array]:
            out = forward(q, xs)[0]
            return LOSSES["cross_entropy"](out, ys), out

        (_, out), g = jax.value_and_grad(loss, has_aux=True)(p)
        return out, jnp.linalg.norm(g.hidden.w[hidden_index])

    outs, g_norms = jax.vmap(one)(scales)
    base = outs[jnp.argmax(scales == 1.0)]
    return jnp.abs(outs - base).max(axis=(1, 2)), g_norms


def rescale_layer(
    params: NormMLP, xs: ArrayLike, ys: ArrayLike, *, layer: int, scales: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    r"""Scale invariance of batch normalisation: multiply one layer's weights by :math:`a`.

    Batch norm makes a layer's output invariant to :math:`W_l \to a W_l`, so the outputs
    do not change and the gradient scales as :math:`1/a`:
    :math:`\partial\mathcal L/\partial(aW_l) = a^{-1}\,\partial\mathcal L/\partial W_l`
    (Ioffe & Szegedy, 2015, Section 3). Measured on a sigmoid network in training mode.

    Args:
        params: one :class:`gradcourse.norm_mlp.NormMLP` (no seed axis).
        xs, ys: a batch of inputs and integer labels.
        layer: which weight matrix, counted from 1 at the input; a hidden layer,
            ``2 <= layer <= depth``.
        scales: the factors :math:`a`; must contain 1.

    Returns:
        ``(changes, grad_norms)``, each ``(len(scales),)``: the largest change of any
        output against :math:`a = 1`, and :math:`\lVert\partial\mathcal L/\partial W_l\rVert`
        after the rescaling.

    Raises:
        ValueError: for a ``layer`` that is not a hidden layer, or ``scales`` without 1.
    """
    depth = params.hidden.w.shape[0] + 1
    _checks.in_range("layer", layer, 2, depth)
    scales = jnp.asarray(scales, jnp.float32)
    _checks.ndim("scales", scales, 1)
    if not bool(jnp.any(scales == 1.0)):
        raise ValueError(f"scales must contain 1.0 (the reference), got {scales}")
    changes, g_norms = _rescaled(
        params, jnp.asarray(xs), jnp.asarray(ys), scales, layer - 2
    )
    return np.asarray(changes), np.asarray(g_norms)


@functools.partial(jax.jit, static_argnames=("activation", "branch_scale"))
def skip_profiles(
    params: NormMLP,
    xs: ArrayLike,
    ys: ArrayLike,
    activation: str = "relu",
    branch_scale: float = 1.0,
) -> Array:
    r"""Per-layer weight-gradient norms of batch-normalised networks with a skip path
    (:func:`residual_forward`), one row per network of the stack.

    Args:
        params: :class:`gradcourse.norm_mlp.NormMLP` with a leading seed axis.
        xs, ys: a batch of inputs and integer labels.
        activation: registry name.
        branch_scale: :math:`\alpha`.

    Returns:
        ``(seeds, depth + 1)``: :math:`\lVert\partial\mathcal L/\partial W_l\rVert`,
        layers :math:`1..L` then the read-out.
    """

    def one(p: NormMLP) -> Array:
        loss = lambda q: LOSSES["cross_entropy"](  # noqa: E731
            residual_forward(q, xs, activation, branch_scale=branch_scale), ys
        )
        return layer_grad_norms(jax.grad(loss)(p))

    return jax.vmap(one)(params)


@jax.jit
def batch_independence(params: Affine, x: ArrayLike) -> tuple[Array, Array]:
    """Is example 0's output the same alone as in the batch ``x``?

    Layer norm normalises each example over its own features, so the answer is yes; batch
    norm normalises over the batch, so example 0 with one batch-mate differs from example
    0 in the whole batch (Ba et al., 2016).

    Args:
        params: an :class:`gradcourse.normalization.Affine` of ``x``'s width.
        x: ``(batch, features)``, ``batch >= 3``.

    Returns:
        ``(layer_norm_same, batch_norm_same)``: booleans (to ``1e-5``).
    """
    x = jnp.asarray(x)
    same = lambda a, b: jnp.allclose(a[:1], b[:1], atol=1e-5)  # noqa: E731
    return same(layer_norm(params, x[:1]), layer_norm(params, x)), same(
        batch_norm(params, x[:2]), batch_norm(params, x)
    )


@functools.partial(jax.jit, static_argnames=("rows",))
def _padding_change(params: Affine, tokens: Array, rows: tuple) -> dict[str, Array]:
    n = tokens.shape[0]

    def change(norm: Callable, total: int) -> Array:
        padded = jnp.concatenate([tokens, jnp.zeros((total - n, tokens.shape[1]))])
        return jnp.abs(norm(params, padded)[:n] - norm(params, tokens)).max()

    return {
        name: jnp.stack([change(norm, total) for total in rows])
        for name, norm in [("layer", layer_norm), ("batch", batch_norm)]
    }


def padding_change(
    params: Affine, tokens: ArrayLike, *, rows: tuple[int, ...] = (16, 32, 64)
) -> dict[str, np.ndarray]:
    r"""Largest change of the real tokens' normalised outputs when the batch is padded
    with zero rows, for layer norm and for batch norm (training mode).

    Args:
        params: an :class:`gradcourse.normalization.Affine` of the tokens' width.
        tokens: ``(n, features)`` real rows.
        rows: padded batch sizes, each >= ``n``.

    Returns:
        ``{"batch": changes, "layer": changes}``, each ``(len(rows),)``.

    Raises:
        ValueError: for a padded size smaller than ``n``.
    """
    tokens = jnp.asarray(tokens)
    _checks.ndim("tokens", tokens, 2)
    for total in rows:
        _checks.in_range("rows", total, tokens.shape[0], np.inf)
    out = _padding_change(params, tokens, tuple(rows))
    return {k: np.asarray(v) for k, v in out.items()}
