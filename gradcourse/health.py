r"""Gradient health: the monitor that runs inside a jitted optax training step, with the
one definition of a dead unit and of a saturated unit.

At every step :func:`step_health` turns the parameters :math:`W_l`, the gradients
:math:`G_l = \partial L/\partial W_l`, the optimizer's updates :math:`U_l` and the forward
:class:`~gradcourse.networks.Trace` into one :class:`Health` record:

.. math::

    \lVert G_l\rVert_F, \qquad
    \rho^{\text{grad}}_l = \frac{\lVert G_l\rVert_F}{\lVert W_l\rVert_F}, \qquad
    \rho^{\text{upd}}_l = \frac{\lVert U_l\rVert_F}{\lVert W_l\rVert_F},

the fraction of saturated and of dead units in each hidden layer, and which layers held a
non-finite value. All norms are over the weight matrix of a layer (biases start at zero,
where a ratio to the parameter norm is undefined); for tensors of mean about zero the norm
ratio is the ratio of root-mean-squares, the quantity behind the customary
:math:`\rho^{\text{upd}} \approx 10^{-3}` rule of thumb (Karpathy, 2022).

The functions are pure and shape-static, so a :class:`Recorder` can be handed to
:func:`gradcourse.train.fit` as ``record=``; :mod:`gradcourse.diagnosis` reads the
stacked records afterwards (where NaN/Inf began, and what went wrong).
:func:`monitored` wraps any optax transformation and keeps the optimizer-side statistics
in its state, as ``optax.snapshot`` does.

References:
    Glorot & Bengio, `Understanding the difficulty of training deep feedforward neural
    networks <https://proceedings.mlr.press/v9/glorot10a.html>`_, 2010;
    Karpathy, `Building makemore Part 3: Activations & Gradients, BatchNorm
    <https://www.youtube.com/watch?v=P6sfmUTpUmc>`_, 2022.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.networks import MLP, Dense, Trace
from gradcourse.probes import layer_grad_norms

__all__ = [
    "ASYMPTOTES",
    "Health",
    "MonitorState",
    "Recorder",
    "StepStats",
    "dead_fraction",
    "dead_units",
    "layer_finite",
    "monitored",
    "recorder",
    "saturated_fraction",
    "step_health",
    "step_stats",
]

#: Asymptotes of the saturating activations. A unit is saturated when its output lies
#: within ``tol`` of one of them.
ASYMPTOTES: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
}


def _per_layer(tree: MLP, reduce: Callable[[Array, tuple[int, ...]], Array]) -> Array:
    """``reduce`` over each layer's weight: layers 1..depth, then the read-out."""
    if not isinstance(tree, MLP):
        raise ValueError(f"tree must be a gradcourse.networks.MLP, got {type(tree)}")
    first = reduce(tree.first.w, (0, 1))[None]
    hidden = reduce(tree.hidden.w, (1, 2))
    readout = reduce(tree.readout.w, (0, 1))[None]
    return jnp.concatenate([first, hidden, readout])


def layer_finite(tree: MLP) -> Array:
    """True for each layer whose weight *and* bias are all finite.

    Unlike a non-finite norm, this also catches a NaN in a bias and cannot be fooled by a
    finite gradient whose sum of squares overflows float32.

    Args:
        tree: an :class:`~gradcourse.networks.MLP`-shaped pytree.

    Returns:
        ``(depth + 1,)`` booleans: layers 1..depth, then the read-out.

    Raises:
        ValueError: if ``tree`` is not an ``MLP``.
    """

    # NaN/Inf times 0 is NaN and finite times 0 is 0, so a sum of ``x * 0`` is finite
    # exactly when every entry is (and, unlike a sum of squares, it cannot overflow).
    # One float reduction per layer is also cheaper to compile than isfinite + all.
    def poison(x: Array, axes: tuple[int, ...]) -> Array:
        return jnp.sum(x * 0, axis=axes)

    w_poison = _per_layer(tree, poison)  # checks that tree is an MLP
    b_tree = MLP(*(Dense(d.b[..., None], d.b) for d in tree))  # bias as a 1-column "w"
    return jnp.isfinite(w_poison + _per_layer(b_tree, poison))


def saturated_fraction(post: ArrayLike, activation: str, tol: float = 0.01) -> Array:
    r"""Fraction of (example, unit) outputs within ``tol`` of an asymptote, per layer.

    For the sigmoid a unit is saturated when :math:`h < \text{tol}` or
    :math:`h > 1 - \text{tol}`, which is :math:`\sigma'(z) < \text{tol}(1-\text{tol})`
    (0.0099, 4% of the maximal slope 1/4 at ``tol = 0.01``); for tanh when
    :math:`|h| > 1 - \text{tol}`, which is :math:`\tanh'(z) < 2\,\text{tol} -
    \text{tol}^2` (0.0199, 2% of the maximal slope 1). A saturated unit passes back less
    than that fraction of the gradient it receives.

    Args:
        post: activations ``(batch, depth, width)`` (``Trace.post``).
        activation: ``"sigmoid"`` or ``"tanh"`` (a key of :data:`ASYMPTOTES`).
        tol: distance to an asymptote, in (0, 0.5).

    Returns:
        ``(depth,)`` fractions in [0, 1].

    Raises:
        ValueError: for an unknown ``activation``, a ``tol`` outside (0, 0.5) or
            ``post`` that is not 3-D.

    Examples:
        >>> h = jnp.array([[[0.995, 0.5, -0.999, 0.0]]])
        >>> saturated_fraction(h, "tanh").tolist()
        [0.5]
    """
    _checks.one_of("activation", activation, tuple(ASYMPTOTES))
    _checks.in_range("tol", tol, 0.0, 0.5, closed="neither")
    post = jnp.asarray(post)
    _checks.ndim("post", post, 3)
    low, high = ASYMPTOTES[activation]
    sat = (post < low + tol) | (post > high - tol)
    return jnp.mean(sat, axis=(0, 2))


def dead_units(values: ArrayLike, threshold: float = 0.0) -> Array:
    r"""The one definition of a dead unit: its value is :math:`\le` ``threshold`` for
    every example of the batch.

    With pre-activations and ``threshold = 0`` this is the ReLU unit that outputs 0 and
    passes back :math:`\phi'(z) = 0` for every input (a leaky unit in the same state
    passes back only its slope); with :math:`|h|` and ``threshold = atol`` it is the
    output-side test of :func:`dead_fraction`.

    Args:
        values: ``(batch, ..., width)``, e.g. ``Trace.pre`` of shape
            ``(batch, depth, width)``.
        threshold: the largest value still counted as off.

    Returns:
        Booleans of ``values.shape[1:]``, True for a dead unit.

    Raises:
        ValueError: if ``values`` has fewer than 2 dimensions.

    Examples:
        >>> dead_units(jnp.array([[[-1.0, 2.0]], [[0.0, -3.0]]])).tolist()
        [[True, False]]
    """
    values = jnp.asarray(values)
    if values.ndim < 2:
        raise ValueError(
            f"values must be (batch, ..., width), got shape {values.shape}"
        )
    return jnp.all(values <= threshold, axis=0)


def dead_fraction(post: ArrayLike, atol: float = 0.0) -> Array:
    r"""Fraction of units that output (at most ``atol`` in size) zero for every example.

    A ReLU unit with :math:`z_{l,j}(x) \le 0` for every input in the batch outputs 0 and
    passes back :math:`\phi'(z) = 0`: neither it nor its incoming weights learn from this
    batch. Measured on a minibatch, "dead" means dead on that batch; a unit dead on a batch
    of 128 digits is almost always dead on the whole training set.

    Args:
        post: activations ``(batch, depth, width)``.
        atol: largest ``|h|`` still counted as zero, >= 0.

    Returns:
        ``(depth,)`` fractions in [0, 1].

    Raises:
        ValueError: if ``post`` is not 3-D or ``atol`` is negative.

    Examples:
        >>> h = jnp.array([[[0.0, 1.0]], [[0.0, 0.0]]])  # 2 examples, 1 layer, 2 units
        >>> dead_fraction(h).tolist()
        [0.5]
    """
    _checks.non_negative("atol", atol)
    post = jnp.asarray(post)
    _checks.ndim("post", post, 3)
    return jnp.mean(dead_units(jnp.abs(post), atol), axis=-1)


class StepStats(NamedTuple):
    """What the optimizer side of a step says about each layer, ``(depth + 1,)`` each.

    Attributes:
        grad_norm: :math:`\\lVert G_l\\rVert_F`.
        param_norm: :math:`\\lVert W_l\\rVert_F` before the update.
        update_norm: :math:`\\lVert U_l\\rVert_F`.
        grad_finite: True where the layer's gradient (weight and bias) is finite.
        update_finite: True where the layer's update is finite.
    """

    grad_norm: Array
    param_norm: Array
    update_norm: Array
    grad_finite: Array
    update_finite: Array


def step_stats(params: MLP, grads: MLP, updates: MLP) -> StepStats:
    """The :class:`StepStats` of one optimizer step.

    Raises:
        ValueError: if an argument is not an ``MLP``.
    """
    for name, tree in [("params", params), ("grads", grads), ("updates", updates)]:
        if not isinstance(tree, MLP):
            raise ValueError(
                f"{name} must be a gradcourse.networks.MLP, got {type(tree)}"
            )
    return StepStats(
        layer_grad_norms(grads),
        layer_grad_norms(params),
        layer_grad_norms(updates),
        layer_finite(grads),
        layer_finite(updates),
    )


class Health(NamedTuple):
    """One step of the monitor (a leading ``steps`` axis when stacked by ``fit``).

    Attributes:
        stats: the :class:`StepStats`.
        grad_ratio: ``(depth + 1,)`` :math:`\\lVert G_l\\rVert/\\lVert W_l\\rVert`.
        update_ratio: ``(depth + 1,)`` :math:`\\lVert U_l\\rVert/\\lVert W_l\\rVert`.
        saturated: ``(depth,)`` :func:`saturated_fraction`, NaN if no asymptotes given.
        dead: ``(depth,)`` :func:`dead_fraction`.
        activation_mean: ``(depth,)`` mean of ``h`` over the batch and the units.
        activation_std: ``(depth,)`` standard deviation of ``h`` over the same.
        activation_finite: ``(depth,)`` True where every ``z`` and ``h`` of the layer is
            finite.
    """

    stats: StepStats
    grad_ratio: Array
    update_ratio: Array
    saturated: Array
    dead: Array
    activation_mean: Array
    activation_std: Array
    activation_finite: Array


def step_health(
    params: MLP,
    grads: MLP,
    updates: MLP,
    trace: Trace,
    *,
    saturation: str | None = None,
    tol: float = 0.01,
    dead_atol: float = 0.0,
) -> Health:
    """Gradient health of one training step; pure, so it runs under ``jit`` and ``scan``.

    Args:
        params: parameters before the update (:class:`~gradcourse.networks.MLP`).
        grads: their gradient, same structure.
        updates: the optimizer's updates, same structure.
        trace: the forward :class:`~gradcourse.networks.Trace`, fields
            ``(batch, depth, width)``.
        saturation: ``"sigmoid"`` or ``"tanh"`` to measure saturation against that
            function's asymptotes; None (for ReLU and other activations without two
            asymptotes) records NaN.
        tol: saturation distance, see :func:`saturated_fraction`.
        dead_atol: see :func:`dead_fraction`.

    Returns:
        A :class:`Health`.

    Raises:
        ValueError: for a bad ``saturation``, ``tol``, ``dead_atol`` or tree type.
    """
    if saturation is not None:
        _checks.one_of("saturation", saturation, tuple(ASYMPTOTES))
    stats = step_stats(params, grads, updates)
    post, pre = jnp.asarray(trace.post), jnp.asarray(trace.pre)
    _checks.ndim("trace.post", post, 3)
    if saturation is None:
        sat = jnp.full(post.shape[1], jnp.nan, post.dtype)
    else:
        sat = saturated_fraction(post, saturation, tol)
    finite = jnp.isfinite(jnp.sum(post * 0 + pre * 0, axis=(0, 2)))  # see layer_finite
    return Health(
        stats,
        stats.grad_norm / stats.param_norm,
        stats.update_norm / stats.param_norm,
        sat,
        dead_fraction(post, dead_atol),
        jnp.mean(post, axis=(0, 2)),
        jnp.std(post, axis=(0, 2)),
        finite,
    )


@dataclasses.dataclass(frozen=True)
class Recorder:
    """A ``record(params, grads, updates, trace)`` hook for :func:`gradcourse.train.fit`:
    :func:`step_health` with these settings. A frozen dataclass, so it is compared and
    hashed by value and equal settings reuse one compiled training loop.

    Attributes:
        saturation: ``"sigmoid"``, ``"tanh"`` or None, as in :func:`step_health`.
        tol: saturation distance in (0, 0.5).
        dead_atol: largest ``|h|`` counted as zero, >= 0.
    """

    saturation: str | None = None
    tol: float = 0.01
    dead_atol: float = 0.0

    def __post_init__(self) -> None:
        if self.saturation is not None:
            _checks.one_of("saturation", self.saturation, tuple(ASYMPTOTES))
        _checks.in_range("tol", self.tol, 0.0, 0.5, closed="neither")
        _checks.non_negative("dead_atol", self.dead_atol)

    def __call__(self, params: MLP, grads: MLP, updates: MLP, trace: Trace) -> Health:
        """:func:`step_health` of one step with the recorder's settings."""
        return step_health(params, grads, updates, trace, saturation=self.saturation,
                           tol=self.tol, dead_atol=self.dead_atol)  # fmt: skip


def recorder(
    saturation: str | None = None, *, tol: float = 0.01, dead_atol: float = 0.0
) -> Recorder:
    """The :class:`Recorder` with these settings (``fit(..., record=recorder("tanh"))``).

    Args:
        saturation: ``"sigmoid"``, ``"tanh"`` or None, as in :func:`step_health`.
        tol: saturation distance in (0, 0.5).
        dead_atol: largest ``|h|`` counted as zero, >= 0.

    Returns:
        A :class:`Recorder`; ``fit`` stacks its :class:`Health` records over steps into
        ``History.records``. Equal settings give equal recorders.

    Raises:
        ValueError: for a bad argument (checked now, not at the first step).

    Examples:
        >>> record = recorder("tanh")
        >>> record.saturation, record == recorder("tanh")
        ('tanh', True)
    """
    return Recorder(saturation, tol, dead_atol)


class MonitorState(NamedTuple):
    """State of :func:`monitored`: the wrapped transformation's state and the last
    step's :class:`StepStats` (zeros before the first update)."""

    inner_state: optax.OptState
    stats: StepStats


def monitored(inner: optax.GradientTransformation) -> optax.GradientTransformation:
    """Wrap an optax transformation so that its state carries each step's
    :class:`StepStats`, in the manner of ``optax.snapshot``.

    Use it in a hand-written training loop to read per-layer gradient, parameter and
    update norms (and finiteness) out of the optimizer state without changing the loop:
    ``state.stats`` after ``updates, state = opt.update(grads, state, params)``.

    Args:
        inner: the optimizer to wrap, e.g. ``optax.adam(1e-3)``; its parameters must be
            an :class:`~gradcourse.networks.MLP`.

    Returns:
        A ``GradientTransformation`` with the same updates as ``inner``; ``update``
        requires ``params``.

    Raises:
        ValueError: if ``inner`` is not a ``GradientTransformation``, or ``update`` is
            called without ``params``.
    """
    if not isinstance(inner, optax.GradientTransformation):
        raise ValueError(
            f"inner must be an optax.GradientTransformation, got {type(inner).__name__}"
        )

    def init(params: MLP) -> MonitorState:
        zeros = jnp.zeros_like(layer_grad_norms(params))
        ok = jnp.ones(zeros.shape, bool)
        return MonitorState(inner.init(params), StepStats(zeros, zeros, zeros, ok, ok))

    def update(
        grads: MLP, state: MonitorState, params: MLP | None = None
    ) -> tuple[MLP, MonitorState]:
        if params is None:
            raise ValueError("params must be given to a monitored optimizer's update")
        updates, inner_state = inner.update(grads, state.inner_state, params)
        return updates, MonitorState(inner_state, step_stats(params, grads, updates))

    return optax.GradientTransformation(init, update)
