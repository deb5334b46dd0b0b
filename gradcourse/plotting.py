"""Plotting helpers. Each takes a matplotlib ``Axes`` and returns it; none calls ``show``.

Compute lives in the other modules; these functions only draw what they are given, in one
house style (log scale for gradient norms, the median over seeds as a line and the full
range over seeds as a band).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["setup", "seed_band", "layer_norms"]


def setup() -> None:
    """Set the house style: white figure background (readable in dark mode), tidy axes.

    Call once in a chapter's first cell, after importing matplotlib.
    """
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "legend.frameon": False,
        }
    )


def seed_band(
    ax: Any,
    x: ArrayLike,
    values: ArrayLike,
    *,
    label: str | None = None,
    color: str | None = None,
    **line_kwargs: Any,
) -> Any:
    """Draw the median over seeds as a line and the min-max range as a shaded band.

    Args:
        ax: matplotlib Axes.
        x: positions, shape ``(n,)``.
        values: ``(seeds, n)`` measurements (one row per seed), or ``(n,)``.
        label: legend label for the line.
        color: line and band colour.
        **line_kwargs: passed to ``ax.plot``.

    Returns:
        ``ax``.

    Raises:
        ValueError: if ``values`` does not end in an axis of length ``len(x)``.
    """
    x = np.asarray(x)
    values = np.atleast_2d(np.asarray(values))
    if values.ndim != 2 or values.shape[1] != x.shape[0]:
        raise ValueError(
            f"values must have shape (seeds, {x.shape[0]}) to match x, got {values.shape}"
        )
    (line,) = ax.plot(
        x, np.median(values, axis=0), label=label, color=color, **line_kwargs
    )
    if values.shape[0] > 1:
        ax.fill_between(
            x,
            values.min(axis=0),
            values.max(axis=0),
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
    return ax


def layer_norms(
    ax: Any,
    norms: ArrayLike,
    *,
    label: str | None = None,
    color: str | None = None,
    ylabel: str = r"$\|\partial L / \partial h_l\|$",
    **line_kwargs: Any,
) -> Any:
    """Per-layer gradient norms against layer index 1..L on a log scale.

    Args:
        ax: matplotlib Axes.
        norms: ``(seeds, layers)`` or ``(layers,)``, e.g. ``GradNorms.hidden``.
        label: legend label.
        color: colour.
        ylabel: y-axis label.
        **line_kwargs: passed to ``ax.plot``.

    Returns:
        ``ax``.
    """
    norms = np.atleast_2d(np.asarray(norms))
    layers = np.arange(1, norms.shape[1] + 1)
    seed_band(
        ax,
        layers,
        norms,
        label=label,
        color=color,
        marker="o",
        markersize=3,
        **line_kwargs,
    )
    ax.set_yscale("log")
    ax.set_xlabel("layer $l$ (input side on the left)")
    ax.set_ylabel(ylabel)
    return ax
