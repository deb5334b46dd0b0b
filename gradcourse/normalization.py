r"""Batch and layer normalisation as pure functions, and a deep MLP that normalises.

Batch normalisation (Ioffe & Szegedy, 2015) standardises every feature of a layer's
pre-activations over the minibatch, then rescales it with learned :math:`\gamma, \beta`:

.. math::

    \mu_B = \frac1m \sum_{i=1}^m x_i, \qquad
    \sigma_B^2 = \frac1m \sum_{i=1}^m (x_i - \mu_B)^2, \qquad
    y_i = \gamma\, \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}} + \beta .

In evaluation the batch statistics are replaced by fixed population statistics, so one
example's output no longer depends on its batch-mates. Layer normalisation (Ba, Kiros &
Hinton, 2016) standardises each example over its own features instead, which needs no
batch and behaves the same in training and evaluation.

Design: the state is explicit. Normalisation layers take parameters (:class:`Affine`,
``gamma`` and ``beta``) and, in evaluation, :class:`Stats`; nothing is mutated.
:func:`model` is the training-mode network that :func:`gradcourse.train.fit` needs
(``model(params, xs) -> (outputs, Trace)``, pure). The statistics for evaluation are
computed *after* training with the final weights by :func:`population_stats`, which is
Ioffe & Szegedy's own inference procedure (their Algorithm 2: average the minibatch means
and unbiased variances of the trained network); :func:`ema` gives the exponential running
average that Keras and PyTorch update during training instead, which lags behind the
weights it describes.

References:
    Ioffe & Szegedy, `Batch normalization: Accelerating deep network training by reducing
    internal covariate shift <https://arxiv.org/abs/1502.03167>`_, 2015;
    Ba, Kiros & Hinton, `Layer normalization <https://arxiv.org/abs/1607.06450>`_, 2016.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.networks import ActivationLike, Dense, Trace, init_mlp
from gradcourse.registry import resolve

__all__ = [
    "NORMS",
    "Affine",
    "Stats",
    "NormMLP",
    "affine_init",
    "batch_stats",
    "normalize",
    "batch_norm",
    "layer_norm",
    "ema",
    "init_norm_mlp",
    "forward",
    "model",
    "population_stats",
]

#: Normalisations that :func:`forward` can insert after each linear layer.
NORMS = ("batch", "layer", "none")


class Affine(NamedTuple):
    """Learned scale ``gamma`` and shift ``beta``, each ``(features,)`` (or stacked)."""

    gamma: Array
    beta: Array


class Stats(NamedTuple):
    """Per-feature ``mean`` and ``var``, each ``(features,)``, or ``(depth, width)``."""

    mean: Array
    var: Array


class NormMLP(NamedTuple):
    """A deep MLP with a normalisation after each hidden linear layer.

    ``first``, ``hidden`` and ``readout`` are as in :class:`gradcourse.networks.MLP` (so
    :func:`gradcourse.train.mlp_layer_norms` reads its gradients); ``norm`` holds
    ``gamma`` and ``beta`` of every hidden layer, each ``(depth, width)``. The biases of
    the linear layers are redundant under batch normalisation (the mean subtraction
    removes them) and keep a zero gradient there.
    """

    first: Dense
    hidden: Dense
    readout: Dense
    norm: Affine

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return 1 + self.hidden.w.shape[0]


def affine_init(features: int, dtype: jnp.dtype = jnp.float32) -> Affine:
    """``gamma = 1``, ``beta = 0``: the normalisation starts as a plain standardisation."""
    _checks.positive_int("features", features)
    return Affine(jnp.ones(features, dtype), jnp.zeros(features, dtype))


def batch_stats(x: ArrayLike) -> Stats:
    """Mean and biased variance (divide by m) of each feature over the batch axis 0.

    Raises:
        ValueError: if ``x`` is not ``(batch, features)``.
    """
    x = jnp.asarray(x)
    _checks.ndim("x", x, 2)
    return Stats(jnp.mean(x, axis=0), jnp.var(x, axis=0))


def normalize(params: Affine, x: ArrayLike, stats: Stats, eps: float = 1e-5) -> Array:
    r""":math:`\gamma (x - \mu) / \sqrt{\sigma^2 + \varepsilon} + \beta` with given stats."""
    x = jnp.asarray(x)
    return (
        params.gamma * (x - stats.mean) * jax.lax.rsqrt(stats.var + eps) + params.beta
    )


def batch_norm(
    params: Affine, x: ArrayLike, stats: Stats | None = None, eps: float = 1e-5
) -> Array:
    r"""Batch normalisation of ``x`` of shape ``(batch, features)``.

    .. math::

        y_i = \gamma\, \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}} + \beta

    Training mode (``stats=None``) uses the batch's own :math:`\mu_B, \sigma_B^2`
    (biased), and the gradient flows through them; evaluation mode uses the given
    population ``stats``.

    Args:
        params: ``gamma`` and ``beta``, each ``(features,)``.
        x: ``(batch, features)``.
        stats: population statistics for evaluation, or None for training mode.
        eps: :math:`\varepsilon > 0` added to the variance (1e-5 as in PyTorch;
            Keras uses 1e-3).

    Returns:
        ``(batch, features)``.

    Raises:
        ValueError: if ``x`` is not 2-D or ``eps`` is not positive.

    References:
        Ioffe & Szegedy, `Batch normalization <https://arxiv.org/abs/1502.03167>`_,
        2015 (Algorithm 1).

    Examples:
        >>> y = batch_norm(affine_init(3), jnp.arange(12.0).reshape(4, 3))
        >>> [round(float(v), 3) for v in y.mean(axis=0)]
        [0.0, 0.0, 0.0]
    """
    _checks.positive("eps", eps)
    x = jnp.asarray(x)
    _checks.ndim("x", x, 2)
    return normalize(params, x, batch_stats(x) if stats is None else stats, eps)


def layer_norm(params: Affine, x: ArrayLike, eps: float = 1e-5) -> Array:
    r"""Layer normalisation: standardise each example over its own features.

    .. math::

        \mu_i = \frac1n \sum_{j} x_{ij}, \quad
        \sigma_i^2 = \frac1n \sum_j (x_{ij} - \mu_i)^2, \quad
        y_{ij} = \gamma_j\, \frac{x_{ij} - \mu_i}{\sqrt{\sigma_i^2 + \varepsilon}}
        + \beta_j .

    No batch statistics, so training and evaluation are the same function and each
    example's output is independent of the others (what recurrent networks and
    Transformers need).

    Args:
        params: ``gamma`` and ``beta``, each ``(features,)``.
        x: ``(..., features)``.
        eps: :math:`\varepsilon > 0`.

    Returns:
        Same shape as ``x``.

    References:
        Ba, Kiros & Hinton, `Layer normalization <https://arxiv.org/abs/1607.06450>`_,
        2016.
    """
    _checks.positive("eps", eps)
    x = jnp.asarray(x)
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return params.gamma * (x - mean) * jax.lax.rsqrt(var + eps) + params.beta


def ema(running: Stats, batch: Stats, decay: float = 0.9) -> Stats:
    r"""Exponential running average, the Keras/PyTorch convention.

    :math:`s \leftarrow \text{decay}\cdot s + (1 - \text{decay})\cdot s_B` for the mean
    and the variance (PyTorch's ``momentum=0.1`` is ``decay=0.9``; Keras's
    ``momentum=0.99`` is ``decay=0.99``).

    Raises:
        ValueError: if ``decay`` is not in [0, 1).
    """
    _checks.in_range("decay", decay, 0.0, 1.0, closed="left")
    return jax.tree.map(lambda r, b: decay * r + (1.0 - decay) * b, running, batch)


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
    """A name in :data:`NORMS`, or an integer index into it (range-checked if concrete)."""
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
        norm: one of :data:`NORMS` (``"none"`` ignores ``params.norm``), or an
            integer index into :data:`NORMS`. The index may be traced: inside ``jit``
            one compiled program then serves every normalisation (through
            :func:`jax.lax.switch`, or a select of the three under ``jax.vmap``),
            where a name compiles one program each.
        stats: per-layer population statistics ``(depth, width)`` for batch-norm
            evaluation, or None for training mode.

    Returns:
        ``(outputs, trace, batch_stats)``: outputs ``(batch, out_dim)``; a
        :class:`gradcourse.networks.Trace` whose ``pre`` is :math:`u_l` (the input of
        :math:`\phi`) and ``post`` is :math:`h_l`, each ``(batch, depth, width)``; and the
        batch statistics of every :math:`z_l`, :class:`Stats` of ``(depth, width)``.

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


@functools.cache
def model(
    activation: ActivationLike = "sigmoid", norm: str = "batch"
) -> Callable[[NormMLP, Array], tuple[Array, Trace]]:
    """The training-mode ``model(params, xs) -> (outputs, Trace)`` for
    :func:`gradcourse.train.fit` (cached: same arguments, same function).

    Raises:
        ValueError: for a bad ``norm``.
    """
    _checks.one_of("norm", norm, NORMS)

    def run(params: NormMLP, xs: Array) -> tuple[Array, Trace]:
        outputs, trace, _ = forward(params, xs, activation, norm=norm)
        return outputs, trace

    return run


def population_stats(
    key: Array,
    params: NormMLP,
    xs: ArrayLike,
    activation: ActivationLike = "sigmoid",
    *,
    batch_size: int = 128,
    batches: int = 20,
) -> Stats:
    r"""Inference statistics of a trained network (Ioffe & Szegedy, Algorithm 2).

    Runs ``batches`` random training minibatches of size :math:`m` through the network in
    training mode and averages their statistics:

    .. math::

        \mathbb{E}[z] = \mathbb{E}_B[\mu_B], \qquad
        \operatorname{Var}[z] = \frac{m}{m-1}\, \mathbb{E}_B[\sigma_B^2].

    Args:
        key: PRNG key for the minibatches.
        params: trained :class:`NormMLP`.
        xs: training inputs ``(n, in_dim)``.
        activation: as in training.
        batch_size: :math:`m`, an integer in [2, n].
        batches: number of minibatches, >= 1.

    Returns:
        :class:`Stats` of shape ``(depth, width)`` for ``forward(..., stats=...)``.

    Raises:
        ValueError: for a bad ``batch_size`` or ``batches``, or ``xs`` that is not 2-D.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    _checks.in_range("batch_size", batch_size, 2, xs.shape[0])
    _checks.positive_int("batch_size", batch_size)
    _checks.positive_int("batches", batches)

    def one(k: Array) -> Stats:
        idx = jax.random.choice(k, xs.shape[0], (batch_size,), replace=False)
        return forward(params, xs[idx], activation)[2]

    s = jax.vmap(one)(jax.random.split(key, batches))
    return Stats(s.mean.mean(0), s.var.mean(0) * batch_size / (batch_size - 1))
