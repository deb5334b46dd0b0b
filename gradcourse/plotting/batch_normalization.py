"""Figures of the chapter on batch normalisation, drawn from what
:mod:`gradcourse.experiments.batch_normalization` computes: per-layer gradient-norm
profiles, median and range over seeds, and training losses as running means.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import per_layer_norms, seed_band

__all__ = ["grad_profiles", "smoothed_losses"]


def grad_profiles(
    ax: Any,
    profiles: Any,
    styles: Any,
    *,
    floor: float | None = None,
    ylabel: str = r"$\|\partial \mathcal{L}/\partial W_l\|$",
) -> Any:
    """Several per-layer gradient-norm profiles on one log axis, median and range over seeds.

    Args:
        ax: matplotlib Axes.
        profiles: ``{name: (seeds, layers)}`` norms.
        styles: ``{name: (label, colour)}``: which profiles to draw, in this order.
        floor: draw values below it (exact zeros from float32 underflow, say) at it.
        ylabel: y-axis label.

    Returns:
        ``ax``.
    """
    for name, (label, color) in styles.items():
        values = np.asarray(profiles[name])
        if floor is not None:
            values = np.maximum(values, floor)
        per_layer_norms(ax, values, label=label, color=color, ylabel=ylabel)
    return ax


def smoothed_losses(ax: Any, losses: Any, styles: Any, *, window: int = 10) -> Any:
    """Training losses as a running mean over ``window`` steps, median and range over seeds.

    Args:
        ax: matplotlib Axes.
        losses: ``{name: (seeds, steps)}`` losses.
        styles: ``{name: (label, colour)}``: which curves to draw, in this order.
        window: steps per mean, >= 1.

    Returns:
        ``ax``.

    Raises:
        ValueError: for a ``window`` < 1.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    box = np.ones(window) / window
    for name, (label, color) in styles.items():
        values = np.atleast_2d(np.asarray(losses[name]))
        smooth = np.apply_along_axis(lambda r: np.convolve(r, box, "valid"), 1, values)
        steps = np.arange(smooth.shape[1]) + window
        seed_band(ax, steps, smooth, label=label, color=color)
    ax.set(xlabel="step", ylabel=f"training loss ({window}-step mean)")
    return ax
