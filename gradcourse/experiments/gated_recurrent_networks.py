r"""Experiments of the gated-recurrent-networks chapter, composed from
:mod:`gradcourse.recurrent` and the recall task of :mod:`gradcourse.experiments.recurrent`.

* :func:`forget_bias_paths`: the LSTM's constant error carousel, the gradient carried back
  along the cell state for several forget-gate biases.
* :class:`Model` and :func:`memory_sweep`: Elman, LSTM and GRU cells trained on the recall
  task for a grid of lags and seeds, one compiled program per cell.
* :func:`time_grid`, :func:`time_grid_maps` and :func:`lag_decay`: maps of
  :math:`\log_{10}\sigma_{\max}(\partial h_T/\partial h_t)` before and after training.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from gradcourse import _checks, recurrent
from gradcourse.experiments.recurrent import (
    Classifier,
    SequenceClassifier,
    Sequences,
    fit_grid,
    grid_accuracy,
    init_classifier,
    recall_task,
)


@functools.partial(jax.jit, static_argnums=(0, 3))
def time_grid(cell: recurrent.Cell, params: Any, xs: Array, block: str = "h") -> Array:
    """:func:`gradcourse.recurrent.log_sigma_grid` of ``cell`` on one sequence ``xs``
    ``(T, m)``, in one compiled program: log10 of the largest singular value of
    :math:`\\partial h_T / \\partial h_t` (``block="h"``) or of
    :math:`\\partial c_T / \\partial c_t` (``"c"``), ``(T + 1, T + 1)``."""
    jacs = recurrent.step_jacobians(cell, params, xs)
    return recurrent.log_sigma_grid(cell, jacs, block)


@dataclass(frozen=True)
class Model:
    """One entry of a sweep: a name, a cell and how to initialise it."""

    name: str
    cell: recurrent.Cell
    scheme: recurrent.RecurrentInit = recurrent.RecurrentInit()


class MemorySweep(NamedTuple):
    """:func:`memory_sweep`'s result: ``accuracy`` ``(models, lags, seeds)`` on held-out
    sequences, ``final`` the trained parameters per model (leading axes ``(lags, seeds)``),
    ``initial`` the same at initialisation, and the ``test`` sequences ``(lags, n, ...)``."""

    accuracy: Array
    final: tuple[Classifier, ...]
    initial: tuple[Classifier, ...]
    test: Sequences


def memory_sweep(
    key: Array,
    models: tuple[Model, ...],
    lags: tuple[int, ...],
    *,
    seeds: int,
    steps: int,
    length: int,
    optimizer: optax.GradientTransformation,
    n_train: int = 512,
    n_test: int = 512,
    batch_size: int = 32,
) -> MemorySweep:
    """Train every model on :func:`~gradcourse.experiments.recurrent.recall_task` for
    every lag and seed, and test it.

    All lags share one sequence ``length`` (the cue arrives ``lag`` steps before the end),
    and models with the same cell differ only in their initial parameters, so each cell
    is one compiled program: its models' parameters are stacked along the seed axis and
    trained together by :func:`~gradcourse.experiments.recurrent.fit_grid` over
    ``(lags, models * seeds)``. The data, the seeds' keys and the minibatches are the
    same for every model.
    """
    for lag in lags:
        if not 1 <= lag < length:
            raise ValueError(f"lags must lie in [1, length - 1], got {lags!r}")
    k_train, k_test, k_fit = jax.random.split(key, 3)
    data = _recall_stack(k_train, n_train, tuple(lags), length)
    test = _recall_stack(k_test, n_test, tuple(lags), length)
    keys = jax.random.split(k_fit, (len(lags), seeds))
    inputs = data.xs.shape[-1] // length
    for m in models:
        if m.cell.inputs != inputs:
            raise ValueError(f"model {m.name!r} needs cell.inputs = {inputs}")
    results: dict[int, tuple[Array, Classifier, Classifier]] = {}
    for cell in dict.fromkeys(m.cell for m in models):
        group = [i for i, m in enumerate(models) if m.cell == cell]
        schemes = tuple(models[i].scheme for i in group)
        params = _init_grid(keys, cell, schemes)  # (lags, len(group) * seeds)
        model = SequenceClassifier(cell)
        final, _ = fit_grid(
            jnp.concatenate([keys] * len(group), axis=1),
            params,
            data,
            model=model,
            optimizer=optimizer,
            steps=steps,
            batch_size=batch_size,
        )
        acc = grid_accuracy(model, final, test)
        for j, i in enumerate(group):
            part = functools.partial(_seed_slice, j * seeds, (j + 1) * seeds)
            results[i] = (part(acc), *map(part, (final, params)))
    accs, finals, inits = zip(*(results[i] for i in range(len(models))), strict=True)
    return MemorySweep(jnp.stack(accs), finals, inits, test)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _recall_stack(key: Array, n: int, lags: tuple[int, ...], length: int) -> Sequences:
    """:func:`~gradcourse.experiments.recurrent.recall_task` for each lag (key folded with
    the lag), stacked: ``(lags, n, ...)``."""
    sets = [recall_task(jax.random.fold_in(key, lag), n, lag, length) for lag in lags]
    return Sequences(*(jnp.stack(a) for a in zip(*sets, strict=True)))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _init_grid(
    keys: Array, cell: recurrent.Cell, schemes: tuple[recurrent.RecurrentInit, ...]
) -> Classifier:
    """Initial parameters for each scheme and key, concatenated along the seed axis."""
    grids = [
        jax.vmap(jax.vmap(lambda k, s=s: init_classifier(k, cell, 4, s)))(keys)
        for s in schemes
    ]
    return jax.tree.map(lambda *a: jnp.concatenate(a, axis=1), *grids)


def _seed_slice(start: int, stop: int, tree: Any) -> Any:
    return jax.tree.map(lambda a: a[:, start:stop], tree)


def forget_bias_paths(
    key: Array, cell: recurrent.Cell, biases: tuple[float, ...], xs: Array
) -> dict[float, np.ndarray]:
    r""":func:`gradcourse.recurrent.carousel_log10` of an LSTM initialised with each
    forget-gate bias :math:`b_f` of ``biases`` (every one from ``key``) on the sequence
    ``xs``: the log10 of :math:`\partial c_T/\partial c_t`, ``(T + 1, n)`` per bias
    (Gers, Schmidhuber & Cummins, 2000; Jozefowicz et al., 2015 recommend
    :math:`b_f = 1`).

    Raises:
        ValueError: if ``cell`` is not an LSTM.
    """
    if not cell.kind.startswith("lstm"):
        raise ValueError(f"cell must be an LSTM, got kind {cell.kind!r}")
    return {
        b: np.asarray(
            recurrent.carousel_log10(
                cell,
                recurrent.init(key, cell, recurrent.RecurrentInit(forget_bias=b)),
                xs,
            )
        )
        for b in biases
    }


def time_grid_maps(
    sweep: MemorySweep,
    models: tuple[Model, ...],
    key: Array,
    *,
    untrained: tuple[tuple[str, recurrent.Cell], ...] = (),
    cell_state: tuple[str, ...] = (),
    lag: int = 0,
    example: int = 0,
) -> dict[str, list[np.ndarray | None]]:
    r""":func:`time_grid` maps (log10 :math:`\sigma_{\max}` of
    :math:`\partial h_T/\partial h_t`) at initialisation and after training, on test
    sequence ``example`` of lag index ``lag`` of a :func:`memory_sweep`.

    Each model's map uses its best seed at that lag (highest test accuracy). Models named
    in ``cell_state`` get a second entry ``name + " (cell c)"`` with the cell-state maps
    :math:`\partial c_T/\partial c_t`. Each ``(name, cell)`` of ``untrained`` adds the
    map of ``cell`` initialised from ``key``, with None for "after training".

    Returns:
        ``{name: [map at initialisation, map after training or None]}``, each map
        ``(T + 1, T + 1)``.
    """
    _checks.in_range("lag", lag, 0, sweep.accuracy.shape[1] - 1)
    inputs = models[0].cell.inputs
    seq = np.asarray(sweep.test.xs)[lag, example].reshape(-1, inputs)

    def pick(params: Classifier, seed: int) -> Any:
        return jax.tree.map(lambda a: np.asarray(a)[lag, seed], params.cell)

    maps: dict[str, list[np.ndarray | None]] = {}
    for i, m in enumerate(models):
        best = int(np.argmax(np.asarray(sweep.accuracy[i, lag])))
        pair = (pick(sweep.initial[i], best), pick(sweep.final[i], best))
        maps[m.name] = [np.asarray(time_grid(m.cell, p, seq)) for p in pair]
        if m.name in cell_state:
            maps[m.name + " (cell c)"] = [
                np.asarray(time_grid(m.cell, p, seq, "c")) for p in pair
            ]
    for name, cell in untrained:
        maps[name] = [np.asarray(time_grid(cell, recurrent.init(key, cell), seq)), None]
    return maps


def lag_decay(
    maps: dict[str, list[np.ndarray | None]], lag: int
) -> dict[str, list[float]]:
    """Median over t of ``map[t + lag, t]`` (log10 of the largest singular value of the
    Jacobian ``lag`` steps back) for each map of :func:`time_grid_maps` that exists.

    Raises:
        ValueError: if ``lag`` is not in ``[0, T]``.
    """
    size = next(iter(maps.values()))[0].shape[0]
    _checks.in_range("lag", lag, 0, size - 1)

    def decay(g: np.ndarray) -> float:
        return float(np.median([g[t + lag, t] for t in range(g.shape[0] - lag)]))

    return {
        name: [decay(g) for g in pair if g is not None] for name, pair in maps.items()
    }
