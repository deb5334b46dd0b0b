r"""Experiments of the chapter on the hyperbolic tangent.

With zero biases the mean-field critical point of a tanh network is exactly
:math:`\sigma_w = 1` (:math:`\chi = \sigma_w^2\,\mathbb E[\tanh'(z)^2] = 1` at the fixed
point :math:`q^* = 0`). At finite depth the pre-activation variance :math:`q_l` has not yet
reached zero, :math:`\tanh'(z)^2 < 1`, and the gradient loses a little per layer; the
loss per layer fades as the depth grows (:math:`q_l \approx 1/(2l)`). Above the critical
point :math:`q^* > 0` and the gradient grows by :math:`\sqrt{\chi} > 1` per layer, a slow
explosion. :func:`factor_by_depth` measures both, and :func:`weight_sweep` shows the two
effects of a larger weight scale at a fixed depth (larger weights amplify, saturated units
attenuate). :func:`mean_activation` shows why tanh's outputs, unlike the sigmoid's, are
centred.

References:
    Poole et al., `Exponential expressivity in deep neural networks through transient
    chaos <https://arxiv.org/abs/1606.05340>`_, 2016; Schoenholz et al., `Deep
    Information Propagation <https://arxiv.org/abs/1611.01232>`_, 2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, activations, health, probes
from gradcourse.experiments import sigmoid
from gradcourse.experiments.sigmoid import Networks


class WeightSweep(NamedTuple):
    r"""Result of :func:`weight_sweep`: each field ``(seeds, len(sigma_ws))``.

    Attributes:
        factor: measured gradient factor per layer.
        rms_slope: root-mean-square :math:`\tanh'(z)` over layers 2..L.
        saturated: fraction of units of layers 2..L with :math:`|h| > 0.99`
            (:func:`gradcourse.health.saturated_fraction`).
    """

    factor: np.ndarray
    rms_slope: np.ndarray
    saturated: np.ndarray


def mean_activation(keys: Array, xs: ArrayLike, nets: Networks) -> np.ndarray:
    r"""Mean activation :math:`\bar h_l` of each layer over the batch and the units.

    The networks are those of :func:`gradcourse.experiments.sigmoid.init_seeds` (LeCun
    at :math:`\sigma_w = 1` by default). A sigmoid layer averages about one half whatever
    its input; a tanh layer, an odd function fed inputs of both signs, stays near zero
    (LeCun et al., 1998).

    Args:
        keys: ``(seeds,)`` PRNG keys.
        xs: inputs ``(batch, in_dim)``.
        nets: the activation, gain and size
            (:class:`gradcourse.experiments.sigmoid.Networks`).

    Returns:
        ``(seeds, depth)`` means.

    Raises:
        ValueError: for a bad ``xs``.
    """
    n_in = int(np.shape(xs)[-1])
    # the hidden layers are drawn from their own keys: the read-out's size changes nothing
    params = sigmoid.init_seeds(keys, n_in, 10, nets)
    _, trace = sigmoid.forward_seeds(params, xs, nets.activation)
    return np.asarray(trace.post.mean(axis=(1, 3)))


def weight_sweep(
    keys: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    sigma_ws: Sequence[float],
    depth: int = 20,
    width: int = 64,
) -> WeightSweep:
    r"""Gradient factor, RMS slope and saturation of tanh networks against :math:`\sigma_w`.

    For each weight gain the factor per layer
    (:func:`gradcourse.experiments.sigmoid.factor_per_layer`) is compared with the
    product :math:`\sigma_w \times \sqrt{\mathbb E[\tanh'(z)^2]}` (the mean-field
    :math:`\sqrt\chi`; Poole et al., 2016): larger weights amplify every layer's signal by
    :math:`\sigma_w` and push units into the flat tails, where the slope is small.

    Args:
        keys: ``(seeds,)`` PRNG keys (the same keys at every scale).
        xs, ys: the batch (integer labels).
        sigma_ws: weight gains, each > 0.
        depth, width: network size, ``depth`` >= 2.

    Returns:
        A :class:`WeightSweep`.

    Raises:
        ValueError: for a bad gain, ``depth`` or ``width``.
    """
    out_dim = int(np.max(np.asarray(ys))) + 1
    factor, rms_slope, saturated = [], [], []
    for s in sigma_ws:
        nets = Networks("tanh", s, depth, width)
        factor.append(sigmoid.factor_per_layer(keys, xs, ys, nets))
        p = sigmoid.init_seeds(keys, np.shape(xs)[-1], out_dim, nets)
        _, tr = sigmoid.forward_seeds(p, xs, "tanh")
        slopes = np.asarray(activations.tanh_grad(tr.pre[:, :, 1:]))  # layers 2..L
        rms_slope.append(np.sqrt(np.mean(slopes**2, axis=(1, 2, 3))))
        sat = jax.vmap(lambda h: health.saturated_fraction(h, "tanh"))(
            tr.post[:, :, 1:]
        )
        saturated.append(np.asarray(sat).mean(axis=1))
    return WeightSweep(*(np.stack(a, axis=1) for a in (factor, rms_slope, saturated)))


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
