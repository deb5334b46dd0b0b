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


# --- activation_zoo ---


def zoo_depth_panels(
    axes: Any, entries: Any, log_measured: ArrayLike, log_predicted: ArrayLike
) -> Any:
    r"""One panel per activation: measured per-layer gradient norms against theory.

    Args:
        axes: an array of matplotlib Axes with at least ``len(entries)`` panels (unused
            panels are hidden); they share one figure, whose axes are labelled.
        entries: :class:`gradcourse.activations.Activation` records.
        log_measured: ``(len(entries), seeds, depth)`` :math:`\log_{10}` of each layer's
            gradient norm relative to the last layer, drawn as a seed band.
        log_predicted: ``(len(entries), depth)`` the prediction, drawn dashed.

    Returns:
        ``axes``.
    """
    entries = list(entries)
    flat = np.asarray(axes).ravel()
    log_measured, log_predicted = np.asarray(log_measured), np.asarray(log_predicted)
    if flat.size < len(entries):
        raise ValueError(f"axes must have >= {len(entries)} panels, got {flat.size}")
    layers = np.arange(1, log_measured.shape[-1] + 1)
    for ax, a_measured, a_predicted, e in zip(
        flat, log_measured, log_predicted, entries, strict=False
    ):
        seed_band(ax, layers, a_measured)
        ax.plot(layers, a_predicted, "k--", linewidth=1)
        ax.set_title(e.label, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in flat[len(entries) :]:
        ax.set_visible(False)
    fig = flat[0].figure
    fig.supxlabel("layer $l$ (input at the left)", fontsize=9)
    depth = layers[-1]
    fig.supylabel(
        r"$\log_{10}\,\|\partial L/\partial H_l\| \,/\, \|\partial L/\partial H_{"
        + str(depth)
        + r"}\|$",
        fontsize=9,
    )
    return axes


def zoo_training(
    ax_grad: Any, ax_acc: Any, labels: Any, first_layer: ArrayLike, accuracy: ArrayLike
) -> tuple[Any, Any]:
    """First-layer gradient norm during training (left) and test accuracy (right).

    Args:
        ax_grad, ax_acc: matplotlib Axes.
        labels: one legend label per activation.
        first_layer: ``(activations, seeds, steps)`` first-layer weight-gradient norms.
        accuracy: ``(activations, seeds)`` test accuracies; a dot per seed, a bar at the
            median.

    Returns:
        ``(ax_grad, ax_acc)``.
    """
    labels = list(labels)
    first_layer, accuracy = np.asarray(first_layer), np.asarray(accuracy)
    colors = _colors(len(labels))
    steps, seeds = first_layer.shape[-1], accuracy.shape[1]
    for a, label in enumerate(labels):
        seed_band(
            ax_grad,
            np.arange(steps),
            first_layer[a],
            label=label,
            color=colors[a],
            linewidth=0.8,
        )
        ax_acc.plot(np.full(seeds, a), accuracy[a], "o", color=colors[a], markersize=4)
        ax_acc.plot([a - 0.3, a + 0.3], [np.median(accuracy[a])] * 2, "k", linewidth=1)
    ax_grad.set_yscale("log")
    ax_grad.set_xlabel("SGD step")
    ax_grad.set_ylabel(r"$\|\partial L / \partial W_1\|$ (first layer)")
    ax_grad.legend(fontsize=7, ncol=2)
    ax_acc.set_xticks(range(len(labels)), labels, rotation=70, fontsize=7)
    ax_acc.set_ylabel("test accuracy")
    return ax_grad, ax_acc


def _colors(n: int) -> Any:
    import matplotlib.pyplot as plt

    return plt.get_cmap("tab10")(np.arange(n))


# --- elu_and_successors ---


def mean_shift(ax: Any, runs: Any) -> Any:
    """Mean activation per layer, measured (seed band, dots) and predicted (dotted).

    Args:
        ax: matplotlib Axes.
        runs: ``{name: run}`` with ``run.measured.mean`` ``(seeds, depth)``,
            ``run.theory.mean`` ``(depth,)`` and ``run.gain``
            (:func:`gradcourse.experiments.elu_and_successors.mean_shift`).

    Returns:
        ``ax``.
    """
    for name, run in runs.items():
        layers = np.arange(1, np.asarray(run.theory.mean).shape[0] + 1)
        seed_band(
            ax,
            layers,
            run.measured.mean,
            marker="o",
            markersize=3,
            label=f"{name}, gain {run.gain:.3g}",
        )
        ax.plot(layers, np.asarray(run.theory.mean), "k:")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="layer $l$", ylabel="mean activation")
    ax.legend()
    return ax


def moment_runs(ax_mean: Any, ax_var: Any, starts: Any, runs: Any) -> tuple[Any, Any]:
    """Mean (left) and variance (right) per layer for inputs of several moments.

    Args:
        ax_mean, ax_var: matplotlib Axes.
        starts: the inputs' ``(mean, variance)``, one per run.
        runs: runs with ``measured`` (fields ``(seeds, depth)``) and ``theory``
            (fields ``(depth,)``), e.g. from
            :func:`gradcourse.experiments.elu_and_successors.selu_runs`.

    Returns:
        ``(ax_mean, ax_var)``.
    """
    for (m0, v0), run in zip(starts, runs, strict=True):
        layers = np.arange(1, np.asarray(run.theory.mean).shape[0] + 1)
        label = f"input mean {m0:g}, var {v0:g}"
        seed_band(ax_mean, layers, run.measured.mean, label=label)
        seed_band(ax_var, layers, run.measured.var, label=label)
        ax_mean.plot(layers, np.asarray(run.theory.mean), "k:", lw=0.8)
        ax_var.plot(layers, np.asarray(run.theory.var), "k:", lw=0.8)
    ax_mean.set(xlabel="layer $l$", ylabel="mean of activations")
    ax_var.set(xlabel="layer $l$", ylabel="variance of activations", yscale="log")
    ax_var.legend(loc="upper right")
    return ax_mean, ax_var


def activation_curves(
    ax_fn: Any, ax_grad: Any, entries: Any, x: ArrayLike
) -> tuple[Any, Any]:
    r"""Several activations (left) and their derivatives (right) on one pair of axes.

    Args:
        ax_fn, ax_grad: matplotlib Axes.
        entries: :class:`gradcourse.activations.Activation` records.
        x: points ``(n,)``.

    Returns:
        ``(ax_fn, ax_grad)``.
    """
    for entry in entries:
        ax_fn.plot(x, entry.fn(x), label=entry.label)
        ax_grad.plot(x, entry.grad(x), label=entry.label)
    ax_fn.set(xlabel="$x$", ylabel=r"$\phi(x)$")
    ax_grad.set(xlabel="$x$", ylabel=r"$\phi'(x)$")
    return ax_fn, ax_grad


# --- leaky_relu_family ---


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


def kill_and_recover(
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


# --- detecting_gradient_problems ---


def gradient_heatmaps(axes: Any, histories: Any, *, vmin: float, vmax: float) -> Any:
    r"""One :func:`layer_heatmap` per run, sharing one colour bar.

    Args:
        axes: matplotlib Axes, one per history (they share the y axis: labelled once).
        histories: ``{title: history}`` with ``history.grad_norms`` ``(steps, layers)``.
        vmin, vmax: the colour range, in :math:`\log_{10}`.

    Returns:
        ``axes``.
    """
    axes = list(np.asarray(axes).ravel())
    for ax, (title, hist) in zip(axes, histories.items(), strict=True):
        layer_heatmap(ax, hist.grad_norms, vmin=vmin, vmax=vmax)
        ax.set_title(title)
    for ax in axes[1:]:
        ax.set_ylabel("")  # shared axis: label it once
    axes[0].figure.colorbar(
        axes[0].images[0],
        ax=axes,
        label=r"$\log_{10}\|\partial \mathcal{L}/\partial W_l\|_F$",
    )
    return axes


def update_ratios(ax: Any, histories: Any, layers: Any) -> Any:
    r"""Update-to-weight ratio :math:`\|U_l\|/\|W_l\|` per step, for chosen layers.

    Args:
        ax: matplotlib Axes.
        histories: ``{name: history}`` with ``history.records.update_ratio``
            ``(steps, layers)``.
        layers: 1-based layer numbers to draw (solid for the first, dashed after).

    Returns:
        ``ax``.
    """
    for name, hist in histories.items():
        ratio = np.asarray(hist.records.update_ratio)
        steps = np.arange(ratio.shape[0])
        color = None
        for j, layer in enumerate(layers):
            (line,) = ax.plot(
                steps,
                ratio[:, layer - 1],
                color=color,
                ls="-" if j == 0 else "--",
                label=f"{name}, layer {layer}",
            )
            color = line.get_color()
    ax.axhline(1e-3, color="k", lw=1, ls=":", label="$10^{-3}$ reference")
    ax.set(yscale="log", xlabel="training step", ylabel=r"$\|U_l\|_F / \|W_l\|_F$")
    ax.yaxis.set_minor_locator(_null_locator())  # many decades: minor ticks are clutter
    ax.legend(ncol=2, fontsize=8)
    return ax


def _null_locator() -> Any:
    import matplotlib.ticker

    return matplotlib.ticker.NullLocator()


def activation_histograms(axes: Any, posts: Any) -> Any:
    """Histogram of each layer's tanh activations, one panel per initialisation.

    Args:
        axes: matplotlib Axes, one per entry of ``posts``.
        posts: ``{name: post}`` with ``post`` ``(batch, depth, width)``.

    Returns:
        ``axes``.
    """
    import matplotlib.pyplot as plt

    bins = np.linspace(-1, 1, 61)
    for ax, (name, post) in zip(axes, posts.items(), strict=True):
        post = np.asarray(post)
        colors = plt.cm.viridis(np.linspace(0, 0.9, post.shape[1]))
        for layer in range(post.shape[1]):
            ax.hist(
                post[:, layer].ravel(),
                bins=bins,
                density=True,
                histtype="step",
                color=colors[layer],
                label=f"layer {layer + 1}",
            )
        ax.set(title=f"{name} initialisation", xlabel="activation $h$", yscale="log")
        ax.set_xticks([-1, -0.5, 0, 0.5, 1])
    axes[0].set_ylabel("density")
    axes[-1].legend(fontsize=7, ncol=2)
    return axes


def backprop_variances(
    ax_var: Any, ax_weight: Any, variances: Any, weight_norms: Any
) -> tuple[Any, Any]:
    r"""Back-propagated variance per layer (left) and weight-gradient norms (right).

    Args:
        ax_var, ax_weight: matplotlib Axes.
        variances: ``{name: (seeds, depth)}`` variances of
            :math:`\partial L/\partial h_l`; a dotted :math:`3^{-(L-l)}` line is drawn
            from the first entry's top layer (Glorot & Bengio's standard init).
        weight_norms: ``{name: (seeds, depth)}`` hidden weight-gradient norms, drawn
            squared relative to the top hidden layer.

    Returns:
        ``(ax_var, ax_weight)``.
    """
    depth = np.asarray(next(iter(variances.values()))).shape[-1]
    layers = np.arange(1, depth + 1)
    for name in variances:
        seed_band(ax_var, layers, variances[name], label=name, marker="o")
        w2 = np.asarray(weight_norms[name]) ** 2
        seed_band(ax_weight, layers, w2 / w2[:, -1:], label=name, marker="o")
    top = np.median(np.asarray(next(iter(variances.values())))[:, -1])
    ax_var.plot(
        layers,
        top * 3.0 ** (layers - float(depth)),
        "k:",
        label=rf"theory $3^{{-({depth}-l)}}$",
    )
    ax_var.set(
        yscale="log",
        xlabel="layer $l$",
        ylabel=r"Var$[\partial \mathcal{L}/\partial h_l]$",
    )
    ax_weight.set(
        yscale="log",
        xlabel="layer $l$",
        ylabel=rf"$\|G_l\|^2 / \|G_{depth}\|^2$",
    )
    ax_var.legend()
    return ax_var, ax_weight


def failure_panels(axes: Any, stuck: Any, gallery: Any) -> Any:
    """Four failures: stuck at ln 10, NaN after step k, dead units, a saturated top layer.

    Args:
        axes: a ``(2, 2)`` array of matplotlib Axes.
        stuck: the history of a run stuck at :math:`\\ln 10` (``.loss``).
        gallery: ``{"nan_after_k": run, "most_dead": run, "top_saturated": run}``, each
            a :class:`gradcourse.failure_modes.Run`.

    Returns:
        ``axes``.
    """
    ax = axes[0, 0]
    ax.plot(np.asarray(stuck.loss), label="loss")
    ax.axhline(np.log(10), color="k", ls=":", label=r"$\ln 10$")
    ax.set(title="stuck at ln 10 (sigmoid, 20 layers)", xlabel="step", ylabel="loss")
    ax.legend()
    nan_run = gallery["nan_after_k"]
    ax = axes[0, 1]
    ax.plot(np.asarray(nan_run.history.loss))
    step = nan_run.diagnosis.origin.step
    ax.axvline(step, color="r", ls="--", label="first non-finite")
    ax.set(title="NaN after step k", xlabel="step", ylabel="loss", yscale="log")
    ax.set_xlim(0, 2 * step + 4)  # the rest of the run is NaN
    ax.yaxis.set_minor_locator(_null_locator())
    ax.legend()
    ax = axes[1, 0]
    dead_lines = ax.plot(np.asarray(gallery["most_dead"].history.records.dead))
    ax.set(
        title="most units dead (ReLU, Adam at 0.05)",
        xlabel="step",
        ylabel="dead fraction",
    )
    labels = [f"layer {i + 1}" for i in range(len(dead_lines))]
    ax.legend(dead_lines, labels, fontsize=8, ncol=2)
    ax = axes[1, 1]
    mean = np.asarray(gallery["top_saturated"].history.records.activation_mean)
    for layer in range(mean.shape[1]):
        ax.plot(mean[:, layer], label=f"layer {layer + 1}")
    ax.set(
        title="top layer saturated (sigmoid)", xlabel="step", ylabel="mean activation"
    )
    ax.legend(fontsize=8)
    return axes


# --- sigmoid ---


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


# --- tanh ---


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


# --- jacobian_products ---


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


# --- batch_normalization ---
def grad_profiles(
    ax: Any,
    profiles: Any,
    styles: Any,
    *,
    floor: float | None = None,
    ylabel: str = r"$\|\partial \mathcal{L}/\partial W_l\|$",
) -> Any:
    """Several per-layer gradient-norm profiles on one log axis, median and range over seeds.

    Args:
        ax: matplotlib Axes.
        profiles: ``{name: (seeds, layers)}`` norms.
        styles: ``{name: (label, colour)}``: which profiles to draw, in this order.
        floor: draw values below it (exact zeros from float32 underflow, say) at it.
        ylabel: y-axis label.

    Returns:
        ``ax``.
    """
    for name, (label, color) in styles.items():
        values = np.asarray(profiles[name])
        if floor is not None:
            values = np.maximum(values, floor)
        layer_norms(ax, values, label=label, color=color, ylabel=ylabel)
    return ax


def smoothed_losses(ax: Any, losses: Any, styles: Any, *, window: int = 10) -> Any:
    """Training losses as a running mean over ``window`` steps, median and range over seeds.

    Args:
        ax: matplotlib Axes.
        losses: ``{name: (seeds, steps)}`` losses.
        styles: ``{name: (label, colour)}``: which curves to draw, in this order.
        window: steps per mean, >= 1.

    Returns:
        ``ax``.

    Raises:
        ValueError: for a ``window`` < 1.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    box = np.ones(window) / window
    for name, (label, color) in styles.items():
        values = np.atleast_2d(np.asarray(losses[name]))
        smooth = np.apply_along_axis(lambda r: np.convolve(r, box, "valid"), 1, values)
        steps = np.arange(smooth.shape[1]) + window
        seed_band(ax, steps, smooth, label=label, color=color)
    ax.set(xlabel="step", ylabel=f"training loss ({window}-step mean)")
    return ax


# --- residual_connections ---
def shattering(
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


# --- gradient_clipping ---
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
