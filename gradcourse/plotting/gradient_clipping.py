"""Figures of the chapter on gradient clipping, drawn from what
:mod:`gradcourse.experiments.gradient_clipping` computes: one panel per run of every
seed's minibatch loss, clipped or not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["loss_panels"]


def loss_panels(axes: Any, runs: Any) -> Any:
    """One panel per run: every seed's minibatch loss against the step, log scale.

    Args:
        axes: one matplotlib Axes per run.
        runs: ``{title: (seeds, steps) losses}``, in panel order.

    Returns:
        ``axes``.
    """
    for ax, (title, losses) in zip(np.ravel(axes), runs.items(), strict=True):
        losses = np.atleast_2d(np.asarray(losses))
        steps = np.arange(1, losses.shape[1] + 1)
        for s, curve in enumerate(losses):
            ax.plot(steps, curve, lw=1, color=f"C{s}", label=f"seed {s}")
        ax.set(title=title, xlabel="step", yscale="log")
    return axes
