r"""Experiments of the chapter on the hyperbolic tangent.

With zero biases the mean-field critical point of a tanh network is exactly
:math:`\sigma_w = 1` (:math:`\chi = \sigma_w^2\,\mathbb E[\tanh'(z)^2] = 1` at the fixed
point :math:`q^* = 0`). At finite depth the pre-activation variance :math:`q_l` has not yet
reached zero, :math:`\tanh'(z)^2 < 1`, and the gradient loses a little per layer; the
loss per layer fades as the depth grows (:math:`q_l \approx 1/(2l)`). Above the critical
point :math:`q^* > 0` and the gradient grows by :math:`\sqrt{\chi} > 1` per layer, a slow
explosion. :func:`factor_by_depth` measures both.

References:
    Poole et al., `Exponential expressivity in deep neural networks through transient
    chaos <https://arxiv.org/abs/1606.05340>`_, 2016; Schoenholz et al., `Deep
    Information Propagation <https://arxiv.org/abs/1611.01232>`_, 2017.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, probes

__all__ = ["factor_by_depth"]


def factor_by_depth(
    keys: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    sigma_w: float,
    depths: Sequence[int],
    width: int = 64,
) -> np.ndarray:
    r"""Per-layer gradient factor of tanh networks of several depths, one row per seed.

    For each depth :math:`L` and key, a tanh network of depth :math:`L` with Gaussian
    weights of variance :math:`\sigma_w^2/n_{\text{in}}` and zero biases is probed on the
    batch (``gc.probes.probe_seeds``) and the geometric-mean factor per layer

    .. math::

        \Bigl(\lVert \partial\mathcal L/\partial h_1 \rVert /
        \lVert \partial\mathcal L/\partial h_L \rVert\Bigr)^{1/(L-1)}

    is returned.

    Args:
        keys: ``(seeds,)`` PRNG keys (the same keys at every depth).
        xs, ys: the batch, as in :func:`gradcourse.probes.grad_norms`.
        sigma_w: weight gain :math:`\sigma_w > 0`.
        depths: depths, each >= 2.
        width: units per layer, >= 1.

    Returns:
        ``(seeds, len(depths))`` factors per layer.

    Raises:
        ValueError: for a bad ``sigma_w``, ``width`` or depth.
    """
    _checks.positive("sigma_w", sigma_w)
    _checks.positive_int("width", width)
    for depth in depths:
        _checks.positive_int("depth", depth)
        if depth < 2:
            raise ValueError(f"every depth must be >= 2, got {depth}")
    w_init = jax.nn.initializers.variance_scaling(
        sigma_w**2, "fan_in", "normal", in_axis=-1, out_axis=-2
    )
    columns = []
    for depth in depths:
        norms = probes.probe_seeds(
            keys, xs, ys, width=width, depth=depth, activation="tanh", w_init=w_init
        )
        ratio = np.asarray(probes.layer_ratio(norms.hidden), dtype=np.float64)
        columns.append(ratio ** (1.0 / (depth - 1)))
    return np.stack(columns, axis=1)
