r"""Figures of the chapter on Jacobian products, drawn from what
:mod:`gradcourse.experiments.jacobian_products` computes: log-norms of random-matrix
chains, singular-value spectra by depth, the phase diagram of :math:`\chi`, measured
gradient ratios against :math:`\chi`, correlation maps and depth scales.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "chain_log_norms",
    "spectra_grid",
    "phase_diagram",
    "measured_against_theory",
    "correlation_panels",
    "depth_scales",
]


def chain_log_norms(
    axes: Any, logs: ArrayLike, logs_orth: ArrayLike, mu: float, s2: float
) -> Any:
    """Log-norms of random matrix chains against depth, and their spread at the end.

    Left: every Gaussian and orthogonal chain against depth, with the theory line
    :math:`L\\mu` and its :math:`\\pm 2\\sqrt{L}\\,s` band. Right: a histogram of the
    Gaussian chains' last log-norms against :math:`\\mathcal N(L\\mu, L s^2)`.

    Args:
        axes: two matplotlib Axes.
        logs, logs_orth: ``(chains, depth)`` log-norms
            (:func:`gradcourse.experiments.jacobian_products.random_chains`).
        mu, s2: drift and variance per layer
            (:func:`gradcourse.randmat.gaussian_log_growth`).

    Returns:
        ``axes``.
    """
    ax1, ax2 = axes
    logs, logs_orth = np.asarray(logs), np.asarray(logs_orth)
    depth = logs.shape[1]
    ls = np.arange(1, depth + 1)
    ax1.plot(ls, logs.T, color="C0", lw=0.5, alpha=0.4)
    ax1.plot([], [], color="C0", label="Gaussian chains")
    ax1.plot(ls, logs_orth.T, color="C1", lw=0.5, alpha=0.4)
    ax1.plot([], [], color="C1", label="orthogonal chains")
    ax1.plot(ls, ls * mu, "k", lw=2, label=r"theory $L\mu$")
    band = 2 * np.sqrt(ls * s2)
    ax1.fill_between(ls, ls * mu - band, ls * mu + band, color="k", alpha=0.15,
                     label=r"$\pm 2\sqrt{L}\,s$")  # fmt: skip
    ax1.set_xlabel("depth $L$")
    ax1.set_ylabel(r"$\log\|W_L\cdots W_1 u\|$")
    ax1.legend(fontsize=8)
    last = logs[:, -1]
    grid = np.linspace(last.min() - 1, last.max() + 1, 200)
    sd = np.sqrt(depth * s2)
    ax2.hist(last, bins=12, density=True, color="C0", alpha=0.6,
             label=f"{logs.shape[0]} chains")  # fmt: skip
    density = np.exp(-0.5 * ((grid - depth * mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    ax2.plot(grid, density, "k", label=r"$\mathcal{N}(L\mu, L s^2)$")
    ax2.set_xlabel(f"log-norm at depth {depth}")
    ax2.legend(fontsize=8)
    return axes


def spectra_grid(axes: Any, spectra: Any, names: Any, layers: Any) -> Any:
    """Sorted log10 singular values per setting (columns) and weights (rows), by depth.

    The median over seeds and inputs at each rank; values below 1e-80 are drawn at the
    bottom, and a grey band marks what a float32 SVD of the product could not see.

    Args:
        axes: ``(2, len(names))`` matplotlib Axes; rows Gaussian then orthogonal.
        spectra: ``{(name, weights): (seeds, inputs, len(layers), width)}``
            (:func:`gradcourse.experiments.jacobian_products.depth_spectra`).
        names: the settings, one per column.
        layers: the depths at which the spectra were read.

    Returns:
        ``axes``.
    """
    axes = np.asarray(axes)
    for col, name in enumerate(names):
        for row, weights in enumerate(("gaussian", "orthogonal")):
            ax, s_all = axes[row, col], np.asarray(spectra[name, weights])
            width = s_all.shape[-1]
            rank = (np.arange(width) + 0.5) / width
            for i, (layer, colour) in enumerate(
                zip(layers, "C0 C1 C3".split(), strict=True)
            ):
                s = np.median(s_all[:, :, i, :].reshape(-1, width), axis=0)
                ax.plot(rank, np.maximum(s, -80), color=colour, label=f"$l = {layer}$")
            ax.axhline(0.0, color="k", lw=0.6)
            ax.axhspan(-80, -7, color="0.9", lw=0)  # below the float32 SVD floor
            ax.set_ylim(-80, 5)
            ax.set_title(f"{name}, {weights}", fontsize=9)
    axes[0, 0].legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("rank / width")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\log_{10}$ singular value")
    return axes


def phase_diagram(
    ax: Any,
    sw2_grid: ArrayLike,
    sb2_grid: ArrayLike,
    chi: ArrayLike,
    boundary: ArrayLike,
) -> Any:
    """:math:`\\log\\chi` over :math:`(\\sigma_w^2, \\sigma_b^2)` with the boundary dashed.

    Args:
        ax: matplotlib Axes.
        sw2_grid: ``(m,)`` weight variances; sb2_grid: ``(k,)`` bias variances.
        chi: ``(k, m)`` mean-field :math:`\\chi`.
        boundary: ``(k,)`` critical :math:`\\sigma_w^2` for each bias variance.

    Returns:
        The colour mesh (for a colour bar).
    """
    mesh = ax.pcolormesh(sw2_grid, sb2_grid, np.log(np.asarray(chi)), cmap="RdBu_r",
                         vmin=-1.5, vmax=1.5, shading="auto")  # fmt: skip
    ax.plot(boundary, sb2_grid, "k--", lw=2, label=r"$\chi = 1$")
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    ax.text(0.4, 0.2, "ordered\n(vanishing)", fontsize=9)
    ax.text(3.0, 0.05, "chaotic\n(exploding)", fontsize=9)
    return mesh


def measured_against_theory(ax: Any, chi: ArrayLike, measured: ArrayLike) -> Any:
    """Measured squared gradient ratio per layer against :math:`\\chi`, one dot a seed.

    Args:
        ax: matplotlib Axes.
        chi: ``(points,)`` mean-field :math:`\\chi`.
        measured: ``(points, seeds)``
            (:func:`gradcourse.experiments.jacobian_products.measured_chi`).

    Returns:
        ``ax``.
    """
    measured = np.asarray(measured)
    ax.plot([0.3, 1.6], [0.3, 1.6], "k", lw=0.8, label="measured = theory")
    for j in range(measured.shape[1]):
        label = "seeds" if j == 0 else None
        ax.scatter(chi, measured[:, j], color="C0", s=15, label=label)
    ax.axvline(1.0, color="grey", lw=0.6)
    ax.axhline(1.0, color="grey", lw=0.6)
    ax.set_xlabel(r"mean-field $\chi$")
    ax.set_ylabel(r"measured $\overline{r_l^{\,2}}$ (geometric mean)")
    ax.legend(fontsize=8)
    return ax


def correlation_panels(
    axes: Any, cs: ArrayLike, maps: Any, measured: Any, theory: Any, sw2: Any
) -> Any:
    """The correlation map per phase, and measured correlations against the iterated map.

    Args:
        axes: two matplotlib Axes.
        cs: ``(k,)`` correlations at which the maps were evaluated.
        maps: ``{phase: (k,)}`` :math:`C(c)`.
        measured: ``{phase: (seeds, depth)}`` measured :math:`c_l`.
        theory: ``{phase: (depth - 1, seeds)}`` the map iterated from each first layer.
        sw2: ``{phase: sigma_w^2}``; phases ``"ordered"``, ``"critical"``, ``"chaotic"``.

    Returns:
        ``axes``.
    """
    ax1, ax2 = axes
    colours = {"ordered": "C0", "critical": "C2", "chaotic": "C3"}
    ax1.plot(cs, cs, "k", lw=0.8)
    for p, v in sw2.items():
        ax1.plot(cs, maps[p], color=colours[p], label=rf"{p}, $\sigma_w^2 = {v:.2f}$")
        ls = np.arange(1, np.shape(measured[p])[1] + 1)
        ax2.plot(ls, np.asarray(measured[p]).T, "o", ms=2, color=colours[p])
        ax2.plot(ls[1:], theory[p], color=colours[p], lw=0.8)
    ax1.set(xlabel="$c_l$", ylabel="$c_{l+1} = C(c_l)$")
    ax1.legend(fontsize=8)
    ax2.set(xlabel="layer $l$", ylabel="correlation $c_l$ of the two inputs")
    return axes


def depth_scales(
    ax: Any, sw2: ArrayLike, xi_c: ArrayLike, xi_q: ArrayLike, chi: ArrayLike
) -> Any:
    """Depth scales :math:`\\xi_c`, :math:`\\xi_q` and :math:`-1/\\log\\chi` against
    :math:`\\sigma_w^2` (the last in the ordered phase only), on a log scale.

    Args:
        ax: matplotlib Axes.
        sw2: ``(m,)`` weight variances.
        xi_c, xi_q, chi: ``(m,)`` (:func:`gradcourse.correlation.depth_scales`).

    Returns:
        ``ax``.
    """
    sw2, chi = np.asarray(sw2), np.asarray(chi)
    ax.semilogy(sw2, xi_c, "o-", ms=3, label=r"$\xi_c$ (correlation)")
    ax.semilogy(sw2, xi_q, "s-", ms=3, label=r"$\xi_q$ (length)")
    ordered = chi < 1
    ax.semilogy(sw2[ordered], -1 / np.log(chi[ordered]), "k:",
                label=r"$-1/\log\chi$ (gradient)")  # fmt: skip
    ax.legend(fontsize=8)
    return ax
