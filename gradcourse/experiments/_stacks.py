"""Training a stack of networks together and scoring each: shared by the experiments of
the initialisation and optimiser chapters (re-exported by both)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from ..data import Split
from ..networks import MLP
from ..train import History, Model, fit_seeds

__all__ = ["Runs", "stack_accuracy", "train_stacks"]


class Runs(NamedTuple):
    """Result of :func:`train_stacks`."""

    final: MLP  #: trained networks, stacked
    history: History  #: the :func:`gradcourse.train.fit_seeds` history
    accuracy: np.ndarray  #: ``(runs,)`` test accuracy


def stack_accuracy(params: Any, split: Split, model: Model) -> np.ndarray:
    """Test accuracy of every network of a stack (vmapped over axis 0)."""
    return np.asarray(_stack_accuracy(params, *split.test, model))


@jax.jit(static_argnums=3)
def _stack_accuracy(params, x_test, y_test, model):
    out = jax.vmap(lambda p: model(p, x_test)[0])(params)
    return jnp.mean(jnp.argmax(out, -1) == y_test, axis=-1)


def train_stacks(
    fit_keys: Array,
    start: MLP,
    split: Split,
    *,
    model: Model,
    optimizer: optax.GradientTransformation,
    steps: int,
    record: Callable[..., Any] | None = None,
) -> Runs:
    """Train a stack of networks together (:func:`gradcourse.train.fit_seeds`, minibatches
    of 128 from ``fit_keys``) and score each on the test digits.

    Args:
        fit_keys: ``(runs,)`` keys for the minibatch draws, one per network.
        start: the networks, stacked
            (:func:`gradcourse.experiments.initialization.init_stacks`).
        split: the digits.
        model, optimizer, steps, record: as in :func:`gradcourse.train.fit_seeds`.

    Returns:
        A :class:`Runs`.
    """
    final, hist = fit_seeds(
        fit_keys,
        start,
        *split.train,
        model=model,
        optimizer=optimizer,
        steps=steps,
        batch_size=128,
        record=record,
    )
    return Runs(final, hist, stack_accuracy(final, split, model))
