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


# --- why_deep_networks_stop_learning ---


def norm_profiles(ax: Any, profiles: dict[str, ArrayLike], *, title: str) -> Any:
    """Several per-layer gradient-norm profiles (:func:`layer_norms`) on one log axis.

    Args:
        ax: matplotlib Axes.
        profiles: ``{legend label: (seeds, layers) norms}``.
        title: the axes title.

    Returns:
        ``ax``.
    """
    for label, norms in profiles.items():
        layer_norms(ax, norms, label=label)
    ax.set_title(title)
    ax.legend()
    return ax


def update_profiles(
    ax: Any, gradient: ArrayLike, updates: dict[str, ArrayLike], *, title: str
) -> Any:
    """Per-layer norms of a gradient and of updates, each divided by its last layer's.

    Args:
        ax: matplotlib Axes.
        gradient: ``(layers,)`` gradient norms (drawn as a thick grey line).
        updates: ``{optimiser name: (layers,) update norms}``.
        title: the axes title.

    Returns:
        ``ax``.
    """
    gradient = np.asarray(gradient)
    layers = np.arange(1, gradient.size + 1)
    ax.plot(layers, gradient / gradient[-1], "k-", lw=5, alpha=0.25, label="gradient")
    for name, prof in updates.items():
        prof = np.asarray(prof)
        ax.plot(layers, prof / prof[-1], marker="o", ms=3, label=f"{name} update")
    ax.set(yscale="log", xlabel="layer $l$", title=title)
    ax.set_ylabel("norm relative to the last layer")
    ax.legend()
    return ax


def layer_profile(
    ax: Any, values: ArrayLike, *, label: str, ylabel: str, title: str, **kwargs: Any
) -> Any:
    """One per-layer quantity over seeds (:func:`seed_band`) against layer 1..L, log scale.

    Args:
        ax: matplotlib Axes.
        values: ``(seeds, layers)``.
        label: legend label.
        ylabel: y-axis label.
        title: the axes title.
        **kwargs: passed to :func:`seed_band` (e.g. ``marker="o"``).

    Returns:
        ``ax``.
    """
    values = np.atleast_2d(np.asarray(values))
    seed_band(ax, np.arange(1, values.shape[1] + 1), values, label=label, **kwargs)
    ax.set(yscale="log", xlabel="layer $l$", ylabel=ylabel, title=title)
    ax.legend()
    return ax


# --- initialization ---


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
            layer_norms(bottom, prof.g2, color=f"C{i}", ylabel="")
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


# --- optimizers ---


def step_decay(
    ax: Any, t: ArrayLike, steps_g1: ArrayLike, steps_small: ArrayLike, g: float
) -> Any:
    """Adagrad's step under a constant gradient: :math:`|u_t|` for :math:`|g| = 1` and
    :math:`|u_t|/|g|` for a small :math:`|g|`, with the gradient itself as a flat line.

    Args:
        ax: matplotlib Axes.
        t: ``(steps,)`` step numbers.
        steps_g1: ``(steps,)`` step sizes for :math:`|g| = 1`.
        steps_small: ``(steps,)`` step sizes for :math:`|g|` = ``g``.
        g: the small gradient.

    Returns:
        ``ax``.
    """
    t = np.asarray(t)
    ax.plot(t, np.ones_like(t, dtype=float), color="k", label="gradient $|g_t| = 1$")
    ax.plot(t, steps_g1, label="Adagrad step $|u_t|$, $|g| = 1$")
    ax.plot(
        t,
        np.asarray(steps_small) / g,
        ls="--",
        label=f"Adagrad step $/|g|$, $|g| = {g:g}$",
    )
    ax.set(
        xscale="log", yscale="log", xlabel="step $t$", title="decaying learning rate"
    )
    ax.legend(fontsize=8)
    return ax


def update_norm_panels(
    axes: Any,
    gradient: ArrayLike,
    first_updates: dict[str, ArrayLike],
    all_updates: dict[str, ArrayLike],
) -> Any:
    """Per-layer norms of updates: at the first step with the gradient (left), and over all
    steps as median and range (right). Read-out excluded by the caller.

    Args:
        axes: two Axes.
        gradient: ``(layers,)`` gradient norms at step 1.
        first_updates: ``{optimiser: (layers,) update norms at step 1}``.
        all_updates: ``{optimiser: (steps, layers) update norms}``.

    Returns:
        ``axes``.
    """
    ax0, ax1 = axes
    gradient = np.asarray(gradient)
    layers = np.arange(1, gradient.size + 1)
    ax0.plot(layers, gradient, "k-o", ms=3, label="gradient (both, step 1)")
    for name, u in first_updates.items():
        ax0.plot(layers, u, "-o", ms=3, label=f"{name} update")
    ax0.set(yscale="log", xlabel="layer $l$", ylabel="Frobenius norm", title="step 1")
    ax0.legend(fontsize=8)
    for name, u in all_updates.items():
        seed_band(ax1, layers, u, label=f"{name} update")
    steps = np.shape(next(iter(all_updates.values())))[0]
    ax1.set(
        yscale="log", xlabel="layer $l$", title=f"all {steps} steps (median, range)"
    )
    ax1.legend(fontsize=8)
    return axes
