r"""Figures of the chapter on gated recurrent networks, drawn from what
:mod:`gradcourse.experiments.gated_recurrent_networks` computes: the LSTM's carousel
path through time for several forget-gate biases, and maps of
:math:`\log_{10}\sigma_{\max}` of :math:`\partial h_T/\partial h_t` over the time
steps, at initialisation and after training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .core import seed_band

__all__ = ["carousel_paths", "time_grid_panels"]


def carousel_paths(ax: Any, paths: dict[Any, ArrayLike]) -> Any:
    r"""log10 of the carousel path :math:`\partial c_T/\partial c_t` against the steps
    back :math:`T - t`, median and range over units, one line per forget-gate bias (the
    key ``"1997"``: the LSTM without a forget gate); ``paths`` as
    :func:`gradcourse.experiments.gated_recurrent_networks.forget_bias_paths` gives them.

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
    r"""One column per map of
    :func:`gradcourse.experiments.gated_recurrent_networks.time_grid_maps`: at
    initialisation (top) and after training (bottom; "not trained here" for None),
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
