r"""Order and chaos, for the chapter on Jacobian products: the measured per-layer change
of the squared gradient against the mean-field :math:`\chi` (:func:`measured_chi`), and the
correlation of two inputs carried through a wide network against the correlation map
(:func:`pair_correlations`; Poole et al., 2016; Schoenholz et al., 2017). Reached as
``gc.experiments.jacobian_products.<name>``.

References:
    Poole et al., `Exponential expressivity in deep neural networks through transient
    chaos <https://arxiv.org/abs/1606.05340>`_, 2016; Schoenholz et al., `Deep
    Information Propagation <https://arxiv.org/abs/1611.01232>`_, 2017.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, jacobians, meanfield, networks
from gradcourse.spectra import gradient_gains

__all__ = ["correlated_pair", "measured_chi", "pair_correlations"]


# --- order and chaos ----------------------------------------------------------------


def measured_chi(
    keys: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    sigma_w2: ArrayLike,
    *,
    sigma_b2: float,
    width: int = 256,
    depth: int = 20,
    skip: int = 5,
) -> np.ndarray:
    r"""Measured per-layer change of the squared gradient, to compare with :math:`\chi`.

    For each weight variance and key, a tanh network (:func:`gradcourse.jacobians.init_mean_field`
    weights) is probed and the per-layer ratios
    :math:`r_l = \lVert\partial\mathcal L/\partial H_l\rVert /
    \lVert\partial\mathcal L/\partial H_{l+1}\rVert`
    (:func:`gradcourse.spectra.gradient_gains`) are averaged geometrically,
    :math:`\exp\overline{\log r_l^2}`, over the layers after the first ``skip`` (while
    :math:`q_l` settles). Mean-field theory predicts :math:`\chi` (Schoenholz et al.,
    2017, Fig. 4).

    Args:
        keys: ``(seeds,)`` PRNG keys.
        xs, ys: the batch (integer labels).
        sigma_w2: ``(points,)`` weight variances.
        sigma_b2: bias variance.
        width, depth: network size.
        skip: leading ratios to leave out, in ``[0, depth - 2]``.

    Returns:
        ``(points, seeds)`` geometric-mean squared ratios.

    Raises:
        ValueError: for a bad ``skip`` (or a bad size, from the package).
    """
    _checks.positive_int("depth", depth)
    if (
        isinstance(skip, bool)
        or not isinstance(skip, int)
        or not 0 <= skip <= depth - 2
    ):
        raise ValueError(f"skip must be an integer in [0, {depth - 2}], got {skip!r}")

    def gains(k: Array, sw2: Array) -> Array:
        family = jacobians.RandomMLP(width, depth, sigma_w2=sw2, sigma_b2=sigma_b2)
        return gradient_gains(k, xs, ys, family)

    ratios = jax.vmap(jax.vmap(gains, (0, None)), (None, 0))(keys, sigma_w2)
    return np.exp(np.mean(2 * np.log(np.asarray(ratios)[:, :, skip:]), axis=2))


def correlated_pair(key: Array, width: int, c: float) -> np.ndarray:
    r"""Two inputs of squared length ``width`` whose correlation is exactly ``c``.

    Two Gaussian directions are made orthogonal (Gram-Schmidt) and scaled to length
    :math:`\sqrt n`; the pair is :math:`(e_0,\; c\,e_0 + \sqrt{1 - c^2}\,e_1)`, in
    float64.

    Args:
        key: PRNG key.
        width: input size, >= 2.
        c: the correlation, in [-1, 1].

    Returns:
        ``(2, width)`` inputs.

    Raises:
        ValueError: for a bad ``width`` or ``c``.
    """
    _checks.positive_int("width", width)
    if width < 2:
        raise ValueError(f"width must be >= 2, got {width}")
    c = _checks.in_range("c", c, -1.0, 1.0)
    e = np.asarray(jax.random.normal(key, (2, width)), np.float64)
    e[1] -= (e[1] @ e[0]) / (e[0] @ e[0]) * e[0]  # orthogonal directions
    e *= np.sqrt(width) / np.linalg.norm(e, axis=1, keepdims=True)
    return np.stack([e[0], c * e[0] + np.sqrt(1 - c**2) * e[1]])


def _correlations(
    k: Array, pair: Array, sw2: Array, q_star: Array, sb2: float, width: int, depth: int
) -> Array:
    xs = pair * jnp.sqrt((q_star - sb2) / sw2)
    net = jacobians.init_mean_field(
        k, width, width, depth, 1, sigma_w2=sw2, sigma_b2=sb2
    )
    pre = jax.vmap(lambda x: networks.forward_with_trace(net, x, "tanh")[1].pre)(xs)
    return jnp.sum(pre[0] * pre[1], 1) / jnp.sqrt(
        jnp.sum(pre[0] ** 2, 1) * jnp.sum(pre[1] ** 2, 1)
    )


_seed_correlations: Callable[..., Array] = jax.jit(
    jax.vmap(_correlations, in_axes=(0, None, None, None, None, None, None)),
    static_argnums=(4, 5, 6),
)


def pair_correlations(
    keys: Array,
    pair: ArrayLike,
    *,
    sigma_w2: float,
    sigma_b2: float,
    depth: int = 30,
) -> np.ndarray:
    r"""Correlation :math:`c_l` of two inputs' pre-activations, layer by layer.

    The pair is scaled so that the first layer's pre-activations have the fixed-point
    variance :math:`q^*` (:func:`gradcourse.meanfield.fixed_point`), then run through one
    random tanh network per key (width = input size, weights of
    :func:`gradcourse.jacobians.init_mean_field`), and

    .. math::

        c_l = \frac{z_l^a \cdot z_l^b}{\lVert z_l^a\rVert\,\lVert z_l^b\rVert} .

    Mean-field theory iterates the correlation map
    :math:`c_{l+1} = C(c_l)` (:func:`gradcourse.correlation.correlation_trajectory`),
    whose slope at :math:`c = 1` is :math:`\chi` (Poole et al., 2016).

    Args:
        keys: ``(seeds,)`` PRNG keys.
        pair: ``(2, width)`` inputs (:func:`correlated_pair`).
        sigma_w2, sigma_b2: variances, ``sigma_w2 > 0`` and ``sigma_b2 >= 0``.
        depth: layers, >= 1.

    Returns:
        ``(seeds, depth)`` correlations.

    Raises:
        ValueError: for a bad variance, ``depth`` or ``pair``.
    """
    sw2 = _checks.positive("sigma_w2", sigma_w2)
    sb2 = _checks.non_negative("sigma_b2", sigma_b2)
    _checks.positive_int("depth", depth)
    pair = np.asarray(pair)
    if pair.ndim != 2 or pair.shape[0] != 2:
        raise ValueError(f"pair must have shape (2, width), got {pair.shape}")
    q_star = float(meanfield.fixed_point(sw2, sb2))
    out = _seed_correlations(keys, pair, sw2, q_star, sb2, pair.shape[1], depth)
    return np.asarray(out)
