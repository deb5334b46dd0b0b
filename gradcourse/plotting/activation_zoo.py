"""Figures of the chapter on the activation zoo, drawn from what
:mod:`gradcourse.experiments.activation_zoo` computes: each activation's measured
per-layer gradient norms against the mean-field prediction, and the first layer's
gradient norm and the test accuracy while the zoo trains.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["zoo_depth_panels", "zoo_training"]


def zoo_depth_panels(
    axes: Any, entries: Any, log_measured: ArrayLike, log_predicted: ArrayLike
) -> Any:
    r"""One panel per activation: measured per-layer gradient norms against theory.

    Args:
        axes: an array of matplotlib Axes with at least ``len(entries)`` panels (unused
            panels are hidden); they share one figure, whose axes are labelled.
        entries: :class:`gradcourse.registry.Activation` records.
        log_measured: ``(len(entries), seeds, depth)`` :math:`\log_{10}` of each layer's
            gradient norm relative to the last layer, drawn as a seed band.
        log_predicted: ``(len(entries), depth)`` the prediction, drawn dashed.

    Returns:
        ``axes``.
    """
    entries = list(entries)
    flat = np.asarray(axes).ravel()
    log_measured, log_predicted = np.asarray(log_measured), np.asarray(log_predicted)
    if flat.size < len(entries):
        raise ValueError(f"axes must have >= {len(entries)} panels, got {flat.size}")
    layers = np.arange(1, log_measured.shape[-1] + 1)
    for ax, a_measured, a_predicted, e in zip(
        flat, log_measured, log_predicted, entries, strict=False
    ):
        seed_band(ax, layers, a_measured)
        ax.plot(layers, a_predicted, "k--", linewidth=1)
        ax.set_title(e.label, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in flat[len(entries) :]:
        ax.set_visible(False)
    fig = flat[0].figure
    fig.supxlabel("layer $l$ (input at the left)", fontsize=9)
    depth = layers[-1]
    fig.supylabel(
        r"$\log_{10}\,\|\partial L/\partial H_l\| \,/\, \|\partial L/\partial H_{"
        + str(depth)
        + r"}\|$",
        fontsize=9,
    )
    return axes


def zoo_training(
    ax_grad: Any, ax_acc: Any, labels: Any, first_layer: ArrayLike, accuracy: ArrayLike
) -> tuple[Any, Any]:
    """First-layer gradient norm during training (left) and test accuracy (right).

    Args:
        ax_grad, ax_acc: matplotlib Axes.
        labels: one legend label per activation.
        first_layer: ``(activations, seeds, steps)`` first-layer weight-gradient norms.
        accuracy: ``(activations, seeds)`` test accuracies; a dot per seed, a bar at the
            median.

    Returns:
        ``(ax_grad, ax_acc)``.
    """
    labels = list(labels)
    first_layer, accuracy = np.asarray(first_layer), np.asarray(accuracy)
    colors = _colors(len(labels))
    steps, seeds = first_layer.shape[-1], accuracy.shape[1]
    for a, label in enumerate(labels):
        seed_band(
            ax_grad,
            np.arange(steps),
            first_layer[a],
            label=label,
            color=colors[a],
            linewidth=0.8,
        )
        ax_acc.plot(np.full(seeds, a), accuracy[a], "o", color=colors[a], markersize=4)
        ax_acc.plot([a - 0.3, a + 0.3], [np.median(accuracy[a])] * 2, "k", linewidth=1)
    ax_grad.set_yscale("log")
    ax_grad.set_xlabel("SGD step")
    ax_grad.set_ylabel(r"$\|\partial L / \partial W_1\|$ (first layer)")
    ax_grad.legend(fontsize=7, ncol=2)
    ax_acc.set_xticks(range(len(labels)), labels, rotation=70, fontsize=7)
    ax_acc.set_ylabel("test accuracy")
    return ax_grad, ax_acc


def _colors(n: int) -> Any:
    import matplotlib.pyplot as plt

    return plt.get_cmap("tab10")(np.arange(n))
