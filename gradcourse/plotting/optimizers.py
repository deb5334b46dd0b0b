"""Figures of the chapter on optimizers, drawn from what
:mod:`gradcourse.experiments.optimizers` computes: Adagrad's shrinking step under a
constant gradient, and per-layer update norms of each optimiser beside the
gradient's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["step_decay", "update_norm_panels"]


def step_decay(
    ax: Any, t: ArrayLike, steps_g1: ArrayLike, steps_small: ArrayLike, g: float
) -> Any:
    """Adagrad's step under a constant gradient: :math:`|u_t|` for :math:`|g| = 1` and
    :math:`|u_t|/|g|` for a small :math:`|g|`, with the gradient itself as a flat line.

    Args:
        ax: matplotlib Axes.
        t: ``(steps,)`` step numbers.
        steps_g1: ``(steps,)`` step sizes for :math:`|g| = 1`.
        steps_small: ``(steps,)`` step sizes for :math:`|g|` = ``g``.
        g: the small gradient.

    Returns:
        ``ax``.
    """
    t = np.asarray(t)
    ax.plot(t, np.ones_like(t, dtype=float), color="k", label="gradient $|g_t| = 1$")
    ax.plot(t, steps_g1, label="Adagrad step $|u_t|$, $|g| = 1$")
    ax.plot(
        t,
        np.asarray(steps_small) / g,
        ls="--",
        label=f"Adagrad step $/|g|$, $|g| = {g:g}$",
    )
    ax.set(
        xscale="log", yscale="log", xlabel="step $t$", title="decaying learning rate"
    )
    ax.legend(fontsize=8)
    return ax


def update_norm_panels(
    axes: Any,
    gradient: ArrayLike,
    first_updates: dict[str, ArrayLike],
    all_updates: dict[str, ArrayLike],
) -> Any:
    """Per-layer norms of updates: at the first step with the gradient (left), and over all
    steps as median and range (right). Read-out excluded by the caller.

    Args:
        axes: two Axes.
        gradient: ``(layers,)`` gradient norms at step 1.
        first_updates: ``{optimiser: (layers,) update norms at step 1}``.
        all_updates: ``{optimiser: (steps, layers) update norms}``.

    Returns:
        ``axes``.
    """
    ax0, ax1 = axes
    gradient = np.asarray(gradient)
    layers = np.arange(1, gradient.size + 1)
    ax0.plot(layers, gradient, "k-o", ms=3, label="gradient (both, step 1)")
    for name, u in first_updates.items():
        ax0.plot(layers, u, "-o", ms=3, label=f"{name} update")
    ax0.set(yscale="log", xlabel="layer $l$", ylabel="Frobenius norm", title="step 1")
    ax0.legend(fontsize=8)
    for name, u in all_updates.items():
        seed_band(ax1, layers, u, label=f"{name} update")
    steps = np.shape(next(iter(all_updates.values())))[0]
    ax1.set(
        yscale="log", xlabel="layer $l$", title=f"all {steps} steps (median, range)"
    )
    ax1.legend(fontsize=8)
    return axes
