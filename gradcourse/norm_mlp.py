r"""A deep MLP with a normalisation after each hidden linear layer, and its inference
statistics.

.. math::

    z_l = W_l h_{l-1} + b_l, \qquad u_l = \mathrm{Norm}(z_l), \qquad h_l = \phi(u_l),

with :math:`\mathrm{Norm}` one of :data:`.NORMS` (batch, layer or
none). :class:`NormModel` is the training-mode network that :func:`gradcourse.train.fit`
needs (``model(params, xs) -> (outputs, Trace)``, pure), a frozen dataclass so that equal
models share one compiled program. The statistics for evaluation are computed *after*
training with the final weights by :func:`population_stats`, which is Ioffe & Szegedy's
own inference procedure (their Algorithm 2: average the minibatch means and unbiased
variances of the trained network); :func:`gradcourse.normalization.ema` gives the running
average that Keras and PyTorch update during training instead, which lags behind the
weights it describes.

References:
    Ioffe & Szegedy, `Batch normalization: Accelerating deep network training by reducing
    internal covariate shift <https://arxiv.org/abs/1502.03167>`_, 2015;
    Ba, Kiros & Hinton, `Layer normalization <https://arxiv.org/abs/1607.06450>`_, 2016.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.networks import MLP, ActivationLike, Dense, Trace, init_mlp
from gradcourse.normalization import (
    NORMS,
    Affine,
    Stats,
    batch_norm,
    batch_stats,
    layer_norm,
)
from gradcourse.registry import resolve

__all__ = [
    "NormMLP",
    "NormModel",
    "init_norm_mlp",
    "forward",
    "model",
    "population_stats",
]


class NormMLP(NamedTuple):
    """A deep MLP with a normalisation after each hidden linear layer.

    ``first``, ``hidden`` and ``readout`` are as in :class:`gradcourse.networks.MLP` (so
    :func:`gradcourse.probes.layer_grad_norms` reads its gradients); ``norm`` holds
    ``gamma`` and ``beta`` of every hidden layer, each ``(depth, width)``. The biases of
    the linear layers are redundant under batch normalisation (the mean subtraction
    removes them) and keep a zero gradient there.
    """

    first: Dense
    hidden: Dense
    readout: Dense
    norm: Affine

    depth = MLP.depth  # the number of hidden layers, read as for an MLP


def init_norm_mlp(
    key: Array,
    in_dim: int,
    width: int,
    depth: int,
    out_dim: int,
    *,
    w_init: Callable[..., Array] | None = None,
) -> NormMLP:
    """Initialise a :class:`NormMLP`: weights as :func:`gradcourse.networks.init_mlp`
    (default LeCun normal), ``gamma = 1`` and ``beta = 0`` in every hidden layer.

    Raises:
        ValueError: if a size is not an integer >= 1.
    """
    mlp = init_mlp(key, in_dim, width, depth, out_dim, w_init=w_init)
    norm = Affine(jnp.ones((depth, width)), jnp.zeros((depth, width)))
    return NormMLP(mlp.first, mlp.hidden, mlp.readout, norm)


def _norm_layer(norm: str | Array, aff: Affine, z: Array, stats: Stats | None) -> Array:
    if not isinstance(norm, str):  # an index into NORMS, possibly traced
        branches = [functools.partial(_norm_layer, n, stats=None) for n in NORMS]
        return jax.lax.switch(norm, branches, aff, z)
    if norm == "batch":
        return batch_norm(aff, z, stats)
    if norm == "layer":
        return layer_norm(aff, z)
    return z


def _check_norm(norm: str | ArrayLike) -> str | Array:
    """A name in :data:`.NORMS`, or an integer index into it (range-checked if concrete)."""
    if isinstance(norm, str):
        return _checks.one_of("norm", norm, NORMS)
    index = jnp.asarray(norm)
    if index.ndim != 0 or not jnp.issubdtype(index.dtype, jnp.integer):
        raise ValueError(
            f"norm must be one of {NORMS} or an integer index into them, got {norm!r}"
        )
    if not isinstance(index, jax.core.Tracer):
        _checks.in_range("norm", int(index), 0, len(NORMS) - 1)
    return index


def forward(
    params: NormMLP,
    xs: ArrayLike,
    activation: ActivationLike = "sigmoid",
    *,
    norm: str | ArrayLike = "batch",
    stats: Stats | None = None,
) -> tuple[Array, Trace, Stats]:
    r"""Run a batch through the network, scanned over the hidden layers.

    .. math::

        z_l = W_l h_{l-1} + b_l, \qquad u_l = \mathrm{Norm}(z_l), \qquad
        h_l = \phi(u_l).

    Args:
        params: a :class:`NormMLP`.
        xs: ``(batch, in_dim)``.
        activation: registry name or elementwise function.
        norm: one of :data:`.NORMS` (``"none"`` ignores ``params.norm``), or an
            integer index into :data:`.NORMS`. The index may be traced: inside ``jit``
            one compiled program then serves every normalisation (through
            :func:`jax.lax.switch`, or a select of the three under ``jax.vmap``),
            where a name compiles one program each.
        stats: per-layer population statistics ``(depth, width)`` for batch-norm
            evaluation, or None for training mode.

    Returns:
        ``(outputs, trace, batch_stats)``: outputs ``(batch, out_dim)``; a
        :class:`gradcourse.networks.Trace` whose ``pre`` is :math:`u_l` (the input of
        :math:`\phi`) and ``post`` is :math:`h_l`, each ``(batch, depth, width)``; and the
        batch statistics of every :math:`z_l`, :class:`.Stats` of ``(depth, width)``.

    Raises:
        ValueError: for a bad ``norm``, ``xs`` that is not 2-D, or ``stats`` given with a
            norm other than ``"batch"``.

    Examples:
        >>> p = init_norm_mlp(jax.random.key(0), 4, 8, 3, 2)
        >>> xs = jnp.ones((5, 4)).at[0].set(2.0)
        >>> by_name = forward(p, xs, norm="layer")[0]
        >>> by_index = forward(p, xs, norm=NORMS.index("layer"))[0]
        >>> bool(jnp.allclose(by_name, by_index))
        True
    """
    norm = _check_norm(norm)
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    if stats is not None and not (isinstance(norm, str) and norm == "batch"):
        raise ValueError(f"stats apply to norm='batch' only, got norm={norm!r}")
    phi = resolve(activation)

    def layer(h: Array, inputs: tuple) -> tuple[Array, tuple]:
        dense, aff, st = inputs
        z = h @ dense.w.T + dense.b
        u = _norm_layer(norm, aff, z, st)
        h_next = phi(u)
        return h_next, (u, h_next, batch_stats(z))

    if params.first.w.shape == params.hidden.w.shape[1:]:
        # in_dim == width: one scan over every layer, so the layer is compiled once.
        stack = jax.tree.map(
            lambda a, b: jnp.concatenate([a[None], b]), params.first, params.hidden
        )
        h_last, (us, hs, all_stats) = jax.lax.scan(
            layer, xs, (stack, params.norm, stats)
        )
        trace = Trace(us.transpose(1, 0, 2), hs.transpose(1, 0, 2))
    else:
        first_stats = None if stats is None else Stats(stats.mean[0], stats.var[0])
        per_layer = None if stats is None else Stats(stats.mean[1:], stats.var[1:])
        aff0 = Affine(params.norm.gamma[0], params.norm.beta[0])
        h1, (u1, _, s1) = layer(xs, (params.first, aff0, first_stats))
        rest = Affine(params.norm.gamma[1:], params.norm.beta[1:])
        h_last, (us, hs, ss) = jax.lax.scan(layer, h1, (params.hidden, rest, per_layer))
        trace = Trace(
            jnp.concatenate([u1[:, None], us.transpose(1, 0, 2)], axis=1),
            jnp.concatenate([h1[:, None], hs.transpose(1, 0, 2)], axis=1),
        )
        all_stats = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), s1, ss)
    outputs = h_last @ params.readout.w.T + params.readout.b
    return outputs, trace, all_stats


@dataclasses.dataclass(frozen=True)
class NormModel:
    """The training-mode ``model(params, xs) -> (outputs, Trace)`` for
    :func:`gradcourse.train.fit`.

    A value: hashable and compared by its fields, so two equal models (same
    ``activation``, same ``norm``) are one static argument to ``jax.jit`` and share its
    compiled program.

    Attributes:
        activation: registry name or elementwise function.
        norm: one of :data:`.NORMS`.

    Raises:
        ValueError: for a bad ``norm``.
    """

    activation: ActivationLike = "sigmoid"
    norm: str = "batch"

    def __post_init__(self) -> None:
        _checks.one_of("norm", self.norm, NORMS)

    def __call__(self, params: NormMLP, xs: Array) -> tuple[Array, Trace]:
        outputs, trace, _ = forward(params, xs, self.activation, norm=self.norm)
        return outputs, trace


def model(activation: ActivationLike = "sigmoid", norm: str = "batch") -> NormModel:
    """The training-mode model for :func:`gradcourse.train.fit`: ``NormModel(activation,
    norm)`` (equal arguments give equal models, hence one compiled program).

    Raises:
        ValueError: for a bad ``norm``.
    """
    return NormModel(activation, norm)


def population_stats(
    params: NormMLP, batches: ArrayLike, activation: ActivationLike = "sigmoid"
) -> Stats:
    r"""Inference statistics of a trained network (Ioffe & Szegedy, Algorithm 2).

    Runs training minibatches of size :math:`m` (e.g.
    ``xs[gradcourse.data.minibatches(key, len(xs), m, count)]``) through the network in
    training mode and averages their statistics:

    .. math::

        \mathbb{E}[z] = \mathbb{E}_B[\mu_B], \qquad
        \operatorname{Var}[z] = \frac{m}{m-1}\, \mathbb{E}_B[\sigma_B^2].

    Args:
        params: trained :class:`NormMLP`.
        batches: training minibatches ``(batches, m, in_dim)``, :math:`m \ge 2`.
        activation: as in training.

    Returns:
        :class:`.Stats` of shape ``(depth, width)`` for ``forward(..., stats=...)``.

    Raises:
        ValueError: if ``batches`` is not 3-D or holds fewer than 2 examples each.
    """
    batches = jnp.asarray(batches)
    _checks.ndim("batches", batches, 3)
    m = batches.shape[1]
    if m < 2:
        raise ValueError(f"batches must hold minibatches of m >= 2 examples, got {m}")
    s = jax.vmap(lambda b: forward(params, b, activation)[2])(batches)
    return Stats(s.mean.mean(0), s.var.mean(0) * m / (m - 1))
