"""Figures of the chapter on initialisation, drawn from what
:mod:`gradcourse.experiments.initialization` computes: forward and backward variance
per layer for each scheme with the mean-field prediction, histograms of activations
and of back-propagated signals, training losses, and the singular values of Gaussian
and orthogonal products.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import per_layer_norms, seed_band

__all__ = [
    "variance_panels",
    "layer_histograms",
    "loss_curves",
    "singular_value_spectra",
]


def variance_panels(axes: Any, profiles: dict[tuple[str, str], Any]) -> Any:
    """Forward (top row) and backward (bottom row) variance per layer, one column per
    activation, one colour per scheme, the mean-field prediction dashed black.

    Args:
        axes: a ``(2, activations)`` array of Axes.
        profiles: ``{(activation, scheme): Profile}`` with fields ``q``, ``g2``
            (``(seeds, depth)``), ``q_theory`` and ``g2_theory`` (``(depth,)``), as from
            ``gc.experiments.initialization.variance_profiles``.

    Returns:
        ``axes``.
    """
    activations = list(dict.fromkeys(a for a, _ in profiles))
    schemes = list(dict.fromkeys(s for _, s in profiles))
    for col, activation in enumerate(activations):
        top, bottom = axes[0, col], axes[1, col]
        for i, name in enumerate(schemes):
            prof = profiles[activation, name]
            layers = np.arange(1, np.shape(prof.q)[-1] + 1)
            seed_band(top, layers, prof.q, label=name, color=f"C{i}")
            top.plot(layers, prof.q_theory, "k--", lw=1)
            per_layer_norms(bottom, prof.g2, color=f"C{i}", ylabel="")
            bottom.plot(layers, prof.g2_theory, "k--", lw=1)
        top.set(yscale="log", title=f"{activation}: forward $\\mathbb{{E}}[z_l^2]$")
        bottom.set_title(
            f"{activation}: backward $\\|\\partial \\mathcal{{L}}/\\partial H_l\\|^2$"
        )
    axes[0, 0].legend(fontsize=8)
    return axes


def layer_histograms(
    axes: Any, post: ArrayLike, log_delta: ArrayLike, names: Any, layers: Any
) -> Any:
    """Histograms of activations (top row) and of :math:`\\log_{10}|\\delta_l|` (bottom
    row) at a few layers, one column per network.

    Args:
        axes: a ``(2, networks)`` array of Axes.
        post: ``(networks, depth, batch, width)`` activations in [-1, 1].
        log_delta: same shape, :math:`\\log_{10}|\\delta_l|` in [-30, 0].
        names: a title per network.
        layers: 1-based layers to show, one colour each.

    Returns:
        ``axes``.
    """
    post, log_delta = np.asarray(post), np.asarray(log_delta)
    for col, name in enumerate(names):
        for i, lyr in enumerate(layers):
            kw = dict(
                bins=60,
                histtype="step",
                density=True,
                color=f"C{i}",
                label=f"layer {lyr}",
            )
            axes[0, col].hist(post[col, lyr - 1].ravel(), range=(-1, 1), **kw)
            axes[1, col].hist(log_delta[col, lyr - 1].ravel(), range=(-30, 0), **kw)
        axes[0, col].set(title=name, xlabel="activation $h_l$")
        axes[1, col].set(xlabel=r"$\log_{10}|\delta_l|$")
    axes[0, 0].set_ylabel("density")
    axes[1, 0].set_ylabel("density")
    axes[0, 0].legend(fontsize=8)
    return axes


def loss_curves(
    ax: Any,
    losses: dict[str, ArrayLike],
    *,
    window: int = 10,
    colors: Any = None,
    chance: tuple[float, str] | None = None,
) -> Any:
    """Training losses smoothed by a running mean, median and range over seeds.

    Args:
        ax: matplotlib Axes.
        losses: ``{label: (seeds, steps) losses}``.
        window: running-mean window, in steps.
        colors: a colour per label (default the cycle).
        chance: ``(loss, label)`` of a dotted line, e.g. ``(np.log(10), "log 10 (chance)")``.

    Returns:
        ``ax``.
    """
    colors = colors or [None] * len(losses)
    for (name, loss), color in zip(losses.items(), colors, strict=True):
        smooth = np.apply_along_axis(
            lambda r: np.convolve(r, np.ones(window) / window, "valid"),
            1,
            np.asarray(loss),
        )
        steps = np.arange(smooth.shape[1]) + window
        seed_band(ax, steps, smooth, label=name, color=color)
    if chance is not None:
        ax.axhline(chance[0], color="gray", ls=":", label=chance[1])
    ax.set(xlabel="step", ylabel=f"training loss ({window}-step mean)")
    ax.legend()
    return ax


def singular_value_spectra(
    ax: Any,
    spectra: Any,
    *,
    floor_decades: float = 16.0,
    ylabel: str = "$\\log_{10}$ singular value of the product",
) -> Any:
    """:math:`\\log_{10}` singular values of a Gaussian and an orthogonal product.

    Args:
        ax: matplotlib Axes.
        spectra: fields ``gaussian``, ``orthogonal``, ``theory`` (``(n,)`` each, largest
            first), as from ``gc.experiments.initialization.product_spectra``.
        floor_decades: decades below the largest singular value where a float64 SVD
            stops resolving (float64's relative precision, about :math:`10^{-16}`): shaded.
        ylabel: the y-axis label.

    Returns:
        ``ax``.
    """
    gauss = np.asarray(spectra.gaussian)
    index = np.arange(1, gauss.size + 1)
    ax.plot(index, gauss, "o-", ms=3, label="Gaussian, Var = 1/n")
    ax.plot(index, spectra.theory, "k--", lw=1, label="Gaussian, theory (mean)")
    ax.plot(index, spectra.orthogonal, "s-", ms=3, label="orthogonal")
    below = (gauss[0] - 45, gauss[0] - floor_decades)
    ax.axhspan(*below, color="0.9", lw=0, label="below a float64 SVD")
    ax.set(xlabel="index", ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax
