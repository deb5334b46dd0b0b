r"""Experiments of the recurrent-networks chapter, composed from :mod:`gradcourse.recurrent`.

* :func:`doya_bistable_range` and :func:`doya_orbit`: Doya's (1993) single sigmoid unit
  :math:`h_t = \sigma(w h_{t-1} + b)`, bistable for a range of biases once :math:`w > 4`.
* :func:`single_unit_surface`: Pascanu, Mikolov & Bengio's (2013) error surface of one unit
  :math:`x_t = w \sigma(x_{t-1}) + b`, :math:`x_0 = 0.5`, loss :math:`(x_{50} - 0.7)^2`.
* :func:`bound_check`: measured :math:`\lVert \partial h_T / \partial h_0 \rVert` against
  Pascanu et al.'s bound :math:`(\gamma \lambda_1)^T`.
* :func:`recall_task`, :class:`SequenceClassifier` and :func:`fit_grid`: a long-memory
  task (recall the first symbol after a lag) trained for a grid of lags and seeds in one
  compiled program.
* :func:`clipping_comparison`: the recall task trained by plain SGD and by SGD with the
  gradient clipped to a global norm (Pascanu et al., 2013), several seeds each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from gradcourse import _checks, clipping, recurrent, train
from gradcourse.networks import Dense, Trace

from ._common import Schedule


def doya_bistable_range(w: float) -> tuple[float, float]:
    r"""Biases b for which :math:`h \mapsto \sigma(w h + b)` has two stable fixed points.

    A fixed point :math:`h^* = \sigma(w h^* + b)` appears or vanishes where the map is
    tangent to the diagonal, :math:`w\,\sigma'(w h + b) = w h (1 - h) = 1`, that is at
    :math:`h_\pm = \tfrac12 (1 \pm \sqrt{1 - 4/w})` and
    :math:`b_\pm = \operatorname{logit}(h_\pm) - w h_\pm`. Between them the unit is
    bistable; this needs :math:`w > 4 = 1/\max\sigma'` (Doya, 1993).

    Returns:
        ``(b_low, b_high)``.

    Raises:
        ValueError: if ``w`` is not a number > 4.

    Examples:
        >>> [round(b, 3) for b in doya_bistable_range(5.0)]
        [-2.656, -2.344]
    """
    w = _checks.in_range("w", w, 4.0, float("inf"), closed="neither")
    root = (1 - 4 / w) ** 0.5
    ends = []
    for h in ((1 + root) / 2, (1 - root) / 2):
        ends.append(float(jnp.log(h / (1 - h))) - w * h)
    return ends[0], ends[1]


def doya_orbit(w: float, bs: Array, h0: Array, steps: int) -> Array:
    """Iterate :math:`h_t = \\sigma(w h_{t-1} + b)` ``steps`` times for every pair of bias
    ``bs`` ``(k,)`` and start ``h0`` ``(j,)``; returns the final states ``(k, j)``."""
    _checks.positive_int("steps", steps)
    return _doya_orbit(w, jnp.asarray(bs), jnp.asarray(h0), steps)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _doya_orbit(w: float, bs: Array, h0: Array, steps: int) -> Array:
    def final(b: Array, h: Array) -> Array:
        return jax.lax.fori_loop(0, steps, lambda _, x: jax.nn.sigmoid(w * x + b), h)

    return jax.vmap(jax.vmap(final, (None, 0)), (0, None))(bs, h0)


def _single_unit_loss(
    w: Array, b: Array, steps: int, x0: float, target: float
) -> Array:
    x = jax.lax.fori_loop(0, steps, lambda _, x: w * jax.nn.sigmoid(x) + b, x0)
    return (x - target) ** 2


def single_unit_surface(
    ws: Array, bs: Array, steps: int = 50, x0: float = 0.5, target: float = 0.7
) -> tuple[Array, Array]:
    r"""Loss and gradient norm of Pascanu et al.'s one-unit network on a (w, b) grid.

    :math:`x_t = w\,\sigma(x_{t-1}) + b`, loss :math:`(x_{\text{steps}} - \text{target})^2`.

    Returns:
        ``(loss, grad_norm)``, each ``(len(ws), len(bs))``.
    """
    _checks.positive_int("steps", steps)
    ws, bs = jnp.asarray(ws, jnp.float32), jnp.asarray(bs, jnp.float32)
    return _single_unit_surface(ws, bs, steps, x0, target)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _single_unit_surface(
    ws: Array, bs: Array, steps: int, x0: float, target: float
) -> tuple[Array, Array]:
    def one(w: Array, b: Array) -> tuple[Array, Array]:
        val, g = jax.value_and_grad(_single_unit_loss, (0, 1))(w, b, steps, x0, target)
        return val, jnp.hypot(*g)

    return jax.vmap(jax.vmap(one, (None, 0)), (0, None))(ws, bs)


def bound_check(
    key: Array, cell: recurrent.Cell, gains: Array, steps: int, draws: int
) -> tuple[Array, Array]:
    r"""Measured :math:`\lVert \partial h_T / \partial h_0 \rVert_2` and the bound
    :math:`(\gamma \lambda_1)^T` for Elman cells with Gaussian ``W`` of each gain.

    :math:`\lambda_1` is the largest singular value of ``W`` and :math:`\gamma` the
    largest slope of the activation (1 for tanh, 1/4 for the sigmoid): each step
    Jacobian :math:`\operatorname{diag}(\phi'(z_k)) W` has norm at most
    :math:`\gamma \lambda_1` (Pascanu, Mikolov & Bengio, 2013). Inputs are Gaussian.

    Returns:
        ``(log10_measured, log10_bound)``, each ``(len(gains), draws)``.
    """
    _checks.positive_int("steps", steps)
    _checks.positive_int("draws", draws)
    if cell.activation not in ("tanh", "sigmoid"):
        raise ValueError(
            f"cell.activation must be 'tanh' or 'sigmoid', got {cell.activation!r}"
        )
    return _bound_check(key, cell, jnp.asarray(gains, jnp.float32), steps, draws)


@functools.partial(jax.jit, static_argnums=(1, 3, 4))
def _bound_check(
    key: Array, cell: recurrent.Cell, gains: Array, steps: int, draws: int
) -> tuple[Array, Array]:
    gamma = {"tanh": 1.0, "sigmoid": 0.25}[cell.activation]

    def one(k: Array, gain: Array) -> tuple[Array, Array]:
        kp, kx = jax.random.split(k)
        p = recurrent.init(kp, cell)
        p = p._replace(w=p.w * gain)
        xs = jax.random.normal(kx, (steps, cell.inputs))
        jac = recurrent.jacobians_to_end(recurrent.step_jacobians(cell, p, xs))[0]
        lam = recurrent.sigma_max(p.w)
        return jnp.log10(recurrent.sigma_max(jac)), steps * jnp.log10(gamma * lam)

    keys = jax.random.split(key, (len(gains), draws))
    return jax.vmap(jax.vmap(one, (0, None)), (0, 0))(keys, gains)


def bound_checks(
    key: Array,
    gains: dict[str, tuple[float, ...]],
    *,
    hidden: int = 32,
    inputs: int = 4,
    steps: int = 30,
    draws: int = 32,
) -> dict[str, tuple[Array, Array]]:
    """:func:`bound_check` for an Elman cell of each activation in ``gains`` (``"tanh"``
    or ``"sigmoid"``), every activation with the same ``key``.

    Returns:
        ``{activation: (log10_measured, log10_bound)}``, each ``(len(gains[a]), draws)``.

    Raises:
        ValueError: if an activation is neither ``"tanh"`` nor ``"sigmoid"``.
    """
    return {
        act: bound_check(
            key,
            recurrent.Cell("elman", hidden, inputs, act),
            jnp.array(g, jnp.float32),
            steps=steps,
            draws=draws,
        )
        for act, g in gains.items()
    }


class Sequences(NamedTuple):
    """A sequence data set: ``xs`` ``(n, steps * features)`` flattened, ``ys`` ``(n,)``."""

    xs: Array
    ys: Array


def recall_task(
    key: Array, n: int, lag: int, steps: int, symbols: int = 4, distractors: int = 4
) -> Sequences:
    r"""Recall the first symbol after ``lag`` steps of distractors.

    At time ``steps - lag - 1`` one of ``symbols`` cue symbols arrives (one-hot on the
    first ``symbols`` channels); every later step shows a random distractor (one-hot on
    the last ``distractors`` channels); earlier steps are blank. The label is the cue,
    read out after the last step. It has the structure of Hochreiter & Schmidhuber's
    (1997) experiment 2 and Bengio et al.'s (1994) latching problem; chance is
    ``1 / symbols``.

    Returns:
        :class:`Sequences` with ``xs`` ``(n, steps * (symbols + distractors))``.

    Raises:
        ValueError: unless ``1 <= lag < steps``.
    """
    _checks.positive_int("n", n)
    _checks.positive_int("steps", steps)
    if not 1 <= lag < steps:
        raise ValueError(f"lag must be in [1, steps - 1 = {steps - 1}], got {lag!r}")
    kc, kd = jax.random.split(key)
    cue = jax.random.randint(kc, (n,), 0, symbols)
    noise = jax.random.randint(kd, (n, steps), 0, distractors)
    t = jnp.arange(steps)
    start = steps - lag - 1
    x_cue = jax.nn.one_hot(cue, symbols)[:, None, :] * (t == start)[None, :, None]
    x_noise = jax.nn.one_hot(noise, distractors) * (t > start)[None, :, None]
    xs = jnp.concatenate([x_cue, x_noise], axis=-1)
    return Sequences(xs.reshape(n, -1), cue)


class Classifier(NamedTuple):
    """A recurrent cell followed by a linear read-out of the last hidden state."""

    cell: Any
    readout: Dense


@dataclass(frozen=True)
class SequenceClassifier:
    """The ``model`` for :func:`gradcourse.train.fit`: unroll ``cell`` over each flattened
    sequence and read out the last hidden state. The trace holds the hidden states (one
    "layer" per time step), so the training loop checks them for NaN/Inf."""

    cell: recurrent.Cell

    def __call__(self, params: Classifier, xs: Array) -> tuple[Array, Trace]:
        seqs = xs.reshape(xs.shape[0], -1, self.cell.inputs)
        states = jax.vmap(lambda s: recurrent.unroll(self.cell, params.cell, s))(seqs)
        hs = states[..., : self.cell.hidden]
        out = hs[:, -1] @ params.readout.w.T + params.readout.b
        return out, Trace(hs, hs)


def init_classifier(
    key: Array, cell: recurrent.Cell, classes: int, scheme: recurrent.RecurrentInit
) -> Classifier:
    """Cell parameters from ``scheme`` and a zero-initialised read-out."""
    return Classifier(
        recurrent.init(key, cell, scheme),
        Dense(jnp.zeros((classes, cell.hidden)), jnp.zeros(classes)),
    )


def _norms(grads: Classifier) -> Array:
    return jnp.stack(
        [clipping.global_norm(grads.cell), clipping.global_norm(grads.readout)]
    )


def fit_grid(
    keys: Array,
    params: Classifier,
    data: Sequences,
    *,
    model: SequenceClassifier,
    optimizer: optax.GradientTransformation,
    steps: int,
    batch_size: int = 32,
) -> tuple[Classifier, train.History]:
    """:func:`gradcourse.train.fit_seeds` for a grid of data sets: one compiled program.

    Run ``[l, s]`` trains ``params[l, s]`` on ``data[l]`` with key ``keys[l, s]`` by the
    same loop as ``fit_seeds`` (its compiled runner, vmapped once more over ``l``).
    Gradient norms are recorded for the cell and the read-out.

    Args:
        keys: ``(L, S)`` PRNG keys.
        params: leaves with leading axes ``(L, S)``.
        data: :class:`Sequences` with a leading axis ``L``.
        model, optimizer, steps, batch_size: as for ``fit_seeds``.

    Returns:
        ``(final_params, history)`` with leading axes ``(L, S)``; ``history.nonfinite``
        is None (check ``history.loss`` for NaN).
    """
    _checks.ndim("keys", keys, 2)
    _checks.positive_int("steps", steps)
    _checks.positive_int("batch_size", batch_size)
    batch = min(batch_size, data.xs.shape[1])
    runner = train.runner(
        model, optimizer, "cross_entropy", batch, steps, _norms, None, True
    )
    final, out = jax.jit(jax.vmap(runner))(params, data.xs, data.ys, keys)
    return final, train.History(*out, None)


def grid_accuracy(
    model: SequenceClassifier, params: Classifier, data: Sequences
) -> Array:
    """Accuracy of every run ``[l, s]`` of :func:`fit_grid` on ``data[l]``: ``(L, S)``."""

    def one(p: Classifier, xs: Array, ys: Array) -> Array:
        return jnp.mean(jnp.argmax(model(p, xs)[0], axis=-1) == ys)

    per_lag = jax.vmap(one, (0, None, None))
    return jax.jit(jax.vmap(per_lag))(params, data.xs, data.ys)


@dataclass(frozen=True)
class ClipStudy:
    """Settings of :func:`clipping_comparison`.

    Attributes:
        lag: the :func:`recall_task`'s cue, ``lag`` steps before the end.
        length: the :func:`recall_task`'s sequence length.
        n: training and test sequences each.
        hidden: units of the tanh Elman cell (4 cue and 4 distractor inputs).
        gain: scale of the Gaussian recurrent weights (:class:`gradcourse.recurrent.RecurrentInit`).
        schedule: SGD's steps, step size and minibatch size, and the runs per optimiser
            (``seeds``).
        clips: one set of runs per entry: None for plain SGD, else the global gradient
            norm that the gradient is cut back to before the SGD step.
    """

    lag: int = 5
    length: int = 30
    n: int = 512
    hidden: int = 32
    gain: float = 2.0
    schedule: Schedule = Schedule(steps=300, learning_rate=0.2, seeds=8, batch_size=32)
    clips: tuple[float | None, ...] = (None, 1.0)

    @property
    def names(self) -> tuple[str, ...]:
        """``"SGD"`` or ``"SGD, clipped at c"`` for each of ``clips``."""
        return tuple(
            "SGD" if c is None else f"SGD, clipped at {c:g}" for c in self.clips
        )


class ClipRun(NamedTuple):
    """One optimiser's runs: ``final`` parameters and ``history`` (leading seed axis;
    ``history.grad_norms[..., 0]`` is the cell's unclipped gradient norm) and the test
    ``accuracy`` per seed."""

    final: Classifier
    history: train.History
    accuracy: Array


@functools.partial(jax.jit, static_argnums=0)
def _accuracy(model: SequenceClassifier, params: Classifier, data: Sequences) -> Array:
    def one(p: Classifier) -> Array:
        return jnp.mean(jnp.argmax(model(p, data.xs)[0], -1) == data.ys)

    return jax.vmap(one)(params)


def clipping_comparison(
    k_data: Array, k_fit: Array, study: ClipStudy = ClipStudy()
) -> dict[str, ClipRun]:
    r"""Train a tanh Elman network on :func:`recall_task` with plain SGD and with SGD
    after clipping the gradient to global norm :math:`c` for each ``c`` of
    ``study.clips`` (Pascanu, Mikolov & Bengio, 2013:
    :math:`g \leftarrow g \min(1, c / \lVert g\rVert)`).

    Training sequences come from ``k_data``, test sequences from ``fold_in(k_data, 1)``;
    both optimisers start every seed ``s`` from the same weights (key ``split(k_fit,
    seeds)[s]``, which also draws its minibatches). Recurrent weights are Gaussian with
    gain ``study.gain``, so the gradient explodes in some steps.

    Returns:
        ``{name: ClipRun}`` for ``study.names``, in the order of ``study.clips``.

    Raises:
        ValueError: if the schedule has no minibatch size or a clip is not > 0.
    """
    _checks.positive_int("schedule.batch_size", study.schedule.batch_size)
    for c in study.clips:
        if c is not None:
            _checks.in_range("clips", c, 0.0, float("inf"), closed="neither")
    data = recall_task(k_data, study.n, lag=study.lag, steps=study.length)
    test = recall_task(jax.random.fold_in(k_data, 1), study.n, study.lag, study.length)
    rnn = recurrent.Cell("elman", hidden=study.hidden, inputs=8)
    seeds = jax.random.split(k_fit, study.schedule.seeds)
    scheme = recurrent.RecurrentInit(gain=study.gain)
    init = jax.vmap(lambda k: init_classifier(k, rnn, 4, scheme))(seeds)
    model = SequenceClassifier(rnn)
    sgd = optax.sgd(study.schedule.learning_rate)
    optimizers = [
        sgd if c is None else optax.chain(optax.clip_by_global_norm(c), sgd)
        for c in study.clips
    ]
    runs = {}
    for name, opt in zip(study.names, optimizers, strict=True):
        final, history = train.fit_seeds(
            seeds,
            init,
            *data,
            model=model,
            optimizer=opt,
            steps=study.schedule.steps,
            batch_size=study.schedule.batch_size,
            layer_norms=_norms,
        )
        runs[name] = ClipRun(final, history, _accuracy(model, final, test))
    return runs
