"""Experiments of the batch-normalisation chapter: a skip path, and running statistics.

``residual_forward`` is :func:`gradcourse.normalization.forward` with an identity shortcut
around every hidden layer after the first, to measure whether a skip path removes the
gradient explosion that batch normalisation causes in a deep plain network (Yang et al.,
2019). ``model_with_stats`` and ``running_stats`` keep the Keras/PyTorch running averages of
the batch statistics *during* training, from what ``gc.train.fit`` records at every step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from .. import _checks
from ..activations import resolve
from ..normalization import Affine, NormMLP, Stats, batch_norm, ema, forward


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
        params: a :class:`gradcourse.normalization.NormMLP`.
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


class StatsTrace(NamedTuple):
    """A :class:`gradcourse.networks.Trace` that also carries the batch statistics."""

    pre: Array
    post: Array
    stats: (
        Stats  #: the batch statistics of every layer's :math:`z_l`, ``(depth, width)``
    )


@functools.cache
def model_with_stats(activation: str = "sigmoid") -> Callable[[NormMLP, Array], tuple]:
    """``model(params, xs) -> (outputs, StatsTrace)`` for :func:`gradcourse.train.fit`: the
    training-mode batch-norm network, whose trace also holds the batch statistics, so that
    a ``record`` hook (:func:`record_stats`) can keep them at every step. Cached."""

    def run(params: NormMLP, xs: Array) -> tuple[Array, StatsTrace]:
        out, trace, stats = forward(params, xs, activation)
        return out, StatsTrace(trace.pre, trace.post, stats)

    return run


def record_stats(params, grads, updates, trace: StatsTrace) -> Stats:
    """A ``record`` hook for :func:`gradcourse.train.fit`: the step's batch statistics."""
    return trace.stats


def running_stats(
    history: Stats, decay: float = 0.99, *, unbiased_batch: int = 0
) -> Stats:
    r"""The running averages a framework keeps during training, from recorded statistics.

    .. math::

        \bar\mu_t = d\,\bar\mu_{t-1} + (1-d)\,\mu_{B_t}, \qquad
        \bar\sigma^2_t = d\,\bar\sigma^2_{t-1} + (1-d)\,\sigma^2_{B_t},

    from :math:`\bar\mu_0 = 0`, :math:`\bar\sigma^2_0 = 1` (Keras's ``momentum`` is
    :math:`d`; PyTorch's ``momentum`` is :math:`1-d`). With ``unbiased_batch = m`` the
    variances are first multiplied by :math:`m/(m-1)`, as PyTorch does.

    Args:
        history: :class:`Stats` with a leading step axis, ``(steps, depth, width)``.
        decay: :math:`d` in ``[0, 1)``.
        unbiased_batch: the batch size :math:`m` for the unbiased correction, or 0.

    Returns:
        The final running :class:`Stats`, ``(depth, width)``.
    """
    _checks.in_range("decay", decay, 0.0, 1.0, closed="left")
    scale = unbiased_batch / (unbiased_batch - 1) if unbiased_batch > 1 else 1.0
    history = Stats(history.mean, history.var * scale)
    start = Stats(jnp.zeros_like(history.mean[0]), jnp.ones_like(history.var[0]))
    step = lambda r, b: (ema(r, b, decay), None)  # noqa: E731
    return jax.lax.scan(step, start, history)[0]
