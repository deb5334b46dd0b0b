r"""Experiments of the chapter on ELU, SELU and the smooth rectifiers.

* :func:`mean_shift`: the mean activation layer by layer of ReLU and ELU networks at their
  gains, measured (:func:`gradcourse.moments.propagate`) and predicted
  (:func:`gradcourse.moments.moment_map`); ELU's negative side pulls the mean towards
  zero (Clevert et al. 2016).
* :func:`relu_first_layer_mean`: the first ReLU layer's mean activation predicted from the
  inputs, :math:`\mathbb E[\max(0, z)] = \sqrt{q/(2\pi)}`, and its Jensen gap.
* :func:`selu_runs` and :func:`selu_tail_deviation`: SELU networks fed inputs of several
  means and variances converge to mean 0 and variance 1 (Klambauer et al. 2017).
* :func:`dip_and_peak`, :func:`max_gap`: the shape numbers of GELU, SiLU and Mish.

References:
    Clevert et al., `Fast and accurate deep network learning by exponential linear units
    <https://arxiv.org/abs/1511.07289>`_, 2016; Klambauer et al., `Self-normalizing neural
    networks <https://arxiv.org/abs/1706.02515>`_, 2017.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, moments, registry

from ._common import Sizes


class MomentRun(NamedTuple):
    """One propagation experiment: measured moments, the prediction, and the gain used.

    Attributes:
        measured: :class:`gradcourse.moments.Moments`, fields ``(seeds, depth)``.
        theory: :class:`gradcourse.moments.Moments` predicted by the moment map,
            fields ``(depth,)``.
        gain: the weight gain :math:`g` (weights :math:`\\mathcal N(0, g^2/n)`).
    """

    measured: moments.Moments
    theory: moments.Moments
    gain: float


#: :func:`mean_shift`'s default: six networks of 20 layers of 128 units.
MEAN_SHIFT = Sizes(depth=20, width=128, seeds=6)
#: :func:`selu_runs`'s default: four networks of 30 layers of 256 units.
SELU_RUNS = Sizes(depth=30, width=256, seeds=4)


def mean_shift(
    key: Array,
    xs: ArrayLike,
    *,
    names: Sequence[str] = ("relu", "elu"),
    sizes: Sizes = MEAN_SHIFT,
) -> dict[str, MomentRun]:
    r"""Mean activation per layer of ReLU and ELU networks at their registry gains.

    Each network (weights :math:`\mathcal N(0, g^2/n)`, zero biases, the same ``key`` for
    every activation) is run on ``xs``; the prediction iterates the mean and second
    moment of the ELU family (:func:`gradcourse.moments.moment_map`, :math:`\alpha = 0`
    for ReLU, 1 for ELU) from the inputs' mean 0 and second moment
    :math:`\mathbb E[x^2]`.

    Args:
        key: PRNG key for the weights.
        xs: inputs ``(batch, in_dim)``.
        names: ``"relu"`` and/or ``"elu"``.
        sizes: network size and number of networks.

    Returns:
        ``{name: MomentRun}``.

    Raises:
        ValueError: for another activation.
    """
    width, depth, seeds = sizes.width, sizes.depth, sizes.seeds
    second0 = float(jnp.mean(jnp.asarray(xs) ** 2))  # the inputs' second moment
    runs = {}
    for name in names:
        _checks.one_of("names", name, ("relu", "elu"))
        gain = registry.get(name).gain
        measured = moments.propagate(
            key, xs, width=width, depth=depth, seeds=seeds, activation=name, gain=gain
        )
        theory = moments.moment_map(
            0.0, second0, depth, constants=(float(name == "elu"), 1.0), gain=gain
        )
        runs[name] = MomentRun(measured, theory, gain)
    return runs


def relu_first_layer_mean(xs: ArrayLike) -> tuple[float, float]:
    r"""First ReLU layer's mean activation at He's gain, predicted from the inputs.

    With :math:`q = 2\,\lVert x\rVert^2/n` the pre-activation of input :math:`x` is
    :math:`\mathcal N(0, q)` and :math:`\mathbb E[\max(0, z)] = \sqrt{q/(2\pi)}`. Using the
    batch's mean :math:`q` overestimates the mean over inputs (Jensen:
    :math:`\mathbb E[\sqrt q] < \sqrt{\mathbb E[q]}`).

    Args:
        xs: inputs ``(batch, in_dim)``.

    Returns:
        ``(from_mean_q, per_input)``: :math:`\sqrt{\mathbb E[q]/(2\pi)}` and
        :math:`\mathbb E[\sqrt{q/(2\pi)}]`.
    """
    _checks.ndim("xs", xs, 2)
    second0 = float(jnp.mean(jnp.asarray(xs) ** 2))
    from_mean_q = float(np.sqrt(2 * second0 / (2 * np.pi)))  # q = 2 E[x^2]
    per_input = float(
        np.mean(np.sqrt(2 * np.mean(np.asarray(xs) ** 2, 1) / (2 * np.pi)))
    )
    return from_mean_q, per_input


def selu_runs(
    key_inputs: Array,
    key_weights: Array,
    starts: Sequence[tuple[float, float]],
    sizes: Sizes = SELU_RUNS,
    *,
    batch: int = 128,
    in_dim: int = 64,
) -> list[MomentRun]:
    r"""SELU networks (gain 1) fed inputs of several means and variances.

    For each ``(mean, var)`` start, ``batch`` inputs with those moments
    (:func:`gradcourse.moments.shifted_inputs`) are propagated through ``sizes.seeds`` SELU
    networks (the same weights for every start) and compared with SELU's moment map,
    whose fixed point is mean 0, variance 1.

    Args:
        key_inputs: PRNG key for the inputs (split once per start).
        key_weights: PRNG key for the weights.
        starts: ``(mean, variance)`` of the inputs, variance > 0.
        sizes: network size and number of networks.
        batch, in_dim: inputs per start and their features, each >= 1.

    Returns:
        one :class:`MomentRun` per start (gain 1).

    Raises:
        ValueError: for a bad ``batch`` or ``in_dim`` or a variance <= 0.
    """
    width, depth, seeds = sizes.width, sizes.depth, sizes.seeds
    alpha, lam = moments.selu_constants()
    runs = []
    keys = jax.random.split(key_inputs, len(starts))
    for k_in, (m0, v0) in zip(keys, starts, strict=True):
        _checks.positive("var", v0)
        xs0 = moments.shifted_inputs(k_in, batch, in_dim, m0, v0)
        measured = moments.propagate(
            key_weights,
            xs0,
            width=width,
            depth=depth,
            seeds=seeds,
            activation="selu",
            gain=1.0,
        )
        theory = moments.moment_map(m0, v0, depth, constants=(alpha, lam))
        runs.append(MomentRun(measured, theory, 1.0))
    return runs


def selu_tail_deviation(
    runs: Sequence[MomentRun], last: int = 10
) -> tuple[float, float, list[float]]:
    r"""How close the last layers of :func:`selu_runs` are to mean 0 and variance 1.

    Args:
        runs: from :func:`selu_runs`.
        last: the number of last layers averaged (over seeds, then layer by layer).

    Returns:
        ``(dev_mean, dev_var, first_var)``: the largest seed-averaged :math:`|\mu_l|` and
        :math:`|\nu_l - 1|` over the last layers and all starts, and each start's median
        variance at layer 1.

    Raises:
        ValueError: if ``last`` is not in ``[1, depth]``.
    """
    depth = np.asarray(runs[0].measured.mean).shape[1]
    _checks.in_range("last", last, 1, depth)
    tail = slice(depth - last, depth)
    dev_mean = max(
        float(np.abs(np.asarray(r.measured.mean)[:, tail].mean(0)).max()) for r in runs
    )
    dev_var = max(
        float(np.abs(np.asarray(r.measured.var)[:, tail].mean(0) - 1).max())
        for r in runs
    )
    first_var = [float(np.median(np.asarray(r.measured.var)[:, 0])) for r in runs]
    return dev_mean, dev_var, first_var


class DipAndPeak(NamedTuple):
    """Shape numbers of a smooth rectifier on a grid.

    Attributes:
        x_min: where the function is lowest.
        y_min: its value there.
        x_peak: where the derivative is largest.
        d_peak: the derivative's value there.
        above_one: the first grid point where the derivative exceeds 1.
    """

    x_min: float
    y_min: float
    x_peak: float
    d_peak: float
    above_one: float


def dip_and_peak(name: str, x: ArrayLike) -> DipAndPeak:
    """The dip of a non-monotone activation and the peak of its slope, on grid ``x``.

    Args:
        name: a registered activation (:func:`gradcourse.registry.get`).
        x: an increasing grid ``(n,)``, fine enough for the digits reported.

    Returns:
        a :class:`DipAndPeak`.

    Raises:
        ValueError: for an unknown name or a grid that is not 1-D.
    """
    _checks.ndim("x", x, 1)
    entry = registry.get(name)
    x = jnp.asarray(x)
    y, d = np.asarray(entry.fn(x)), np.asarray(entry.grad(x))
    above_one = float(x[np.argmax(d > 1)])
    return DipAndPeak(
        float(x[y.argmin()]),
        float(y.min()),
        float(x[d.argmax()]),
        float(d.max()),
        above_one,
    )


def max_gap(
    f: Callable[[Array], Array], g: Callable[[Array], Array], x: ArrayLike
) -> tuple[float, float]:
    r"""Largest :math:`|f(x) - g(x)|` on the grid ``x``, and where it occurs.

    Args:
        f, g: elementwise functions.
        x: the grid ``(n,)``.

    Returns:
        ``(gap, at)``.
    """
    _checks.ndim("x", x, 1)
    x = jnp.asarray(x)
    err = np.asarray(jnp.abs(f(x) - g(x)))
    return float(err.max()), float(x[err.argmax()])
