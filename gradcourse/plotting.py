"""Plotting helpers. Each takes a matplotlib ``Axes`` and returns it; none calls ``show``.

Compute lives in the other modules; these functions only draw what they are given, in one
house style (log scale for gradient norms, the median over seeds as a line and the full
range over seeds as a band).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["setup", "seed_band", "layer_norms", "layer_heatmap"]


def setup() -> None:
    """Set the house style: white figure background (readable in dark mode), tidy axes.

    Call once in a chapter's first cell, after importing matplotlib.
    """
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "legend.frameon": False,
        }
    )


def seed_band(
    ax: Any,
    x: ArrayLike,
    values: ArrayLike,
    *,
    label: str | None = None,
    color: str | None = None,
    **line_kwargs: Any,
) -> Any:
    """Draw the median over seeds as a line and the min-max range as a shaded band.

    Args:
        ax: matplotlib Axes.
        x: positions, shape ``(n,)``.
        values: ``(seeds, n)`` measurements (one row per seed), or ``(n,)``.
        label: legend label for the line.
        color: line and band colour.
        **line_kwargs: passed to ``ax.plot``.

    Returns:
        ``ax``.

    Raises:
        ValueError: if ``values`` does not end in an axis of length ``len(x)``.
    """
    x = np.asarray(x)
    values = np.atleast_2d(np.asarray(values))
    if values.ndim != 2 or values.shape[1] != x.shape[0]:
        raise ValueError(
            f"values must have shape (seeds, {x.shape[0]}) to match x, got {values.shape}"
        )
    (line,) = ax.plot(
        x, np.median(values, axis=0), label=label, color=color, **line_kwargs
    )
    if values.shape[0] > 1:
        ax.fill_between(
            x,
            values.min(axis=0),
            values.max(axis=0),
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
    return ax


def layer_norms(
    ax: Any,
    norms: ArrayLike,
    *,
    label: str | None = None,
    color: str | None = None,
    ylabel: str = r"$\|\partial L / \partial h_l\|$",
    **line_kwargs: Any,
) -> Any:
    """Per-layer gradient norms against layer index 1..L on a log scale.

    Args:
        ax: matplotlib Axes.
        norms: ``(seeds, layers)`` or ``(layers,)``, e.g. ``GradNorms.hidden``.
        label: legend label.
        color: colour.
        ylabel: y-axis label.
        **line_kwargs: passed to ``ax.plot``.

    Returns:
        ``ax``.
    """
    norms = np.atleast_2d(np.asarray(norms))
    layers = np.arange(1, norms.shape[1] + 1)
    seed_band(
        ax,
        layers,
        norms,
        label=label,
        color=color,
        marker="o",
        markersize=3,
        **line_kwargs,
    )
    ax.set_yscale("log")
    ax.set_xlabel("layer $l$ (input side on the left)")
    ax.set_ylabel(ylabel)
    return ax


def layer_heatmap(
    ax: Any,
    values: ArrayLike,
    *,
    log: bool = True,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str | None = None,
) -> Any:
    """Heat map of a per-layer quantity over training: steps across, layers up.

    Args:
        ax: matplotlib Axes.
        values: ``(steps, layers)``, e.g. ``History.grad_norms``; layer 1 (input side)
            is drawn at the bottom.
        log: colour by ``log10(values)`` (non-positive values are left blank).
        cmap: colour map name.
        vmin, vmax: colour limits (in log10 units when ``log``).
        colorbar_label: if given, add a colour bar with this label.

    Returns:
        ``ax``.

    Raises:
        ValueError: if ``values`` is not 2-D.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values must be (steps, layers), got shape {values.shape}")
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(values), np.nan)
    steps, layers = values.shape
    image = ax.imshow(values.T, origin="lower", aspect="auto", cmap=cmap,
                      interpolation="nearest", vmin=vmin, vmax=vmax,
                      extent=(-0.5, steps - 0.5, 0.5, layers + 0.5))  # fmt: skip
    ax.grid(False)
    ax.set_xlabel("training step")
    ax.set_ylabel("layer (input at the bottom)")
    if colorbar_label is not None:
        ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    return ax


def activation_timeline(ax: Any, entries: Any) -> Any:
    """Activation functions against the year of their paper, one row each, oldest lowest.

    Saturating functions are drawn in grey, the others in colour.

    Args:
        ax: matplotlib Axes.
        entries: :class:`gradcourse.activations.Activation` records (e.g.
            ``REGISTRY.values()``), oldest first.

    Returns:
        ``ax``.
    """
    entries = list(entries)
    years = [e.year for e in entries]
    ax.step(years, range(len(entries)), where="post", color="0.85", linewidth=1)
    for row, entry in enumerate(entries):
        color = "0.55" if entry.saturating else "C0"
        ax.plot([entry.year], [row], "o", color=color)
        ax.annotate(
            f"{entry.label}, {entry.authors}",
            (entry.year, row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    # room on the right for the labels, but the axis itself ends at the newest paper
    ax.set_xlim(min(years) - 2, max(years) + 14)
    ticks = [y for y in range(1980, max(years) + 1, 5) if y >= min(years) - 2]
    ax.set_xticks(ticks)
    ax.spines["bottom"].set_bounds(min(years) - 2, max(years))
    ax.set_ylim(-0.8, len(entries) - 0.2)
    ax.set_yticks([])
    ax.grid(False, axis="y")
    ax.set_xlabel("year of the paper")
    return ax


def activation_gallery(
    axes: Any, entries: Any, x: ArrayLike, values: ArrayLike, slopes: ArrayLike
) -> Any:
    """One panel per activation: the function (solid), its derivative (dashed), kinks.

    Args:
        axes: an array of matplotlib Axes with at least ``len(entries)`` panels; unused
            panels are hidden.
        entries: :class:`gradcourse.activations.Activation` records.
        x: points, ``(n,)``.
        values, slopes: ``(len(entries), n)`` function values and derivatives at ``x``
            (:func:`gradcourse.activations.tabulate`).

    Returns:
        ``axes``.

    Raises:
        ValueError: if there are fewer panels than entries or the shapes disagree.
    """
    entries = list(entries)
    flat = np.asarray(axes).ravel()
    x, values, slopes = np.asarray(x), np.asarray(values), np.asarray(slopes)
    if flat.size < len(entries):
        raise ValueError(f"axes must have >= {len(entries)} panels, got {flat.size}")
    if values.shape != (len(entries), x.size) or slopes.shape != values.shape:
        raise ValueError(
            f"values and slopes must have shape ({len(entries)}, {x.size}), "
            f"got {values.shape} and {slopes.shape}"
        )
    for ax, entry, v, d in zip(flat, entries, values, slopes, strict=False):
        ax.plot(x, v, color="C0", label=r"$\phi$")
        ax.plot(x, d, "--", color="C3", label=r"$\phi'$")
        for k in entry.kinks:
            if x.min() <= k <= x.max():
                ax.axvline(k, color="0.6", linewidth=0.6, linestyle=":")
        ax.set_title(f"{entry.label} ({entry.year})\n${entry.formula}$", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in flat[len(entries) :]:
        ax.set_visible(False)
    return axes


# --- recurrent_networks ---


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


# --- gated_recurrent_networks ---


def carousel_paths(ax: Any, paths: dict[Any, ArrayLike]) -> Any:
    r"""log10 of the carousel path :math:`\partial c_T/\partial c_t` against the steps
    back :math:`T - t`, median and range over units, one line per forget-gate bias (the
    key ``"1997"``: the LSTM without a forget gate); ``paths`` as
    :func:`gradcourse.experiments.recurrent.forget_bias_paths` gives them.

    Returns:
        ``ax``.
    """
    for name, path in paths.items():
        path = np.asarray(path)
        back = np.arange(path.shape[0] - 1, -1, -1)  # row t is T - t steps back
        label = "1997, no forget gate" if name == "1997" else f"$b_f$ = {name:g}"
        seed_band(ax, back, path.T, label=label)
    ax.set(
        xlabel="steps back in time $T - t$",
        ylim=(-60, 3),
        ylabel=r"$\log_{10}\,\partial c_T/\partial c_t$ (carousel)",
    )
    ax.legend(loc="lower left", ncol=2)
    return ax


def time_grid_panels(axes: Any, maps: dict[str, Any]) -> Any:
    r"""One column per map of :func:`gradcourse.experiments.recurrent.time_grid_maps`:
    at initialisation (top) and after training (bottom; "not trained here" for None),
    log10 :math:`\sigma_{\max}` from -6 to 2, with one colour bar.

    Returns:
        ``axes``.
    """
    for col, (label, pair) in enumerate(maps.items()):
        for row, g in enumerate(pair):
            ax = axes[row, col]
            if g is None:
                ax.axis("off")
                ax.text(
                    0.5, 0.5, "not trained\nhere", ha="center", transform=ax.transAxes
                )
                continue
            im = ax.imshow(g, origin="lower", cmap="magma", vmin=-6, vmax=2)
            ax.set(title=label.replace(", ", "\n", 1) if row == 0 else None)
            ax.set(xlabel="t" if row else None)
    axes[0, 0].set_ylabel("T (initialisation)")
    axes[1, 0].set_ylabel("T (trained)")
    axes[0, 0].figure.colorbar(
        im, ax=axes, shrink=0.8, label=r"$\log_{10}\sigma_{\max}$"
    )
    return axes
