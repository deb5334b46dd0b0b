"""Figures of the chapter on why deep networks stop learning, drawn from what
:mod:`gradcourse.experiments.why_deep_networks_stop_learning` computes: per-layer
gradient-norm profiles, gradient and update norms relative to the last layer, and one
per-layer quantity over seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import per_layer_norms, seed_band

__all__ = ["norm_profiles", "update_profiles", "layer_profile"]


def norm_profiles(ax: Any, profiles: dict[str, ArrayLike], *, title: str) -> Any:
    """Several per-layer gradient-norm profiles on one log axis
    (:func:`~gradcourse.plotting.core.per_layer_norms`).

    Args:
        ax: matplotlib Axes.
        profiles: ``{legend label: (seeds, layers) norms}``.
        title: the axes title.

    Returns:
        ``ax``.
    """
    for label, norms in profiles.items():
        per_layer_norms(ax, norms, label=label)
    ax.set_title(title)
    ax.legend()
    return ax


def update_profiles(
    ax: Any, gradient: ArrayLike, updates: dict[str, ArrayLike], *, title: str
) -> Any:
    """Per-layer norms of a gradient and of updates, each divided by its last layer's.

    Args:
        ax: matplotlib Axes.
        gradient: ``(layers,)`` gradient norms (drawn as a thick grey line).
        updates: ``{optimiser name: (layers,) update norms}``.
        title: the axes title.

    Returns:
        ``ax``.
    """
    gradient = np.asarray(gradient)
    layers = np.arange(1, gradient.size + 1)
    ax.plot(layers, gradient / gradient[-1], "k-", lw=5, alpha=0.25, label="gradient")
    for name, prof in updates.items():
        prof = np.asarray(prof)
        ax.plot(layers, prof / prof[-1], marker="o", ms=3, label=f"{name} update")
    ax.set(yscale="log", xlabel="layer $l$", title=title)
    ax.set_ylabel("norm relative to the last layer")
    ax.legend()
    return ax


def layer_profile(
    ax: Any, values: ArrayLike, *, label: str, ylabel: str, title: str, **kwargs: Any
) -> Any:
    """One per-layer quantity over seeds against layer 1..L, log scale
    (:func:`~gradcourse.plotting.core.seed_band`).

    Args:
        ax: matplotlib Axes.
        values: ``(seeds, layers)``.
        label: legend label.
        ylabel: y-axis label.
        title: the axes title.
        **kwargs: passed to :func:`~gradcourse.plotting.core.seed_band` (e.g. ``marker="o"``).

    Returns:
        ``ax``.
    """
    values = np.atleast_2d(np.asarray(values))
    seed_band(ax, np.arange(1, values.shape[1] + 1), values, label=label, **kwargs)
    ax.set(yscale="log", xlabel="layer $l$", ylabel=ylabel, title=title)
    ax.legend()
    return ax
