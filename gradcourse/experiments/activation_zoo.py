r"""Experiments of the activation-zoo chapter: every registered activation at its own gain.

Three measurements, each over the whole :data:`gradcourse.registry.REGISTRY`:

* :func:`moments_at_one`: Gaussian expectations at :math:`q = 1` by quadrature split at
  every kink: the gradient factor per layer :math:`\chi(1) = g^2\,\mathbb E[\phi'(z)^2]`
  and the slope of the variance map :math:`V'(1) = g^2\,\mathbb E[z\,\phi(z)\,\phi'(z)]`
  (Poole et al. 2016; Schoenholz et al. 2017), with the moments the gated units need
  (:func:`gated_chi`, Dauphin et al. 2017; Shazeer 2020);
* :func:`depth_profile`: per-layer gradient norms of 50-layer networks against the
  mean-field prediction (:func:`gradcourse.zoo.probe_registry`,
  :func:`gradcourse.zoo.mean_field_prediction`);
* :func:`train`: a few hundred SGD steps of ten-layer classifiers, one per activation and
  seed (:func:`gradcourse.zoo.train_registry`).

References:
    Poole et al., `Exponential expressivity in deep neural networks through transient
    chaos <https://arxiv.org/abs/1606.05340>`_, 2016; Schoenholz et al., `Deep
    Information Propagation <https://arxiv.org/abs/1611.01232>`_, 2017.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, activations, quadrature, registry, zoo
from gradcourse.data import Split

from ._common import Schedule

#: Gated linear units and the activation of their gate branch.
GATED: dict[str, str] = {"GLU": "sigmoid", "GeGLU": "gelu", "SwiGLU": "silu"}


class Moments(NamedTuple):
    r"""Gaussian expectations at :math:`z \sim \mathcal N(0, 1)`, one entry per activation.

    Attributes:
        chi: :math:`\chi(1) = g^2\,\mathbb E[\phi'(z)^2]` at the entry's gain :math:`g`.
        slope: :math:`V'(1) = g^2\,\mathbb E[z\,\phi(z)\,\phi'(z)]`, the slope of the
            variance map at :math:`q = 1`.
        phi2: :math:`\mathbb E[\phi(z)^2]` (gain 1).
        dphi2: :math:`\mathbb E[\phi'(z)^2]` (gain 1).
    """

    chi: dict[str, float]
    slope: dict[str, float]
    phi2: dict[str, float]
    dphi2: dict[str, float]


def moments_at_one() -> Moments:
    r""":math:`\chi(1)`, :math:`V'(1)` and the two second moments of every activation.

    One quadrature rule (:func:`gradcourse.quadrature.gaussian_rule` at :math:`q = 1`,
    split at every kink of every entry) and one table of values and derivatives
    (:func:`gradcourse.registry.tabulate`), summed in float64.

    Returns:
        a :class:`Moments`, each field a dict keyed by registry name (registry order).
    """
    entries = list(registry.REGISTRY.values())
    kinks = sorted({k for e in entries for k in e.kinks})
    z, w = (
        np.asarray(v, np.float64)
        for v in quadrature.gaussian_rule(1.0, breakpoints=kinks)
    )
    phi, dphi = (np.asarray(v, np.float64) for v in registry.tabulate(z))
    g2 = np.array([e.gain**2 for e in entries])
    names = list(registry.REGISTRY)
    chi = dict(zip(names, g2 * (dphi**2 @ w), strict=True))
    slope = dict(zip(names, g2 * ((z * phi * dphi) @ w), strict=True))
    phi2 = {n: float(phi[i] ** 2 @ w) for i, n in enumerate(names)}
    dphi2 = {n: float(dphi[i] ** 2 @ w) for i, n in enumerate(names)}
    return Moments(chi, slope, phi2, dphi2)


def selu_chi_closed_form() -> float:
    r"""SELU's :math:`\chi(1) = \lambda^2\bigl(\tfrac12 + \alpha^2 e^2\,\Phi(-2)\bigr)`.

    With the registry's constants :data:`gradcourse.activations.SELU_ALPHA` and
    :data:`~gradcourse.activations.SELU_SCALE` (Klambauer et al. 2017).
    """
    alpha, lam = activations.SELU_ALPHA, activations.SELU_SCALE
    phi_m2 = float(jax.scipy.stats.norm.cdf(-2.0))  # Phi(-2)
    return lam**2 * (0.5 + alpha**2 * np.e**2 * phi_m2)


def gated_chi(moments: Moments) -> dict[str, tuple[float, float]]:
    r"""Gain and gradient factor of the gated units :data:`GATED`, :math:`x\,\phi(y)`.

    For independent :math:`x, y \sim \mathcal N(0, 1)` the unit's second moment is
    :math:`\mathbb E[\phi^2]`, so its gain is :math:`\mathbb E[\phi^2]^{-1/2}`, and at that
    gain the squared gradient factor is
    :math:`\chi = 1 + \mathbb E[\phi'^2] / \mathbb E[\phi^2]` (one term per branch).

    Args:
        moments: from :func:`moments_at_one`.

    Returns:
        ``{unit: (gain, chi)}`` for GLU, GeGLU and SwiGLU.
    """
    return {
        unit: (moments.phi2[n] ** -0.5, 1 + moments.dphi2[n] / moments.phi2[n])
        for unit, n in GATED.items()
    }


def maxout_second_moment() -> float:
    r""":math:`\mathbb E[\max(z_1, z_2)^2]` for independent standard normals (exactly 1).

    Writes :math:`\max(z_1, z_2) = (z_1 + z_2 + |z_1 - z_2|)/2`; after the rotation
    :math:`u = (z_1 + z_2)/\sqrt 2`, :math:`v = (z_1 - z_2)/\sqrt 2` it is
    :math:`(u + |v|)/\sqrt 2`, integrated by a product Gauss rule.
    """
    u, w = (np.asarray(a, np.float64) for a in quadrature.gaussian_rule(1.0))
    return float(w @ ((u[:, None] + np.abs(u[None, :])) ** 2 / 2) @ w)


class DepthProfile(NamedTuple):
    r"""Result of :func:`depth_profile`; axes ``A`` (activations), ``S`` (seeds).

    Attributes:
        probe: the :class:`gradcourse.zoo.ZooProbe`.
        measured: ``(A, S, depth)`` :math:`\lVert\partial L/\partial H_l\rVert` relative
            to the same seed's last layer.
        predicted: ``(A, depth)`` the mean-field prediction of the same ratio.
        log_first: ``(A, S)`` :math:`\log_{10}` of ``measured`` at layer 1.
        log_first_predicted: ``(A,)`` :math:`\log_{10}` of ``predicted`` at layer 1.
    """

    probe: zoo.ZooProbe
    measured: np.ndarray
    predicted: np.ndarray
    log_first: np.ndarray
    log_first_predicted: np.ndarray


def depth_profile(
    key: Array, xs: ArrayLike, ys: ArrayLike, *, width: int, depth: int, seeds: int
) -> DepthProfile:
    r"""Per-layer gradient norms of every activation at its gain, against mean-field theory.

    Each activation's networks (weights :math:`\mathcal N(0, g^2/n)`, the same draws for
    every activation) are probed on the batch by :func:`gradcourse.zoo.probe_registry`;
    the prediction (:func:`gradcourse.zoo.mean_field_prediction`) starts from the
    inputs' second moment :math:`q_0 = \mathbb E[x^2]`.

    Args:
        key: PRNG key for the weights.
        xs: inputs ``(batch, in_dim)``; ys: labels ``(batch,)``.
        width, depth, seeds: network size and networks per activation, each >= 1.

    Returns:
        a :class:`DepthProfile`.

    Raises:
        ValueError: for a bad ``width``, ``depth`` or ``seeds``.
    """
    for name, value in (("width", width), ("depth", depth), ("seeds", seeds)):
        _checks.positive_int(name, value)
    probe = zoo.probe_registry(key, xs, ys, width=width, depth=depth, seeds=seeds)
    q0 = float(jnp.mean(jnp.asarray(xs) ** 2))
    _, predicted = zoo.mean_field_prediction(None, q0, depth)
    hidden = np.asarray(probe.hidden, np.float64)
    measured = hidden / hidden[:, :, -1:]  # each seed relative to its last layer
    log_first = np.log10(measured[:, :, 0])  # scaled norms: no layer reports exactly 0
    return DepthProfile(
        probe, measured, predicted, log_first, np.log10(predicted[:, 0])
    )


@dataclasses.dataclass(frozen=True)
class TrainSetup:
    """The training comparison: plain SGD on minibatches of the digits.

    Attributes:
        names: the activations compared.
        schedule: SGD's steps, step size and minibatch size, and the networks per
            activation (``seeds``).
        depth: network depth.
        width: network width.
    """

    names: tuple[str, ...] = ("sigmoid", "softplus", "tanh", "relu", "selu", "gelu")
    schedule: Schedule = Schedule(steps=300, learning_rate=0.05, seeds=3, batch_size=32)
    depth: int = 10
    width: int = 32


class TrainRun(NamedTuple):
    """Result of :func:`train`; axes ``A`` (the setup's names), ``S`` (seeds).

    Attributes:
        accuracy: ``(A, S)`` test accuracy after training.
        first_layer: ``(A, S, steps)`` norm of the first layer's weight gradient.
    """

    accuracy: np.ndarray
    first_layer: np.ndarray


def train(key: Array, split: Split, setup: TrainSetup = TrainSetup()) -> TrainRun:
    """Train one classifier per (activation, seed) of ``setup`` at its gain, in one ``fit``.

    A thin composition of :func:`gradcourse.zoo.train_registry`.

    Args:
        key: PRNG key (weights and minibatches).
        split: the data (:func:`gradcourse.data.digits`).
        setup: a :class:`TrainSetup`.

    Returns:
        a :class:`TrainRun`.

    Raises:
        ValueError: for an unknown activation name or a bad size.
    """
    if not isinstance(setup, TrainSetup):
        raise ValueError(f"setup must be a TrainSetup, got {type(setup).__name__}")
    for name in ("depth", "width"):
        _checks.positive_int(name, getattr(setup, name))
    _checks.positive_int("batch_size", setup.schedule.batch_size)  # SGD on minibatches
    for name in setup.names:
        _checks.one_of("names", name, tuple(registry.REGISTRY))
    run = zoo.train_registry(
        key,
        *split,
        width=setup.width,
        depth=setup.depth,
        seeds=setup.schedule.seeds,
        steps=setup.schedule.steps,
        learning_rate=setup.schedule.learning_rate,
        batch_size=setup.schedule.batch_size,
        names=setup.names,
    )
    first_layer = np.asarray(run.grad_norms[:, :, :, 0])  # (activation, seed, step)
    return TrainRun(np.asarray(run.test_accuracy), first_layer)
