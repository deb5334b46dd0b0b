"""Figures of the chapter on ELU and its successors, drawn from what
:mod:`gradcourse.experiments.elu_and_successors` computes: the mean activation per
layer of ReLU and ELU networks, measured against predicted; SELU's mean and variance
converging from several starts; and the smooth rectifiers with their derivatives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["mean_shift_curves", "moment_runs", "activation_curves"]


def mean_shift_curves(ax: Any, runs: Any) -> Any:
    """Mean activation per layer, measured (seed band, dots) and predicted (dotted).

    Args:
        ax: matplotlib Axes.
        runs: ``{name: run}`` with ``run.measured.mean`` ``(seeds, depth)``,
            ``run.theory.mean`` ``(depth,)`` and ``run.gain``
            (:func:`gradcourse.experiments.elu_and_successors.mean_shift`).

    Returns:
        ``ax``.
    """
    for name, run in runs.items():
        layers = np.arange(1, np.asarray(run.theory.mean).shape[0] + 1)
        seed_band(
            ax,
            layers,
            run.measured.mean,
            marker="o",
            markersize=3,
            label=f"{name}, gain {run.gain:.3g}",
        )
        ax.plot(layers, np.asarray(run.theory.mean), "k:")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="layer $l$", ylabel="mean activation")
    ax.legend()
    return ax


def moment_runs(ax_mean: Any, ax_var: Any, starts: Any, runs: Any) -> tuple[Any, Any]:
    """Mean (left) and variance (right) per layer for inputs of several moments.

    Args:
        ax_mean, ax_var: matplotlib Axes.
        starts: the inputs' ``(mean, variance)``, one per run.
        runs: runs with ``measured`` (fields ``(seeds, depth)``) and ``theory``
            (fields ``(depth,)``), e.g. from
            :func:`gradcourse.experiments.elu_and_successors.selu_runs`.

    Returns:
        ``(ax_mean, ax_var)``.
    """
    for (m0, v0), run in zip(starts, runs, strict=True):
        layers = np.arange(1, np.asarray(run.theory.mean).shape[0] + 1)
        label = f"input mean {m0:g}, var {v0:g}"
        seed_band(ax_mean, layers, run.measured.mean, label=label)
        seed_band(ax_var, layers, run.measured.var, label=label)
        ax_mean.plot(layers, np.asarray(run.theory.mean), "k:", lw=0.8)
        ax_var.plot(layers, np.asarray(run.theory.var), "k:", lw=0.8)
    ax_mean.set(xlabel="layer $l$", ylabel="mean of activations")
    ax_var.set(xlabel="layer $l$", ylabel="variance of activations", yscale="log")
    ax_var.legend(loc="upper right")
    return ax_mean, ax_var


def activation_curves(
    ax_fn: Any, ax_grad: Any, entries: Any, x: ArrayLike
) -> tuple[Any, Any]:
    r"""Several activations (left) and their derivatives (right) on one pair of axes.

    Args:
        ax_fn, ax_grad: matplotlib Axes.
        entries: :class:`gradcourse.registry.Activation` records.
        x: points ``(n,)``.

    Returns:
        ``(ax_fn, ax_grad)``.
    """
    for entry in entries:
        ax_fn.plot(x, entry.fn(x), label=entry.label)
        ax_grad.plot(x, entry.grad(x), label=entry.label)
    ax_fn.set(xlabel="$x$", ylabel=r"$\phi(x)$")
    ax_grad.set(xlabel="$x$", ylabel=r"$\phi'(x)$")
    return ax_fn, ax_grad
