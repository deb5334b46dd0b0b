"""Figures of the chapter on tanh, drawn from what :mod:`gradcourse.experiments.tanh`
computes: the gradient factor per layer of a tanh weight sweep, then the RMS slope and
the fraction of saturated units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["tanh_weight_sweep"]


def tanh_weight_sweep(axes: Any, sigma_ws: ArrayLike, sweep: Any) -> Any:
    """Two panels of a tanh weight sweep: the gradient factor, then slope and saturation.

    Left: the measured factor per layer (median and range over seeds) against the weight
    scale, with :math:`\\sigma_w` times the median RMS slope dashed and 1 marked. Right:
    the RMS slope and the saturated fraction.

    Args:
        axes: two matplotlib Axes.
        sigma_ws: ``(n,)`` weight scales.
        sweep: a :class:`gradcourse.experiments.tanh.WeightSweep` over ``sigma_ws``.

    Returns:
        ``axes``.
    """
    left, right = axes
    band = {"marker": "o", "markersize": 3}
    seed_band(left, sigma_ws, sweep.factor, label="measured factor", **band)
    product = np.median(sweep.rms_slope, axis=0) * np.asarray(sigma_ws)
    left.plot(sigma_ws, product, "k--", lw=1, label=r"$\sigma_w \times$ RMS slope")
    left.axhline(1, color="gray", lw=0.8)
    left.set_yscale("log")
    left.set(xlabel=r"$\sigma_w$", ylabel="gradient factor per layer")
    left.set_title("Vanishing below, exploding above")
    left.legend()
    seed_band(right, sigma_ws, sweep.rms_slope, label=r"RMS $\tanh'(z)$", **band)
    band["marker"] = "s"
    label = r"fraction saturated, $|h| > 0.99$"
    seed_band(right, sigma_ws, sweep.saturated, label=label, **band)
    right.set(xlabel=r"$\sigma_w$", title="Larger weights saturate units")
    right.legend()
    return axes
