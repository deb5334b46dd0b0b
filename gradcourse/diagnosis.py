r"""Reading a finished run: where NaN/Inf began, and what went wrong.

:func:`gradcourse.train.fit` records at every step the loss, each layer's gradient norm
and whether each layer's activations were finite; with
``record=gradcourse.health.recorder(...)`` also a :class:`~gradcourse.health.Health`
record. This module reads those stacked records on the host:

* :func:`find_nonfinite` and :func:`first_nonfinite` locate the first non-finite value
  (one private locator, ``_locate``, in the order a step computes: forward pass, loss,
  backward pass, update) and report an :class:`Origin`;
* :func:`diagnose` classifies a run as non-finite, exploding, vanishing, dead, saturated
  or healthy, by rules of thumb (:class:`Thresholds`).

The thresholds are the rules of thumb of Glorot & Bengio (2010) and Karpathy (2022),
cited with links in :mod:`gradcourse.health`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradcourse import _checks
from gradcourse.health import Health

__all__ = [
    "Diagnosis",
    "Origin",
    "Thresholds",
    "diagnose",
    "find_nonfinite",
    "first_nonfinite",
]


class Origin(NamedTuple):
    """Where NaN/Inf first appeared in a training run.

    Attributes:
        step: 0-based training step.
        layer: 1-based layer (the read-out is ``depth + 1``); 0 for the loss.
        where: ``"activation"`` (forward pass), ``"loss"``, ``"gradient"`` (backward
            pass) or ``"update"`` (optimizer).
    """

    step: int
    layer: int
    where: str


def _locate(checks: Sequence[tuple[str, np.ndarray, str]]) -> Origin | None:
    """The one NaN/Inf locator: ``checks`` are ``(where, ok, end)`` in the order a step
    computes them, ``ok`` a ``(steps, layers)`` boolean array, ``end`` ``"low"`` (the
    lowest bad layer is the origin: values flow upward) or ``"high"`` (the highest:
    gradients flow downward). At the first step with any bad value, the first check
    with a bad layer names the origin; ``"loss"`` is layer 0, other layers are 1-based.
    """
    bad_step = np.stack([~ok.all(axis=1) for _, ok, _ in checks]).any(axis=0)
    if not bad_step.any():
        return None
    step = int(np.argmax(bad_step))
    for where, ok, end in checks:
        bad = np.nonzero(~ok[step])[0]
        if bad.size:
            if where == "loss":
                return Origin(step, 0, where)
            return Origin(
                step, int(bad.min() if end == "low" else bad.max()) + 1, where
            )
    raise AssertionError("unreachable")  # pragma: no cover


def find_nonfinite(history: Any) -> Origin | None:
    """Locate the first step and layer with a non-finite value in what
    :func:`gradcourse.train.fit` always records.

    At the first bad step, a non-finite forward activation is blamed on the lowest such
    layer (the forward pass runs input to output); otherwise a non-finite gradient is
    blamed on the highest such layer (the backward pass runs output to input, so every
    layer below the origin inherits it); otherwise the loss alone. ``fit`` records a
    layer's gradient norm as NaN when any entry of its weight *or bias* gradient is
    non-finite, so a NaN confined to one bias is found too. With :class:`~gradcourse.health.Health`
    records, :func:`first_nonfinite` also sees the updates.

    Args:
        history: a :class:`gradcourse.train.History` of one run.

    Returns:
        An :class:`Origin`, or None if every value was finite.

    Raises:
        ValueError: for a :func:`gradcourse.train.fit_seeds` history (use one seed's
            slice of it).
    """
    loss = np.asarray(history.loss)
    if loss.ndim != 1:
        raise ValueError(
            f"history must be one run's, with loss of shape (steps,), got {loss.shape}"
        )
    return _locate(
        [
            ("activation", np.asarray(history.finite_activations), "low"),
            ("gradient", np.isfinite(np.asarray(history.grad_norms)), "high"),
            ("loss", np.isfinite(loss)[:, None], "low"),
        ]
    )


def first_nonfinite(history: Any) -> Origin | None:
    """Scan a :class:`gradcourse.train.History` with :class:`~gradcourse.health.Health`
    records for NaN/Inf.

    "The layer where it began" follows the order in which a step computes: the forward
    pass (input to output), the loss, the backward pass (output to input), the update.
    At the first step with any non-finite value, the origin is

    1. the lowest layer with a non-finite ``z`` or ``h`` (every layer above inherits it);
    2. else the loss, if it is non-finite (layer 0);
    3. else the highest layer with a non-finite gradient (every layer below inherits it);
    4. else the lowest layer with a non-finite update (an optimizer fault, or a gradient
       so large that the update overflowed); the parameters become non-finite at the
       next step.

    Args:
        history: has ``loss`` ``(steps,)`` and ``records`` a stacked
            :class:`~gradcourse.health.Health` (``fit(..., record=recorder(...))``).

    Returns:
        An :class:`Origin`, or None if every value was finite.

    Raises:
        ValueError: if ``history.records`` is not a :class:`~gradcourse.health.Health`.
    """
    rec = getattr(history, "records", None)
    if not isinstance(rec, Health):
        raise ValueError(
            "history.records must be a Health (train with record=gradcourse.health.recorder()), "
            f"got {type(rec).__name__}"
        )
    return _locate(
        [
            ("activation", np.asarray(rec.activation_finite), "low"),
            ("loss", np.isfinite(np.asarray(history.loss))[:, None], "low"),
            ("gradient", np.asarray(rec.stats.grad_finite), "high"),
            ("update", np.asarray(rec.stats.update_finite), "low"),
        ]
    )


class Thresholds(NamedTuple):
    """The lines :func:`diagnose` draws; the defaults are rules of thumb, not laws.

    Attributes:
        vanishing: bottom-to-top gradient ratio below this is "vanishing" (the first
            layer gets less than 1% of the top hidden layer's gradient).
        exploding: bottom-to-top gradient ratio above this is "exploding".
        frozen: a median update-to-parameter ratio of the first layer below this (100x
            under the customary 1e-3) is "vanishing" too: the input layer does not move.
        unstable: a median (over steps) of the largest layer's update-to-parameter
            ratio above this is "exploding": a typical step rewrites a tenth of a layer.
        saturated: a mean saturated fraction of a layer above this is "saturated".
        dead: a dead fraction of a layer at the end above this is "dead".
    """

    vanishing: float = 1e-2
    exploding: float = 1e2
    frozen: float = 1e-5
    unstable: float = 1e-1
    saturated: float = 0.5
    dead: float = 0.5


class Diagnosis(NamedTuple):
    """Result of :func:`diagnose`.

    Attributes:
        label: ``"non-finite"``, ``"exploding"``, ``"vanishing"``, ``"dead"``,
            ``"saturated"`` or ``"healthy"``: the first rule that fires, in the order
            non-finite; bottom-to-top gradient ratio (exploding, vanishing); frozen
            first layer (vanishing); dead; saturated; oversized updates (exploding).
            Dead and saturated units come before oversized updates because they are
            the specific state a too-large step leaves behind.
        reasons: one sentence per rule that fired (several may fire).
        bottom_top: median over steps of :math:`\\lVert G_1\\rVert/\\lVert G_L\\rVert`
            (first over last hidden layer).
        first_update_ratio: median over steps of the first layer's update ratio.
        max_update_ratio: median over steps of the largest layer update ratio.
        saturated: largest per-layer mean saturated fraction (NaN if not measured).
        dead: largest per-layer dead fraction at the last step.
        origin: :func:`first_nonfinite`, or None.
    """

    label: str
    reasons: tuple[str, ...]
    bottom_top: float
    first_update_ratio: float
    max_update_ratio: float
    saturated: float
    dead: float
    origin: Origin | None


def diagnose(history: Any, thresholds: Thresholds | None = None) -> Diagnosis:
    """Classify a training run from its :class:`~gradcourse.health.Health` records.

    The rules (thresholds in :class:`Thresholds`) are checked in the order of
    ``Diagnosis.label``. Steps at or after the first non-finite value are ignored
    for the numeric rules.

    Args:
        history: a :class:`gradcourse.train.History` recorded with
            :func:`gradcourse.health.recorder`.
        thresholds: the decision lines; default :class:`Thresholds()`.

    Returns:
        A :class:`Diagnosis`.

    Raises:
        ValueError: if the records are not :class:`~gradcourse.health.Health`, there
            are fewer than 2 hidden layers, or ``thresholds`` is not a
            :class:`Thresholds` of positive numbers.
    """
    t = Thresholds() if thresholds is None else thresholds
    if not isinstance(t, Thresholds):
        raise ValueError(f"thresholds must be a Thresholds, got {type(t).__name__}")
    for name, value in t._asdict().items():
        _checks.positive(f"thresholds.{name}", value)
    origin = first_nonfinite(history)
    rec = history.records
    end = origin.step if origin is not None else np.asarray(history.loss).shape[0]
    g = np.asarray(rec.stats.grad_norm)[: max(end, 1)]
    if g.shape[1] < 3:
        raise ValueError(f"need >= 2 hidden layers to compare, got {g.shape[1] - 1}")
    with np.errstate(all="ignore"):
        bottom_top = float(np.median(g[:, 0] / g[:, -2]))
        upd = np.asarray(rec.update_ratio)[: max(end, 1)]
        first_upd = float(np.median(upd[:, 0]))
        max_upd = float(np.median(np.max(upd, axis=1)))
        sat = np.asarray(rec.saturated)[: max(end, 1)]
        sat_max = float(np.nanmax(sat.mean(axis=0))) if np.isfinite(sat).any() \
            else float("nan")  # fmt: skip
        dead = float(np.asarray(rec.dead)[max(end, 1) - 1].max())
    rules = [
        ("non-finite", origin is not None,
         f"non-finite {origin.where if origin else ''} at step "
         f"{origin.step if origin else -1}, layer {origin.layer if origin else -1}"),
        ("exploding", bottom_top > t.exploding,
         f"first layer gets {bottom_top:.3g}x the top layer's gradient"),
        ("vanishing", bottom_top < t.vanishing,
         f"first layer gets {bottom_top:.3g}x the top layer's gradient"),
        ("vanishing", first_upd < t.frozen,
         f"first layer's update ratio is {first_upd:.3g}"),
        ("dead", dead > t.dead, f"{dead:.0%} of a layer's units are dead"),
        ("saturated", sat_max > t.saturated, f"{sat_max:.0%} of a layer is saturated"),
        ("exploding", max_upd > t.unstable,
         f"a typical step moves a layer by {max_upd:.3g} of its norm"),
    ]  # fmt: skip
    fired = [(label, why) for label, ok, why in rules if ok]
    label = fired[0][0] if fired else "healthy"
    return Diagnosis(label, tuple(w for _, w in fired), bottom_top, first_upd, max_upd,
                     sat_max, dead, origin)  # fmt: skip
