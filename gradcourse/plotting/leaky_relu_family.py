"""Figures of the chapter on the leaky ReLU family, drawn from what
:mod:`gradcourse.experiments.leaky_relu_family` computes: the gradient ratio against
the negative slope, how many units switch off and what the networks learn as the
slope grows, and the slopes PReLU learns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["slope_flow", "recovery_panels", "prelu_slopes"]


def slope_flow(
    ax: Any, slopes: ArrayLike, fixed: ArrayLike, matched: ArrayLike, depth: int
) -> Any:
    r"""First-to-last gradient ratio against the negative slope, two gains and theory.

    Args:
        ax: matplotlib Axes.
        slopes: negative slopes ``(k,)``.
        fixed, matched: ``(k, seeds)`` ratios at He's gain and at the matched gain.
        depth: the networks' depth :math:`L`, for the curve :math:`(1+a^2)^{(L-1)/2}`.

    Returns:
        ``ax``.
    """
    s = np.asarray(slopes)
    seed_band(ax, s, np.asarray(fixed).T, marker="o", label="ReLU gain $\\sqrt{2}$")
    seed_band(ax, s, np.asarray(matched).T, marker="s", label="matched gain")
    ax.plot(s, (1 + s**2) ** ((depth - 1) / 2), "k:", label="$(1+a^2)^{(L-1)/2}$")
    ax.set(
        yscale="log",
        xlabel="negative slope $a$",
        ylabel=r"$\|\partial \mathcal{L}/\partial H_1\| \,/\, "
        r"\|\partial \mathcal{L}/\partial H_L\|$",
    )
    ax.legend()
    return ax


def recovery_panels(
    ax_off: Any,
    ax_acc: Any,
    slopes: ArrayLike,
    killed: ArrayLike,
    recovered: ArrayLike,
    accuracy: ArrayLike,
) -> tuple[Any, Any]:
    """Fraction of units off (left) and test accuracy (right) against the slope.

    Args:
        ax_off, ax_acc: matplotlib Axes.
        slopes: negative slopes during recovery ``(k,)``.
        killed: ``(k, seeds)`` fraction off after the large step (its median at slope 0
            is drawn as a reference line).
        recovered: ``(k, seeds)`` fraction off after recovery.
        accuracy: ``(k, seeds)`` test accuracy after recovery.

    Returns:
        ``(ax_off, ax_acc)``.
    """
    ks = np.asarray(slopes)
    ax_off.axhline(
        float(np.median(np.asarray(killed)[0])),
        color="k",
        ls=":",
        label="after the large step",
    )
    seed_band(
        ax_off, ks, np.asarray(recovered).T, marker="s", label="after recovery training"
    )
    ax_off.set_xscale("symlog", linthresh=0.01)
    ax_off.set(
        xlabel="negative slope $a$ during recovery", ylabel="fraction of units off"
    )
    ax_off.legend()
    seed_band(ax_acc, ks, np.asarray(accuracy).T, marker="o")
    ax_acc.set_xscale("symlog", linthresh=0.01)
    ax_acc.set(xlabel="negative slope $a$ during recovery", ylabel="test accuracy")
    return ax_off, ax_acc


def prelu_slopes(
    ax_hist: Any, ax_steps: Any, alpha: ArrayLike, alpha_mean: ArrayLike
) -> tuple[Any, Any]:
    """Learned PReLU slopes (histogram, left) and each layer's mean slope (right).

    Args:
        ax_hist, ax_steps: matplotlib Axes.
        alpha: learned slopes, any shape (pooled).
        alpha_mean: ``(seeds, steps, depth)`` each layer's mean slope during training.

    Returns:
        ``(ax_hist, ax_steps)``.
    """
    alpha, alpha_mean = np.asarray(alpha), np.asarray(alpha_mean)
    ax_hist.hist(alpha.ravel(), bins=40, color="C0")
    ax_hist.axvline(0.25, color="k", ls=":", label="initial $a = 0.25$")
    ax_hist.axvspan(
        alpha.min() - 0.05, 0.0, color="C3", alpha=0.15, label="outside $(0, 1)$"
    )
    ax_hist.set(xlabel="learned slope $a$", ylabel="units")
    ax_hist.legend()
    steps = np.arange(1, alpha_mean.shape[1] + 1)
    for layer in range(alpha_mean.shape[2]):
        seed_band(ax_steps, steps, alpha_mean[:, :, layer], label=f"layer {layer + 1}")
    ax_steps.set(xlabel="step", ylabel="mean slope of the layer")
    ax_steps.legend()
    return ax_hist, ax_steps
