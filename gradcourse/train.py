r"""A small optax training loop that records gradient health and stops on NaN/Inf.

:func:`fit` runs ``steps`` minibatch steps inside one :func:`jax.lax.scan` (one compile per
call), recording at every step the loss and the norm of each layer's gradient, plus
whatever a ``record`` hook returns (:mod:`gradcourse.health` supplies such hooks). If a
loss, an activation or a gradient becomes non-finite, :func:`fit` does not hand back
garbage to plot: it raises :class:`NonFiniteError` naming the step and the layer where the
first non-finite value appeared (:func:`gradcourse.diagnosis.find_nonfinite`).

The update is the usual optax one,

.. math::

    g_t = \nabla_\theta L(\theta_t; B_t), \qquad
    (u_t, s_{t+1}) = \mathrm{opt.update}(g_t, s_t, \theta_t), \qquad
    \theta_{t+1} = \theta_t + u_t,

with minibatches :math:`B_t` cut from shuffled epochs of the data, drawn from an explicit
key (:func:`gradcourse.data.minibatches`).

Configuration is a value: the loop's settings form a frozen :class:`Loop`, the static
argument of one module-level ``jax.jit``, so equal settings reuse one compiled program.
Settings that differ between the runs of :func:`fit_seeds` travel beside the parameters:
``per_run`` (handed to ``model`` and ``record``) and ``hyperparams`` (written into the
state of an ``optax.inject_hyperparams`` optimizer), never inside the parameter pytree.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.data import minibatches
from gradcourse.diagnosis import Origin, find_nonfinite
from gradcourse.networks import (
    LOSSES,
    Dense,
    Trace,
)
from gradcourse.probes import layer_grad_norms

__all__ = [
    "History",
    "Loop",
    "NonFiniteError",
    "accuracy",
    "fit",
    "fit_seeds",
    "runner",
]

Model = Callable[..., tuple[Array, Trace]]


class NonFiniteError(FloatingPointError):
    """Raised by :func:`fit` and :func:`fit_seeds` when training produced NaN/Inf.

    ``.origin`` is a :class:`gradcourse.diagnosis.Origin`, ``.history`` the (partly non-finite)
    :class:`History`, and ``.seed`` the index of the first failing run in
    :func:`fit_seeds` (None for :func:`fit`).
    """

    def __init__(
        self, origin: Origin, history: History, seed: int | None = None
    ) -> None:
        self.origin, self.history, self.seed = origin, history, seed
        run = "" if seed is None else f"in seed {seed}, "
        super().__init__(
            f"non-finite {origin.where} first appeared {run}at step {origin.step}, "
            f"layer {origin.layer}; lower the learning rate, clip gradients, or check "
            f"the initialisation scale"
        )


class History(NamedTuple):
    """What :func:`fit` recorded, one row per step.

    Attributes:
        loss: ``(steps,)`` minibatch loss before each update.
        grad_norms: ``(steps, layers)`` per-layer gradient norms (``layer_norms(grads)``,
            by default :func:`gradcourse.probes.layer_grad_norms`);
            NaN for a layer whose weight or bias gradient held a NaN or Inf.
        finite_activations: ``(steps, depth)`` True where a layer's activations were finite.
        records: the ``record`` hook's outputs stacked over steps, or None.
        nonfinite: where NaN/Inf began, or None for a clean run (from :func:`fit_seeds`,
            a tuple with one entry per seed).

    From :func:`fit_seeds` every array has a leading seed axis.
    """

    loss: Array
    grad_norms: Array
    finite_activations: Array
    records: Any
    nonfinite: Origin | None | tuple[Origin | None, ...]


def _fold_biases(grads: Any) -> Any:
    """``grads`` with each :class:`~gradcourse.networks.Dense` bias folded into its weight
    as ``w + sum(b * 0)``: the weight is unchanged when the bias is finite and all NaN
    when it is not, so per-layer weight norms also report a non-finite bias."""

    def fold(node: Any) -> Any:
        if not isinstance(node, Dense):
            return node
        return Dense(node.w + jnp.sum(node.b * 0, axis=-1)[..., None, None], node.b)

    return jax.tree.map(fold, grads, is_leaf=lambda n: isinstance(n, Dense))


@dataclasses.dataclass(frozen=True)
class Loop:
    """The settings of one compiled training loop, the static argument of its ``jit``:
    ``model``, ``optimizer``, ``kind``, ``layer_norms`` and ``record`` as in :func:`fit`,
    ``batch`` the examples per step (at most the number of examples), ``steps`` the
    number of updates. With ``fit_seeds(..., per_run=...)`` the model and the record
    hook take ``per_run`` as one more argument.
    """

    model: Callable[..., tuple[Array, Trace]]
    optimizer: optax.GradientTransformation
    kind: str
    batch: int
    steps: int
    layer_norms: Callable[[Any], Array] = layer_grad_norms
    record: Callable[..., Any] | None = None


def fit(
    key: Array,
    params: Any,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    model: Model,
    optimizer: optax.GradientTransformation,
    steps: int,
    batch_size: int = 128,
    kind: str = "cross_entropy",
    layer_norms: Callable[[Any], Array] = layer_grad_norms,
    record: Callable[[Any, Any, Any, Trace], Any] | None = None,
    on_nonfinite: str = "raise",
) -> tuple[Any, History]:
    """Train with minibatch ``optimizer`` steps and record gradient health.

    Args:
        key: PRNG key for the minibatch draws.
        params: initial parameters (any pytree ``model`` accepts).
        xs: training inputs ``(n, features)``.
        ys: integer labels ``(n,)`` (cross-entropy) or targets ``(n, out)`` (mse).
        model: ``model(params, xs) -> (outputs, Trace)``, e.g.
            :func:`gradcourse.networks.mlp_model`.
        optimizer: an optax ``GradientTransformation``.
        steps: number of updates, >= 1.
        batch_size: examples per step, >= 1 (capped at ``n``: full batch).
        kind: loss name, one of :data:`gradcourse.networks.LOSSES`.
        layer_norms: maps the gradient pytree to a vector of per-layer norms; default
            :func:`gradcourse.probes.layer_grad_norms`.
        record: optional ``record(params, grads, updates, trace)`` evaluated at every step
            inside the jitted loop (e.g. :func:`gradcourse.health.recorder`); its outputs
            are stacked into ``History.records``.
        on_nonfinite: ``"raise"`` (default) raises :class:`NonFiniteError`; ``"return"``
            returns the history with ``nonfinite`` set.

    Returns:
        ``(final_params, history)``.

    Raises:
        ValueError: for a bad ``steps``, ``batch_size``, ``kind``, ``on_nonfinite`` or
            mismatched ``xs``/``ys``.
        NonFiniteError: if NaN/Inf appeared and ``on_nonfinite == "raise"``.
    """
    run = _prepare(xs, ys, steps, batch_size, kind, on_nonfinite)
    loop = Loop(model, optimizer, kind, run.batch, steps, layer_norms, record)
    final, out = _fit_one(loop, params, run.xs, run.ys, key)
    history = History(*out, None)
    origin = find_nonfinite(history)
    history = history._replace(nonfinite=origin)
    if origin is not None and on_nonfinite == "raise":
        raise NonFiniteError(origin, history)
    return final, history


def fit_seeds(
    keys: Array,
    params: Any,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    per_run: Any = None,
    hyperparams: Mapping[str, ArrayLike] | None = None,
    **options: Any,
) -> tuple[Any, History]:
    """:func:`fit` for several independent runs at once: one compiled loop, ``jax.vmap``
    over the runs.

    Run :math:`s` starts from ``params[s]`` (leaves with a leading seed axis, e.g. from
    ``jax.vmap(init)(keys)``) and draws its own minibatches from ``keys[s]``, exactly as
    ``fit(keys[s], params[s], ...)`` would: a test checks that the two agree. Use it
    where a figure needs the spread over seeds; one ``fit`` per seed would run the seeds
    one after the other.

    Runs may differ in their settings without compiling one loop each: ``per_run`` is
    handed to ``model`` (and ``record``) beside the parameters, and ``hyperparams``
    sets each run's optimiser hyper-parameters in the state of an
    ``optax.inject_hyperparams`` optimizer (e.g. one learning rate per run). Neither
    lives in the parameter pytree, so neither is differentiated or updated.

    Args:
        keys: ``(seeds,)`` PRNG keys for the minibatch draws.
        params: initial parameters whose leaves have a leading axis of length ``seeds``.
        xs, ys: as in :func:`fit`, shared by every run; or, with one more leading axis of
            length ``seeds`` (``xs`` of shape ``(seeds, n, features)``), one data set per
            run (e.g. the codes that each run's own lower layers produce).
        options: the keyword arguments of :func:`fit`, for one run (``model``,
            ``optimizer`` and ``steps`` required; ``batch_size``, ``kind``,
            ``layer_norms``, ``record`` and ``on_nonfinite`` with fit's defaults).
            ``on_nonfinite="raise"`` raises :class:`NonFiniteError` for the first seed
            that produced NaN/Inf; ``"return"`` sets ``History.nonfinite`` per seed.
        per_run: None, or a pytree whose leaves have a leading axis of length ``seeds``;
            then the loop calls ``model(params, xs, per_run[s])`` and
            ``record(params, grads, updates, trace, per_run[s])``.
        hyperparams: None, or a mapping from hyper-parameter names of an
            ``optax.inject_hyperparams`` optimizer to ``(seeds,)`` values.

    Returns:
        ``(final_params, history)``, every array with a leading seed axis, and
        ``history.nonfinite`` a tuple with one :class:`~gradcourse.diagnosis.Origin` or
        None per seed.

    Raises:
        ValueError: as :func:`fit`, for a missing or unknown option, or if ``keys``
            is not 1-D, or ``params``,
            ``per_run`` or ``hyperparams`` has leaves whose leading axis is not
            ``len(keys)``, or ``hyperparams`` is given for an optimizer without
            ``inject_hyperparams``.
        NonFiniteError: if a run produced NaN/Inf and ``on_nonfinite == "raise"``.

    Examples:
        >>> from gradcourse.networks import init_mlp, mlp_model
        >>> keys = jax.random.split(jax.random.key(0), 3)
        >>> params = jax.vmap(lambda k: init_mlp(k, 4, 8, 3, 2))(keys)
        >>> xs, ys = jnp.ones((16, 4)), jnp.zeros(16, dtype=int)
        >>> sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
        >>> _, hist = fit_seeds(keys, params, xs, ys, model=mlp_model("tanh"),
        ...                     optimizer=sgd, steps=5, batch_size=8,
        ...                     hyperparams={"learning_rate": jnp.array([0.1, 0.2, 0.3])})
        >>> hist.loss.shape, hist.nonfinite
        ((3, 5), (None, None, None))
    """
    o = _options(options)
    keys = jnp.asarray(keys)
    _checks.ndim("keys", keys, 1)
    seeds = keys.shape[0]
    for name, tree in [("params", params), ("per_run", per_run),
                       ("hyperparams", hyperparams)]:  # fmt: skip
        _leading_axis(name, tree, seeds)
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    own_data = xs.ndim == 3
    if own_data and (xs.shape[0] != seeds or ys.shape[:1] != (seeds,)):
        raise ValueError(
            f"xs and ys with one data set per run need a leading axis of length "
            f"{seeds} (len(keys)), got shapes {xs.shape} and {ys.shape}"
        )
    run = _prepare(
        xs[0] if own_data else xs,
        ys[0] if own_data else ys,
        o["steps"],
        o["batch_size"],
        o["kind"],
        o["on_nonfinite"],
    )
    if hyperparams is not None:
        _check_injectable(o["optimizer"], params, hyperparams)
    loop = Loop(o["model"], o["optimizer"], o["kind"], run.batch, o["steps"],
                o["layer_norms"], o["record"])  # fmt: skip
    settings = (per_run, None if hyperparams is None else dict(hyperparams))
    final, out = _fit_many(loop, own_data, params, xs, ys, keys, settings)
    history = History(*out, None)
    host = jax.device_get(
        (history.loss, history.grad_norms, history.finite_activations)
    )
    origins = tuple(
        find_nonfinite(History(*(a[s] for a in host), None, None)) for s in range(seeds)
    )
    history = history._replace(nonfinite=origins)
    bad = [s for s, o in enumerate(origins) if o is not None]
    if bad and o["on_nonfinite"] == "raise":
        raise NonFiniteError(origins[bad[0]], history, seed=bad[0])
    return final, history


def _options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of :func:`fit_seeds` bound to :func:`fit`'s keywords, defaults filled
    in: fit's signature is the one list of the loop's settings."""
    try:
        bound = inspect.signature(fit).bind(None, None, None, None, **options)
    except TypeError as err:
        raise ValueError(f"options must be keyword arguments of fit: {err}") from None
    bound.apply_defaults()
    return bound.arguments


def _leading_axis(name: str, tree: Any, seeds: int) -> None:
    leading = {jnp.shape(leaf)[:1] for leaf in jax.tree.leaves(tree)}
    if leading and leading != {(seeds,)}:
        raise ValueError(
            f"{name} leaves must have a leading seed axis of length {seeds} "
            f"(len(keys)), got leading shapes {sorted(leading)}"
        )
    if name == "params" and not leading:
        raise ValueError("params must have at least one array leaf")


def _check_injectable(
    optimizer: optax.GradientTransformation, params: Any, hyperparams: Mapping
) -> None:
    one = jax.tree.map(lambda a: a[0], params)
    state = jax.eval_shape(optimizer.init, one)
    known = getattr(state, "hyperparams", None)
    if not isinstance(known, dict) or not set(hyperparams) <= set(known):
        raise ValueError(
            f"hyperparams {sorted(hyperparams)} must name hyper-parameters of an "
            f"optax.inject_hyperparams optimizer, which has "
            f"{sorted(known) if isinstance(known, dict) else 'none'}"
        )


class _Prepared(NamedTuple):
    xs: Array
    ys: Array
    batch: int


def _prepare(
    xs: ArrayLike,
    ys: ArrayLike,
    steps: int,
    batch_size: int,
    kind: str,
    on_nonfinite: str,
) -> _Prepared:
    """Validate the arguments :func:`fit` and :func:`fit_seeds` share."""
    _checks.positive_int("steps", steps)
    _checks.positive_int("batch_size", batch_size)
    _checks.one_of("kind", kind, tuple(LOSSES))
    _checks.one_of("on_nonfinite", on_nonfinite, ("raise", "return"))
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    if ys.shape[:1] != xs.shape[:1]:
        raise ValueError(
            f"ys must have {xs.shape[0]} rows like xs, got shape {ys.shape}"
        )
    return _Prepared(xs, ys, min(batch_size, xs.shape[0]))


def _loop(
    loop: Loop,
    p: Any,
    xs: Array,
    ys: Array,
    key: Array,
    settings: tuple[Any, dict | None] = (None, None),
) -> tuple[Any, tuple]:
    """One run of ``loop``, not jitted: ``steps`` updates in one :func:`jax.lax.scan`.

    ``settings`` is ``(per_run, hyperparams)`` of this run (see :func:`fit_seeds`).
    Returns the final parameters and ``(loss, grad_norms, finite_activations,
    records)`` stacked over steps.
    """
    per_run, hyperparams = settings
    extra = () if per_run is None else (per_run,)
    loss_of = LOSSES[loop.kind]

    def step(carry: tuple[Any, Any], idx: Array) -> tuple:
        p, opt_state = carry

        def objective(q: Any) -> tuple[Array, Trace]:
            out, trace = loop.model(q, xs[idx], *extra)
            return loss_of(out, ys[idx]), trace

        (value, trace), grads = jax.value_and_grad(objective, has_aux=True)(p)
        updates, opt_state = loop.optimizer.update(grads, opt_state, p)
        # x * 0 is 0 for finite x and NaN otherwise: one cheap reduction per layer.
        finite = jnp.isfinite(jnp.sum(trace.post * 0, axis=(0, 2)))
        rec = None if loop.record is None else loop.record(p, grads, updates, trace,
                                                           *extra)  # fmt: skip
        new_p = optax.apply_updates(p, updates)
        norms = loop.layer_norms(_fold_biases(grads))
        return (new_p, opt_state), (value, norms, finite, rec)

    state = loop.optimizer.init(p)
    if hyperparams:
        state.hyperparams.update(
            {
                k: jnp.asarray(v, state.hyperparams[k].dtype)
                for k, v in hyperparams.items()
            }
        )
    batches = minibatches(key, xs.shape[0], loop.batch, loop.steps)
    (p, _), out = jax.lax.scan(step, (p, state), batches)
    return p, out


@functools.partial(jax.jit, static_argnames=("loop",))
def _fit_one(loop: Loop, p: Any, xs: Array, ys: Array, key: Array) -> tuple[Any, tuple]:
    return _loop(loop, p, xs, ys, key)


@functools.partial(jax.jit, static_argnames=("loop", "own_data"))
def _fit_many(
    loop: Loop,
    own_data: bool,
    p: Any,
    xs: Array,
    ys: Array,
    keys: Array,
    settings: tuple[Any, dict | None],
) -> tuple[Any, tuple]:
    data_axis = 0 if own_data else None
    run = functools.partial(_loop, loop)
    return jax.vmap(run, in_axes=(0, data_axis, data_axis, 0, 0))(
        p, xs, ys, keys, settings
    )


def runner(
    model: Model,
    optimizer: optax.GradientTransformation,
    kind: str,
    batch: int,
    steps: int,
    layer_norms: Callable[[Any], Array] = layer_grad_norms,
    record: Callable[..., Any] | None = None,
    seeds: bool | str | None = None,
) -> Callable[..., tuple[Any, tuple]]:
    """The training loop of :func:`fit` as a function, for compositions that
    ``jax.vmap`` it over more than one axis (a grid of data sets by seeds).

    Args:
        model, optimizer, kind, layer_norms, record: as in :func:`fit`.
        batch: examples per step (at most the number of examples).
        steps: number of updates, >= 1.
        seeds: None for one run ``run(params, xs, ys, key)``; otherwise the runs are
            ``vmap``-ped over ``params`` and ``keys``, with data shared by all runs,
            or one data set per run if ``seeds == "per_run"``.

    Returns:
        ``run(params, xs, ys, key_or_keys) -> (final_params, (loss, grad_norms,
        finite_activations, records))``; :class:`History` ``(*out, None)`` wraps the
        second part. It is not jitted: jit the composition that calls it.
    """
    _checks.positive_int("steps", steps)
    _checks.positive_int("batch", batch)
    _checks.one_of("kind", kind, tuple(LOSSES))
    loop = Loop(model, optimizer, kind, batch, steps, layer_norms, record)
    run = functools.partial(_loop, loop)
    if seeds is None:
        return run
    data_axis = 0 if seeds == "per_run" else None
    return jax.vmap(run, in_axes=(0, data_axis, data_axis, 0))


def accuracy(params: Any, xs: ArrayLike, ys: ArrayLike, model: Model) -> float:
    """Fraction of examples whose largest output is the label.

    Examples:
        >>> from gradcourse.networks import init_mlp, mlp_model
        >>> p = init_mlp(jax.random.key(0), 2, 4, 2, 2)
        >>> 0.0 <= accuracy(p, jnp.ones((3, 2)), jnp.array([0, 1, 1]), mlp_model("tanh")) <= 1
        True
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    outputs, _ = model(params, xs)
    return float(jnp.mean(jnp.argmax(outputs, axis=-1) == ys))
