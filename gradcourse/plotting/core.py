"""The house style and the figure helpers every chapter shares. Each takes a matplotlib
``Axes`` and returns it; none calls ``show``.

Compute lives in the other modules; these functions only draw what they are given, in one
house style (log scale for gradient norms, the median over seeds as a line and the full
range over seeds as a band).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "setup",
    "seed_band",
    "per_layer_norms",
    "layer_heatmap",
    "activation_timeline",
    "activation_gallery",
]


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


def per_layer_norms(
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


def layer_heatmap(
    ax: Any,
    values: ArrayLike,
    *,
    log: bool = True,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
) -> Any:
    """Heat map of a per-layer quantity over training: steps across, layers up.

    Args:
        ax: matplotlib Axes.
        values: ``(steps, layers)``, e.g. ``History.grad_norms``; layer 1 (input side)
            is drawn at the bottom.
        log: colour by ``log10(values)`` (non-positive values are left blank).
        cmap: colour map name.
        vmin, vmax: colour limits (in log10 units when ``log``).
        colorbar_label: if given, add a colour bar with this label.

    Returns:
        ``ax``.

    Raises:
        ValueError: if ``values`` is not 2-D.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values must be (steps, layers), got shape {values.shape}")
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(values), np.nan)
    steps, layers = values.shape
    image = ax.imshow(values.T, origin="lower", aspect="auto", cmap=cmap,
                      interpolation="nearest", vmin=vmin, vmax=vmax,
                      extent=(-0.5, steps - 0.5, 0.5, layers + 0.5))  # fmt: skip
    ax.grid(False)
    ax.set_xlabel("training step")
    ax.set_ylabel("layer (input at the bottom)")
    if colorbar_label is not None:
        ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    return ax


def activation_timeline(ax: Any, entries: Any) -> Any:
    """Activation functions against the year of their paper, one row each, oldest lowest.

    Saturating functions are drawn in grey, the others in colour.

    Args:
        ax: matplotlib Axes.
        entries: :class:`gradcourse.registry.Activation` records (e.g.
            ``REGISTRY.values()``), oldest first.

    Returns:
        ``ax``.
    """
    entries = list(entries)
    years = [e.year for e in entries]
    ax.step(years, range(len(entries)), where="post", color="0.85", linewidth=1)
    for row, entry in enumerate(entries):
        color = "0.55" if entry.saturating else "C0"
        ax.plot([entry.year], [row], "o", color=color)
        ax.annotate(
            f"{entry.label}, {entry.authors}",
            (entry.year, row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    # room on the right for the labels, but the axis itself ends at the newest paper
    ax.set_xlim(min(years) - 2, max(years) + 14)
    ticks = [y for y in range(1980, max(years) + 1, 5) if y >= min(years) - 2]
    ax.set_xticks(ticks)
    ax.spines["bottom"].set_bounds(min(years) - 2, max(years))
    ax.set_ylim(-0.8, len(entries) - 0.2)
    ax.set_yticks([])
    ax.grid(False, axis="y")
    ax.set_xlabel("year of the paper")
    return ax


def activation_gallery(
    axes: Any, entries: Any, x: ArrayLike, values: ArrayLike, slopes: ArrayLike
) -> Any:
    """One panel per activation: the function (solid), its derivative (dashed), kinks.

    Args:
        axes: an array of matplotlib Axes with at least ``len(entries)`` panels; unused
            panels are hidden.
        entries: :class:`gradcourse.registry.Activation` records.
        x: points, ``(n,)``.
        values, slopes: ``(len(entries), n)`` function values and derivatives at ``x``
            (:func:`gradcourse.registry.tabulate`).

    Returns:
        ``axes``.

    Raises:
        ValueError: if there are fewer panels than entries or the shapes disagree.
    """
    entries = list(entries)
    flat = np.asarray(axes).ravel()
    x, values, slopes = np.asarray(x), np.asarray(values), np.asarray(slopes)
    if flat.size < len(entries):
        raise ValueError(f"axes must have >= {len(entries)} panels, got {flat.size}")
    if values.shape != (len(entries), x.size) or slopes.shape != values.shape:
        raise ValueError(
            f"values and slopes must have shape ({len(entries)}, {x.size}), "
            f"got {values.shape} and {slopes.shape}"
        )
    for ax, entry, v, d in zip(flat, entries, values, slopes, strict=False):
        ax.plot(x, v, color="C0", label=r"$\phi$")
        ax.plot(x, d, "--", color="C3", label=r"$\phi'$")
        for k in entry.kinks:
            if x.min() <= k <= x.max():
                ax.axvline(k, color="0.6", linewidth=0.6, linestyle=":")
        ax.set_title(f"{entry.label} ({entry.year})\n${entry.formula}$", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in flat[len(entries) :]:
        ax.set_visible(False)
    return axes
