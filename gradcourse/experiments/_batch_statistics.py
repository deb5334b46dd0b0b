r"""Batch-normalisation experiments about the batch statistics themselves.

Part of :mod:`gradcourse.experiments.batch_normalization` (which re-exports every name here):
training with the statistics recorded at every step (:class:`StatsModel`,
:func:`train_digits`), evaluation with population statistics (Ioffe & Szegedy's
Algorithm 2) or with the running averages Keras and PyTorch keep (:func:`running_stats`,
:func:`running_accuracy`), and the noise the batch adds to one example's prediction
(:func:`logit_spread`, :func:`mode_accuracies`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from .. import _checks
from ..data import Split, minibatches
from ..norm_mlp import NORMS, NormMLP, forward, population_stats
from ..norm_mlp import model as norm_model
from ..normalization import Stats, ema
from ..train import History, fit_seeds


class StatsTrace(NamedTuple):
    """A :class:`gradcourse.networks.Trace` that also carries the batch statistics."""

    pre: Array
    post: Array
    stats: (
        Stats  #: the batch statistics of every layer's :math:`z_l`, ``(depth, width)``
    )


@dataclass(frozen=True)
class StatsModel:
    """``model(params, xs) -> (outputs, StatsTrace)`` for :func:`gradcourse.train.fit`: the
    training-mode batch-norm network, whose trace also holds the batch statistics, so that
    a ``record`` hook (:func:`record_stats`) can keep them at every step.

    A frozen dataclass: two models with the same activation compare equal, so the training
    loop compiled for one serves the other.
    """

    activation: str = "sigmoid"

    def __call__(self, params: NormMLP, xs: Array) -> tuple[Array, StatsTrace]:
        out, trace, stats = forward(params, xs, self.activation)
        return out, StatsTrace(trace.pre, trace.post, stats)


def model_with_stats(activation: str = "sigmoid") -> StatsModel:
    """The :class:`StatsModel` of ``activation`` (a registry name)."""
    return StatsModel(activation)


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
        history: :class:`gradcourse.normalization.Stats` with a leading step axis,
            ``(steps, depth, width)``.
        decay: :math:`d` in ``[0, 1)``.
        unbiased_batch: the batch size :math:`m` for the unbiased correction, or 0.

    Returns:
        The final running :class:`gradcourse.normalization.Stats`, ``(depth, width)``.
    """
    _checks.in_range("decay", decay, 0.0, 1.0, closed="left")
    scale = unbiased_batch / (unbiased_batch - 1) if unbiased_batch > 1 else 1.0
    history = Stats(history.mean, history.var * scale)
    start = Stats(jnp.zeros_like(history.mean[0]), jnp.ones_like(history.var[0]))
    step = lambda r, b: (ema(r, b, decay), None)  # noqa: E731
    return jax.lax.scan(step, start, history)[0]


#: The activations :func:`gradient_profiles` compares by default.
class DigitsRun(NamedTuple):
    """What :func:`train_digits` returns, every array with a leading seed axis."""

    params: NormMLP  #: the trained networks
    history: History  #: :func:`gradcourse.train.fit_seeds`'s history
    accuracy: Array  #: test accuracy in evaluation mode, ``(seeds,)``
    stats: (
        Stats | None
    )  #: population statistics (batch norm only), ``(seeds, depth, width)``


@functools.partial(jax.jit, static_argnames=("norm", "activation"))
def _evaluate(
    pop_keys: Array,
    params: NormMLP,
    x_train: Array,
    x_test: Array,
    y_test: Array,
    norm: str,
    activation: str,
) -> tuple[Array, Stats | None]:
    acc = lambda out: jnp.mean(jnp.argmax(out, -1) == y_test)  # noqa: E731
    if norm != "batch":
        run = lambda p: acc(forward(p, x_test, activation, norm=norm)[0])  # noqa: E731
        return jax.vmap(run)(params), None
    stats = jax.vmap(
        lambda k, p: population_stats(
            p, x_train[minibatches(k, x_train.shape[0], 128, 20)], activation
        )
    )(pop_keys, params)
    run = lambda p, s: acc(forward(p, x_test, activation, stats=s)[0])  # noqa: E731
    return jax.vmap(run)(params, stats), stats


def train_digits(
    fit_keys: Array,
    pop_keys: Array,
    params: NormMLP,
    split: Split,
    *,
    norm: str,
    activation: str = "sigmoid",
    steps: int = 150,
    batch_size: int = 64,
    learning_rate: float = 0.05,
    momentum: float = 0.9,
) -> DigitsRun:
    r"""Train a stack of networks on the digits with SGD and momentum, then test them.

    Every run is :func:`gradcourse.train.fit_seeds` with ``optax.sgd(learning_rate,
    momentum)``. With ``norm="batch"`` the model is :class:`StatsModel`, so the history's
    ``records`` hold every step's batch statistics (for :func:`running_accuracy`); after
    training the population statistics of Ioffe & Szegedy's Algorithm 2
    (:func:`gradcourse.norm_mlp.population_stats`, 20 batches of 128 drawn with
    ``pop_keys``) replace the batch statistics for the test accuracy in evaluation mode.

    Args:
        fit_keys: ``(seeds,)`` keys for the minibatch draws.
        pop_keys: ``(seeds,)`` keys for the population statistics (unused without batch norm).
        params: the initial networks, with a leading seed axis.
        split: a :class:`gradcourse.data.Split` (train and test sets).
        norm: one of :data:`gradcourse.normalization.NORMS`.
        activation: registry name.
        steps, batch_size: as in :func:`gradcourse.train.fit`.
        learning_rate, momentum: SGD's step size and momentum.

    Returns:
        A :class:`DigitsRun`.

    Raises:
        ValueError: for a bad ``norm``, ``learning_rate`` or ``momentum``, or as
            :func:`gradcourse.train.fit_seeds`.
    """
    _checks.one_of("norm", norm, NORMS)
    _checks.positive("learning_rate", learning_rate)
    _checks.in_range("momentum", momentum, 0.0, 1.0, closed="left")
    bn = norm == "batch"
    final, history = fit_seeds(
        fit_keys,
        params,
        *split.train,
        optimizer=optax.sgd(learning_rate, momentum=momentum),
        model=StatsModel(activation) if bn else norm_model(activation, norm),
        steps=steps,
        batch_size=batch_size,
        record=record_stats if bn else None,
    )
    accuracy, stats = _evaluate(
        pop_keys, final, split.x_train, *split.test, norm, activation
    )
    return DigitsRun(final, history, accuracy, stats)


@functools.partial(jax.jit, static_argnames=("decay", "unbiased_batch"))
def _running_accuracy(
    params: NormMLP,
    history: Stats,
    xs: Array,
    ys: Array,
    decay: float,
    unbiased_batch: int,
) -> Array:
    def one(p: NormMLP, hist: Stats) -> Array:
        stats = running_stats(hist, decay, unbiased_batch=unbiased_batch)
        out = forward(p, xs, stats=stats)[0]
        return jnp.mean(jnp.argmax(out, -1) == ys)

    return jax.vmap(one)(params, history)


def running_accuracy(
    run: DigitsRun,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    decay: float,
    unbiased_batch: int = 0,
) -> np.ndarray:
    r"""Test accuracy of trained batch-norm networks evaluated with the running averages
    a framework keeps during training (:func:`running_stats`) instead of population
    statistics.

    Args:
        run: a :class:`DigitsRun` of :func:`train_digits` with ``norm="batch"``, whose
            history records every step's batch statistics.
        xs, ys: test inputs and integer labels.
        decay: :math:`d` in ``[0, 1)`` (PyTorch's default is 0.9, Keras's 0.99).
        unbiased_batch: as in :func:`running_stats`.

    Returns:
        ``(seeds,)`` accuracies.

    Raises:
        ValueError: for a bad ``decay``, or a run without recorded statistics.
    """
    _checks.in_range("decay", decay, 0.0, 1.0, closed="left")
    if not isinstance(run.history.records, Stats):
        raise ValueError("run must be a batch-norm DigitsRun (norm='batch')")
    out = _running_accuracy(
        run.params,
        run.history.records,
        jnp.asarray(xs),
        jnp.asarray(ys),
        float(decay),
        unbiased_batch,
    )
    return np.asarray(out)


@functools.partial(jax.jit, static_argnames=("batch_sizes", "draws"))
def _logit_spread(
    key: Array, params: NormMLP, xs: Array, batch_sizes: tuple, draws: int
) -> Array:
    x0, rest = xs[0], xs[1:]
    orders = jax.vmap(lambda kk: jax.random.permutation(kk, rest.shape[0]))(
        jax.random.split(key, draws)
    )

    def spread(m: int) -> Array:
        def in_batch(order: Array) -> Array:
            batch = jnp.vstack([x0[None], rest[order[: m - 1]]])
            return forward(params, batch)[0][0]

        return jnp.mean(jnp.std(jax.vmap(in_batch)(orders), axis=0))

    return jnp.stack([spread(m) for m in batch_sizes])


def logit_spread(
    key: Array,
    params: NormMLP,
    xs: ArrayLike,
    *,
    batch_sizes: tuple[int, ...] = (4, 16, 64),
    draws: int = 20,
) -> dict[int, float]:
    r"""How much one example's prediction depends on its batch-mates in training mode.

    Example ``xs[0]`` is put in ``draws`` random batches of size :math:`m` (its mates: the
    first :math:`m-1` of a random order of ``xs[1:]``, one order per draw); the standard
    deviation of each of its logits across the batches is averaged over the logits.

    Args:
        key: PRNG key for the orders.
        params: one trained :class:`gradcourse.norm_mlp.NormMLP` (sigmoid).
        xs: ``(n, in_dim)``: the example, then its candidate mates.
        batch_sizes: the sizes :math:`m`, each in ``[2, n]``.
        draws: number of random batches, >= 2.

    Returns:
        ``{m: spread}``.

    Raises:
        ValueError: for a bad batch size or ``draws``.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    _checks.positive_int("draws", draws)
    _checks.in_range("draws", draws, 2, np.inf)
    for m in batch_sizes:
        _checks.in_range("batch_sizes", m, 2, xs.shape[0])
    out = np.asarray(_logit_spread(key, params, xs, tuple(batch_sizes), draws))
    return dict(zip(batch_sizes, out.tolist(), strict=True))


@functools.partial(jax.jit, static_argnames=("batch_sizes",))
def _mode_accuracies(
    params: NormMLP, stats: Stats, xs: Array, ys: Array, batch_sizes: tuple
) -> tuple[Array, Array]:
    acc = lambda out: jnp.mean(jnp.argmax(out.reshape(-1, 10), -1) == ys)  # noqa: E731
    forward_train = jax.vmap(lambda xb: forward(params, xb)[0])
    in_batches = [
        acc(forward_train(xs.reshape(-1, m, xs.shape[1]))) for m in batch_sizes
    ]
    return acc(forward(params, xs, stats=stats)[0]), jnp.stack(in_batches)


def mode_accuracies(
    params: NormMLP,
    stats: Stats,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    batch_sizes: tuple[int, ...] = (2, 8, 64),
) -> tuple[float, dict[int, float]]:
    r"""Accuracy in evaluation mode, and in training mode over disjoint batches of each size.

    The train/test mismatch of batch normalisation: a network evaluated in *training* mode
    (batch statistics) on small batches sees noisy statistics (Ioffe, 2017).

    Args:
        params: one trained sigmoid :class:`gradcourse.norm_mlp.NormMLP` with 10
            outputs.
        stats: its population statistics.
        xs, ys: test inputs and labels; ``len(xs)`` divisible by every batch size.
        batch_sizes: the training-mode batch sizes, each >= 2.

    Returns:
        ``(evaluation_accuracy, {m: training_mode_accuracy})``.

    Raises:
        ValueError: for a batch size that is < 2 or does not divide ``len(xs)``.
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    for m in batch_sizes:
        _checks.in_range("batch_sizes", m, 2, xs.shape[0])
        if xs.shape[0] % m:
            raise ValueError(
                f"batch_sizes must divide len(xs) = {xs.shape[0]}, got {m}"
            )
    eval_acc, train_accs = _mode_accuracies(params, stats, xs, ys, tuple(batch_sizes))
    by_size = dict(zip(batch_sizes, np.asarray(train_accs).tolist(), strict=True))
    return float(eval_acc), by_size
