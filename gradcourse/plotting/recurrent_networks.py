"""Figures of the chapter on recurrent networks, drawn from what
:mod:`gradcourse.experiments.recurrent` computes: the measured backward signal of
recurrent networks against its eigenvalue bound, the error cliff over a grid of
weights and biases, and loss and gradient norm while training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["bound_scatter", "error_cliff", "loss_and_grad_norm"]


def bound_scatter(axes: Any, checks: dict[str, tuple[ArrayLike, ArrayLike]]) -> Any:
    r"""One panel per activation: measured :math:`\log_{10}\lVert\partial h_T/\partial
    h_0\rVert` against the bound :math:`\log_{10}(\gamma\lambda_1)^T`, with the diagonal
    (:func:`gradcourse.experiments.recurrent.bound_checks`'s result).

    Returns:
        ``axes``.
    """
    for ax, (act, (measured, bound)) in zip(axes, checks.items(), strict=True):
        ax.scatter(np.ravel(bound), np.ravel(measured), s=8, alpha=0.6)
        lims = [float(np.min(measured)), float(np.max(bound))]
        ax.plot(lims, lims, "k--", lw=1, label="bound")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set(title=act, xlabel=r"$\log_{10}(\gamma\lambda_1)^{T}$")
    axes[0].set_ylabel(r"$\log_{10}\Vert\partial h_T/\partial h_0\Vert$")
    axes[0].legend()
    return axes


def error_cliff(
    axes: Any,
    surface: tuple[ArrayLike, ArrayLike, ArrayLike],
    cut: tuple[ArrayLike, ArrayLike, ArrayLike],
    w: float,
    band: tuple[float, float],
) -> Any:
    """Left: the log10 loss over a ``(w, b)`` grid, ``surface = (ws, bs, loss)``, with a
    dotted line at ``w``. Right: gradient norm and loss along that line, ``cut = (bs,
    grad_norm, loss)``, with the bistable ``band`` of biases shaded.

    Returns:
        ``axes``.
    """
    (ax1, ax2), (ws, bs, loss), (b_cut, grad, loss_cut) = axes, surface, cut
    im = ax1.pcolormesh(bs, ws, np.log10(np.asarray(loss) + 1e-6), cmap="viridis")
    ax1.figure.colorbar(im, ax=ax1, label=r"$\log_{10}$ loss")
    ax1.axhline(w, color="w", ls=":")
    ax1.set(xlabel="$b$", ylabel="$w$", title="error surface after 50 steps")
    ax2.semilogy(b_cut, grad, label=r"$\Vert\nabla L\Vert$")
    ax2.semilogy(b_cut, loss_cut, label="loss")
    ax2.axvspan(*band, color="C1", alpha=0.3)
    ax2.set(xlabel="$b$", title=f"slice at $w = {w:g}$ (dotted line)")
    ax2.legend()
    return axes


def loss_and_grad_norm(axes: Any, histories: dict[str, Any]) -> Any:
    """Training loss (left) and the first recorded gradient norm (right) per step,
    median and range over seeds, for each :class:`gradcourse.train.History` in
    ``histories``; a norm of 0 is drawn at 1e-8 on the log scale.

    Returns:
        ``axes``.
    """
    ax1, ax2 = axes
    for name, hist in histories.items():
        loss = np.asarray(hist.loss)
        steps = np.arange(loss.shape[-1])
        seed_band(ax1, steps, loss, label=name)
        seed_band(ax2, steps, np.maximum(np.asarray(hist.grad_norms[..., 0]), 1e-8))
    ax1.set(xlabel="step", ylabel="training loss", yscale="log")
    ax2.set(xlabel="step", ylabel="gradient norm, unclipped", yscale="log")
    ax1.legend()
    return axes
