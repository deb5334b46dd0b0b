r"""Experiments of the chapter on the sigmoid.

A sigmoid's slope is at most :math:`1/4`, so the product of the derivative matrices of
:math:`L` layers is at most :math:`0.25^L`. The gradient is not that product alone: the
weights sit between the derivatives, and the measured factor per layer by which
:math:`\lVert\partial\mathcal L/\partial h_l\rVert` shrinks toward the input is close to
the RMS slope times the RMS singular value of the weights (:func:`gradient_factor`). Large
weights make it shallower than :math:`1/4`, and beyond the mean-field critical scale the
gradient explodes although every slope is still at most :math:`1/4` (Poole et al., 2016;
Schoenholz et al., 2017). What the large weights cost is saturation
(:func:`input_saturation`); what the outputs' mean of about one half costs is a large
eigenvalue of the next layer's input second moment (:func:`first_layer_moments`;
LeCun et al., 1998).

References:
    LeCun, Bottou, Orr & Müller, `Efficient BackProp
    <https://doi.org/10.1007/3-540-49430-8_2>`_, 1998; Poole et al., `Exponential
    expressivity in deep neural networks through transient chaos
    <https://arxiv.org/abs/1606.05340>`_, 2016; Schoenholz et al., `Deep Information
    Propagation <https://arxiv.org/abs/1611.01232>`_, 2017.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, activations, initializers, networks, probes, registry
from gradcourse.networks import MLP, ActivationLike, Trace

# One forward pass per seed; the activation is static, so each activation compiles once.
_forward_seeds = jax.jit(
    jax.vmap(networks.forward_batch, in_axes=(0, None, None)), static_argnums=2
)


class GradientFactor(NamedTuple):
    """Result of :func:`gradient_factor`; every field has a leading seed axis.

    Attributes:
        norms: the probe's :class:`~gradcourse.probes.GradNorms`.
        factor: ``(seeds,)`` measured factor per layer.
        slopes: ``(seeds, batch, depth - 1, width)`` slopes :math:`\\phi'(z)` of layers 2..L.
        rms_slope: ``(seeds,)`` root-mean-square of ``slopes``.
        rms_sv: ``(seeds,)`` root-mean-square singular value of the hidden weights.
        max_sv: ``(seeds,)`` largest singular value, averaged over the hidden layers.
    """

    norms: probes.GradNorms
    factor: np.ndarray
    slopes: np.ndarray
    rms_slope: np.ndarray
    rms_sv: np.ndarray
    max_sv: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        """``(seeds,)`` the prediction RMS slope times RMS singular value."""
        return self.rms_slope * self.rms_sv


@dataclasses.dataclass(frozen=True)
class Networks:
    r"""The networks the chapter draws, one per key: ``depth`` layers of ``width`` units
    of ``activation``, weights :math:`W_{ij} \sim \mathcal N(0, \sigma_w^2/n_{\text{in}})`
    (LeCun normal with gain :math:`\sigma_w`) and zero biases.

    Attributes:
        activation: registry name or elementwise function (hashable).
        sigma_w: weight gain :math:`\sigma_w > 0`.
        depth: layers, >= 2.
        width: units per layer, >= 1.

    Raises:
        ValueError: naming the field, for a bad ``sigma_w``, ``depth`` or ``width``.
    """

    activation: ActivationLike = "sigmoid"
    sigma_w: float = 1.0
    depth: int = 20
    width: int = 64

    def __post_init__(self) -> None:
        _checks.positive("sigma_w", self.sigma_w)
        _checks.positive_int("width", self.width)
        _checks.positive_int("depth", self.depth)
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2, got {self.depth}")

    @property
    def w_init(self) -> Callable[..., Array]:
        """The weight initialiser, LeCun normal with gain ``sigma_w``."""
        return initializers.lecun_normal(float(self.sigma_w))


def init_seeds(
    keys: Array, in_dim: int, out_dim: int, nets: Networks = Networks()
) -> MLP:
    r"""One network per key, weights :math:`W_{ij} \sim \mathcal N(0, \sigma_w^2/n)`.

    The networks :func:`gradcourse.probes.probe_seeds` draws from the same keys (LeCun
    normal with gain :math:`\sigma_w`, zero biases).

    Args:
        keys: ``(seeds,)`` PRNG keys.
        in_dim, out_dim: input features and classes, >= 1.
        nets: the gain and size (:class:`Networks`; its activation is not used here).

    Returns:
        An :class:`~gradcourse.networks.MLP` whose leaves have a leading seed axis.
    """
    w_init = nets.w_init
    return jax.vmap(
        lambda k: networks.init_mlp(
            k, in_dim, nets.width, nets.depth, out_dim, w_init=w_init
        )
    )(keys)


def forward_seeds(
    params: MLP, xs: ArrayLike, activation: ActivationLike = "sigmoid"
) -> tuple[Array, Trace]:
    """:func:`gradcourse.networks.forward_batch` for each seed's network, compiled once.

    Args:
        params: networks with a leading seed axis (:func:`init_seeds`).
        xs: inputs ``(batch, in_dim)``.
        activation: registry name or elementwise function (hashable; static).

    Returns:
        ``(outputs, trace)`` with a leading seed axis on every array.

    Raises:
        ValueError: if ``xs`` is not 2-D.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    return _forward_seeds(params, xs, activation)


def factor_per_layer(
    keys: Array, xs: ArrayLike, ys: ArrayLike, nets: Networks = Networks()
) -> np.ndarray:
    r"""Geometric-mean factor per layer by which the back-propagated signal shrinks.

    For each key a network is drawn as in :func:`init_seeds` and probed on the batch
    (:func:`gradcourse.probes.probe_seeds`); the factor is

    .. math::

        \Bigl(\lVert \partial\mathcal L/\partial h_1 \rVert /
        \lVert \partial\mathcal L/\partial h_L \rVert\Bigr)^{1/(L-1)} .

    Args:
        keys: ``(seeds,)`` PRNG keys.
        xs, ys: the batch (integer labels).
        nets: the activation, gain and size (:class:`Networks`).

    Returns:
        ``(seeds,)`` factors (float32).
    """
    return _factor(_probe(keys, xs, ys, nets), nets.depth)


def _probe(
    keys: Array, xs: ArrayLike, ys: ArrayLike, nets: Networks
) -> probes.GradNorms:
    return probes.probe_seeds(
        keys,
        xs,
        ys,
        width=nets.width,
        depth=nets.depth,
        activation=nets.activation,
        w_init=nets.w_init,
    )


def _factor(norms: probes.GradNorms, depth: int) -> np.ndarray:
    return np.asarray(probes.layer_ratio(norms.hidden)) ** (1 / (depth - 1))


def gradient_factor(
    keys: Array, xs: ArrayLike, ys: ArrayLike, nets: Networks = Networks()
) -> GradientFactor:
    r"""The measured gradient factor per layer, and what slopes and weights predict.

    In the backward recursion :math:`\delta_l = D_l W_{l+1}^\top \delta_{l+1}` with
    :math:`D_l = \operatorname{diag}\phi'(z_l)`, a vector of random orientation is scaled
    on average by the RMS slope times the RMS singular value of :math:`W`
    (:math:`\sigma_w` for Gaussian weights), so

    .. math::

        \text{factor} \approx \sqrt{\mathbb E[\phi'(z)^2]}\;
        \sqrt{\tfrac1n \textstyle\sum_i s_i(W)^2},

    the mean-field :math:`\sqrt{\chi}` of Poole et al. (2016). The largest singular value
    (about :math:`2\sigma_w`, the Marchenko-Pastur edge) gives the worst case.

    Args:
        keys: ``(seeds,)`` PRNG keys (the networks of :func:`init_seeds`).
        xs, ys: the batch (integer labels).
        nets: the gain and size (:class:`Networks`), and a registered activation name
            (its ``grad`` gives the slopes).

    Returns:
        A :class:`GradientFactor`.

    Raises:
        ValueError: for an activation that is not a registered name.
    """
    grad = registry.get(nets.activation).grad
    norms = _probe(keys, xs, ys, nets)
    xs = jnp.asarray(xs)
    out_dim = int(jnp.max(jnp.asarray(ys))) + 1
    params = init_seeds(keys, xs.shape[1], out_dim, nets)
    _, trace = forward_seeds(params, xs, nets.activation)
    slopes = np.asarray(grad(trace.pre[:, :, 1:]))
    sv = np.asarray(jnp.linalg.svd(params.hidden.w, compute_uv=False))
    return GradientFactor(
        norms=norms,
        factor=_factor(norms, nets.depth),
        slopes=slopes,
        rms_slope=np.sqrt(np.mean(slopes**2, axis=(1, 2, 3))),
        rms_sv=np.sqrt(np.mean(sv**2, axis=(1, 2))),
        max_sv=sv.max(axis=2).mean(axis=1),
    )


def input_saturation(
    w_first: ArrayLike, xs: ArrayLike, scales: Sequence[float], *, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Saturated fraction of first-layer sigmoid units as the input is scaled by ``c``.

    A unit is saturated when :math:`\sigma'(z) < \varepsilon`, that is
    :math:`|z| > z^\star`. If a unit's pre-activation is Gaussian with standard
    deviation :math:`s = c\,\lVert x\rVert\,\sigma_w/\sqrt n` (``Var(W_ij) = 1/n``), the
    predicted fraction is

    .. math::

        P(|z| > z^\star) = \operatorname{erfc}\bigl(z^\star / (\sqrt 2\, s)\bigr),

    averaged over the inputs. Biases are taken to be zero.

    Args:
        w_first: ``(seeds, width, in_dim)`` first-layer weights, ``Var = 1/in_dim``.
        xs: inputs ``(batch, in_dim)``.
        scales: input scales :math:`c > 0`.
        threshold: :math:`\varepsilon` in :math:`(0, 1/4)`.

    Returns:
        ``(measured, predicted)``: ``(seeds, len(scales))`` and ``(len(scales),)``.

    Raises:
        ValueError: for a bad ``threshold``, a non-positive scale or wrong shapes.
    """
    _checks.in_range("threshold", threshold, 0.0, 0.25, closed="neither")
    for c in scales:
        _checks.positive("scales", c)
    w_first, xs = jnp.asarray(w_first), jnp.asarray(xs)
    _checks.ndim("w_first", w_first, 3)
    _checks.ndim("xs", xs, 2)
    root = np.sqrt(1 - 4 * threshold)
    z_star = float(jnp.log((1 + root) / (1 - root)))
    z1 = jnp.einsum("sij,bj->sbi", w_first, xs)  # first-layer pre-activations
    measured = np.stack(
        [
            np.asarray(
                jnp.mean(activations.sigmoid_grad(c * z1) < threshold, axis=(1, 2))
            )
            for c in scales
        ],
        axis=1,
    )
    unit_sd = np.asarray(jnp.linalg.norm(xs, axis=1)) / np.sqrt(xs.shape[1])
    predicted = [
        np.mean(jax.scipy.special.erfc(z_star / (np.sqrt(2) * c * unit_sd)))
        for c in scales
    ]
    return measured, np.array(predicted)


def first_layer_moments(w: ArrayLike, xs: ArrayLike) -> tuple[float, float, float]:
    r"""Mean of a sigmoid layer's outputs and the top eigenvalues of their moments.

    For :math:`h = \sigma(W x)` (zero biases), the largest eigenvalue of the second-moment
    matrix :math:`\mathbb E[h h^\top] = \operatorname{Cov}(h) + \mu\mu^\top`, which is the
    Hessian of a linear unit fed :math:`h` under the squared loss, and the largest
    eigenvalue of :math:`\operatorname{Cov}(h)`. A mean :math:`\mu` of about one half in
    each of :math:`n` coordinates adds an eigenvalue near :math:`n/4` (LeCun et al., 1998).
    Float64 NumPy.

    Args:
        w: ``(width, in_dim)`` weights of one layer.
        xs: inputs ``(batch, in_dim)``.

    Returns:
        ``(mean activation, top eigenvalue of E[hh^T], top eigenvalue of Cov(h))``.

    Raises:
        ValueError: if ``w`` or ``xs`` is not 2-D.
    """
    w, xs = jnp.asarray(w), jnp.asarray(xs)
    _checks.ndim("w", w, 2)
    _checks.ndim("xs", xs, 2)
    h = np.asarray(activations.sigmoid(xs @ w.T), dtype=np.float64)
    second_moment = np.linalg.eigvalsh(h.T @ h / len(h))
    centred = h - h.mean(axis=0)
    covariance = np.linalg.eigvalsh(centred.T @ centred / len(h))
    return float(h.mean()), float(second_moment[-1]), float(covariance[-1])
