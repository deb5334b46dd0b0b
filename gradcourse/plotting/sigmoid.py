"""Figures of the chapter on the sigmoid, drawn from what
:mod:`gradcourse.experiments.sigmoid` computes: the measured gradient factor per
layer against the weight scale, beside two predictions (the RMS slope times the RMS
singular value, and the RMS slope alone) and the bound 1/4.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["factor_sweep"]


def factor_sweep(ax: Any, sigma_ws: ArrayLike, sweep: Any) -> Any:
    """Measured gradient factor per layer against the weight scale, with two predictions.

    Each seed's measured factor is a dot; the median over seeds of the RMS slope times the
    RMS singular value, and of the RMS slope alone, are lines; a dashed line marks 1/4.

    Args:
        ax: matplotlib Axes.
        sigma_ws: ``(n,)`` weight scales.
        sweep: ``{sigma_w: GradientFactor}``
            (:func:`gradcourse.experiments.sigmoid.gradient_factor`) for each scale.

    Returns:
        ``ax``.
    """
    sigma_ws = [float(s) for s in np.asarray(sigma_ws)]
    for i, s in enumerate(sigma_ws):
        factor = np.asarray(sweep[s].factor)
        label = "measured (each seed)" if i == 0 else None
        ax.scatter(np.full(factor.size, s), factor, color="C0", s=12, label=label)
    predicted = [np.median(sweep[s].rms_slope * sweep[s].rms_sv) for s in sigma_ws]
    ax.plot(sigma_ws, predicted, "C1-", label="RMS slope $\\times$ RMS singular value")
    slope = [np.median(sweep[s].rms_slope) for s in sigma_ws]
    ax.plot(sigma_ws, slope, "C2:", label="RMS slope alone")
    ax.axhline(0.25, color="k", ls="--", lw=1, label="$1/4$")
    ax.set_xscale("log", base=2)
    ax.set(xlabel=r"weight scale $\sigma_w$", ylabel="gradient factor per layer")
    ax.legend()
    return ax
