"""Figures of the chapter on residual connections, drawn from what
:mod:`gradcourse.experiments.residual_connections` computes: shattered gradients,
seen in the derivative along a line of inputs after several numbers of blocks and in
the correlation of neighbouring points' derivatives against depth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["shattering_panels"]


def shattering_panels(
    axes: Any,
    grid: ArrayLike,
    f_prime: ArrayLike,
    rho: ArrayLike,
    *,
    depths: tuple[int, ...],
    names: tuple[str, ...] = ("plain", "residual"),
) -> Any:
    r"""Two panels of shattered gradients: :math:`f'(x)` of the first seed after each of
    ``depths`` blocks (left, scaled to a maximum of 1), and the neighbour correlation
    :math:`\rho` against depth, median and range over seeds (right).

    Args:
        axes: two matplotlib Axes.
        grid: ``(points, 1)`` or ``(points,)`` inputs.
        f_prime: ``(networks, seeds, points, depth + 1)``.
        rho: ``(networks, seeds, depth + 1)``.
        depths: block counts to draw on the left (dotted, then solid).
        names: one label per network.

    Returns:
        ``axes``.
    """
    ax0, ax1 = axes
    x, f_prime, rho = np.ravel(grid), np.asarray(f_prime), np.asarray(rho)
    for depth, ls in zip(depths, [":", "-", "--", "-."], strict=False):
        for i, name in enumerate(names):
            g = f_prime[i, 0, :, depth]
            label = f"{name}, {depth} blocks"
            ax0.plot(x, g / np.abs(g).max(), ls=ls, color=f"C{i}", label=label)
    ax0.set(xlabel="input $x$", ylabel="$f'(x)$ (scaled to max 1)")
    ax0.legend(fontsize=8)
    layers = np.arange(rho.shape[-1])
    for i, name in enumerate(names):
        seed_band(ax1, layers, rho[i], label=name)
    ax1.set(xlabel="blocks $l$", ylabel=r"neighbour correlation $\rho$")
    ax1.legend()
    return axes
