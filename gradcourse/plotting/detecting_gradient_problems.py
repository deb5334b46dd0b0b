"""Figures of the chapter on detecting gradient problems, drawn from what
:mod:`gradcourse.experiments.detecting_gradient_problems` computes: the monitor's
heat maps of per-layer gradient norms over training, update-to-weight ratios,
activation histograms per initialisation, back-propagated variances, and a gallery of
four failures (stuck, NaN, dead, saturated).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import layer_heatmap, seed_band

__all__ = [
    "gradient_heatmaps",
    "update_ratios",
    "activation_histograms",
    "backprop_variances",
    "failure_panels",
]


def gradient_heatmaps(axes: Any, histories: Any, *, vmin: float, vmax: float) -> Any:
    r"""One :func:`~gradcourse.plotting.core.layer_heatmap` per run, sharing one colour bar.

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
            a :class:`gradcourse.runs.Run`.

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
