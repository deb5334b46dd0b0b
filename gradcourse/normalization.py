r"""Batch and layer normalisation as pure functions, and their statistics.

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
Design: the state is explicit. Normalisation layers take parameters (:class:`Affine`,
``gamma`` and ``beta``) and, in evaluation, :class:`Stats`; nothing is mutated.
:func:`ema` gives the exponential running average of the statistics that Keras and
PyTorch update during training; the deep network that normalises after each layer, and
Ioffe & Szegedy's own inference statistics, are in :mod:`gradcourse.norm_mlp`.

References:
    Ioffe & Szegedy, `Batch normalization: Accelerating deep network training by reducing
    internal covariate shift <https://arxiv.org/abs/1502.03167>`_, 2015;
    Ba, Kiros & Hinton, `Layer normalization <https://arxiv.org/abs/1607.06450>`_, 2016.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks

__all__ = [
    "NORMS",
    "Affine",
    "Stats",
    "affine_init",
    "batch_stats",
    "normalize",
    "batch_norm",
    "layer_norm",
    "ema",
]

#: Normalisations that :func:`gradcourse.norm_mlp.forward` can insert after each linear
#: layer.
NORMS = ("batch", "layer", "none")


class Affine(NamedTuple):
    """Learned scale ``gamma`` and shift ``beta``, each ``(features,)`` (or stacked)."""

    gamma: Array
    beta: Array


class Stats(NamedTuple):
    """Per-feature ``mean`` and ``var``, each ``(features,)``, or ``(depth, width)``."""

    mean: Array
    var: Array


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
