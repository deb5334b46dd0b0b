r"""A small optax training loop that records gradient health and stops on NaN/Inf.

:func:`fit` runs ``steps`` minibatch steps inside one :func:`jax.lax.scan` (one compile per
call), recording at every step the loss and the norm of each layer's gradient, plus
whatever a ``record`` hook returns (:mod:`gradcourse.monitor` supplies such hooks). If a
loss, an activation or a gradient becomes non-finite, :func:`fit` does not hand back
garbage to plot: it raises :class:`NonFiniteError` naming the step and the layer where the
first non-finite value appeared.

The update is the usual optax one,

.. math::

    g_t = \nabla_\theta L(\theta_t; B_t), \qquad
    (u_t, s_{t+1}) = \mathrm{opt.update}(g_t, s_t, \theta_t), \qquad
    \theta_{t+1} = \theta_t + u_t,

with minibatches :math:`B_t` drawn without replacement from an explicit key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import scaled_norm
from gradcourse.networks import (
    LOSSES,
    MLP,
    ActivationLike,
    Dense,
    Trace,
    forward_batch,
)

__all__ = [
    "History",
    "NonFinite",
    "NonFiniteError",
    "accuracy",
    "find_nonfinite",
    "fit",
    "fit_seeds",
    "mlp_layer_norms",
    "mlp_model",
]

Model = Callable[[Any, Array], tuple[Array, Trace]]


class NonFinite(NamedTuple):
    """Where a run first produced NaN or Inf.

    Attributes:
        step: 0-based training step.
        layer: 1-based layer index (the read-out is ``depth + 1``); 0 if only the loss.
        where: ``"activation"`` (forward pass), ``"gradient"`` (backward pass) or ``"loss"``.
    """

    step: int
    layer: int
    where: str


class NonFiniteError(FloatingPointError):
    """Raised by :func:`fit` and :func:`fit_seeds` when training produced NaN/Inf.

    ``.origin`` is a :class:`NonFinite`, ``.history`` the (partly non-finite)
    :class:`History`, and ``.seed`` the index of the first failing run in
    :func:`fit_seeds` (None for :func:`fit`).
    """

    def __init__(
        self, origin: NonFinite, history: History, seed: int | None = None
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
        grad_norms: ``(steps, layers)`` per-layer gradient norms (``layer_norms(grads)``);
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
    nonfinite: NonFinite | None | tuple[NonFinite | None, ...]


def mlp_layer_norms(grads: MLP) -> Array:
    """Frobenius norm of each weight gradient of an MLP: layers 1..depth, then read-out."""
    hidden = scaled_norm(grads.hidden.w, axis=(1, 2))
    first = scaled_norm(grads.first.w)[None]
    return jnp.concatenate([first, hidden, scaled_norm(grads.readout.w)[None]])


@functools.cache
def mlp_model(activation: ActivationLike) -> Model:
    """The ``model`` callable for a :class:`gradcourse.networks.MLP` with ``activation``.

    Cached, so the same activation gives the same function object.

    Examples:
        >>> model = mlp_model("tanh")
        >>> model is mlp_model("tanh")
        True
    """

    def model(params: MLP, xs: Array) -> tuple[Array, Trace]:
        return forward_batch(params, xs, activation)

    return model


def find_nonfinite(history: History) -> NonFinite | None:
    """Locate the first step and layer with a non-finite value in a :class:`History`.

    At the first bad step, a non-finite forward activation is blamed on the lowest such
    layer (the forward pass runs input to output); otherwise a non-finite gradient is blamed
    on the highest such layer (the backward pass runs output to input, so every layer below
    the origin inherits it); otherwise the loss alone. :func:`fit` records a layer's
    gradient norm as NaN when any entry of its weight *or bias* gradient is non-finite,
    so a NaN confined to one bias is found too.

    Raises:
        ValueError: for a :func:`fit_seeds` history (use one seed's slice of it).
    """
    loss = np.asarray(history.loss)
    if loss.ndim != 1:
        raise ValueError(
            f"history must be one run's, with loss of shape (steps,), got {loss.shape}"
        )
    grad_ok = np.isfinite(np.asarray(history.grad_norms))
    act_ok = np.asarray(history.finite_activations)
    bad = ~np.isfinite(loss) | ~grad_ok.all(axis=1) | ~act_ok.all(axis=1)
    if not bad.any():
        return None
    step = int(np.argmax(bad))
    if not act_ok[step].all():
        return NonFinite(step, int(np.argmin(act_ok[step])) + 1, "activation")
    if not grad_ok[step].all():
        return NonFinite(step, int(np.nonzero(~grad_ok[step])[0].max()) + 1, "gradient")
    return NonFinite(step, 0, "loss")


def _fold_biases(grads: Any) -> Any:
    """``grads`` with each :class:`~gradcourse.networks.Dense` bias folded into its weight
    as ``w + sum(b * 0)``: the weight is unchanged when the bias is finite and all NaN
    when it is not, so per-layer weight norms also report a non-finite bias."""

    def fold(node: Any) -> Any:
        if not isinstance(node, Dense):
            return node
        return Dense(node.w + jnp.sum(node.b * 0, axis=-1)[..., None, None], node.b)

    return jax.tree.map(fold, grads, is_leaf=lambda n: isinstance(n, Dense))


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
    layer_norms: Callable[[Any], Array] = mlp_layer_norms,
    record: Callable[[Any, Any, Any, Trace], Any] | None = None,
    on_nonfinite: str = "raise",
) -> tuple[Any, History]:
    """Train with minibatch ``optimizer`` steps and record gradient health.

    Args:
        key: PRNG key for the minibatch draws.
        params: initial parameters (any pytree ``model`` accepts).
        xs: training inputs ``(n, features)``.
        ys: integer labels ``(n,)`` (cross-entropy) or targets ``(n, out)`` (mse).
        model: ``model(params, xs) -> (outputs, Trace)``, e.g. :func:`mlp_model`.
        optimizer: an optax ``GradientTransformation``.
        steps: number of updates, >= 1.
        batch_size: examples per step, >= 1 (capped at ``n``: full batch).
        kind: loss name, one of :data:`gradcourse.networks.LOSSES`.
        layer_norms: maps the gradient pytree to a vector of per-layer norms.
        record: optional ``record(params, grads, updates, trace)`` evaluated at every step
            inside the jitted loop; its outputs are stacked into ``History.records``.
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
    runner = _runner(
        model, optimizer, kind, run.batch, steps, layer_norms, record, None
    )
    final, out = runner(params, run.xs, run.ys, key)
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
    model: Model,
    optimizer: optax.GradientTransformation,
    steps: int,
    batch_size: int = 128,
    kind: str = "cross_entropy",
    layer_norms: Callable[[Any], Array] = mlp_layer_norms,
    record: Callable[[Any, Any, Any, Trace], Any] | None = None,
    on_nonfinite: str = "raise",
) -> tuple[Any, History]:
    """:func:`fit` for several independent runs at once: one compiled loop, ``jax.vmap``
    over the runs.

    Run :math:`s` starts from ``params[s]`` (leaves with a leading seed axis, e.g. from
    ``jax.vmap(init)(keys)``) and draws its own minibatches from ``keys[s]``, exactly as
    ``fit(keys[s], params[s], ...)`` would: a test checks that the two agree. Use it
    where a figure needs the spread over seeds; one ``fit`` per seed would run the seeds
    one after the other.

    Args:
        keys: ``(seeds,)`` PRNG keys for the minibatch draws.
        params: initial parameters whose leaves have a leading axis of length ``seeds``.
        xs, ys: as in :func:`fit`, shared by every run; or, with one more leading axis of
            length ``seeds`` (``xs`` of shape ``(seeds, n, features)``), one data set per
            run (e.g. the codes that each run's own lower layers produce).
        model, optimizer, steps, batch_size, kind, layer_norms, record: as in
            :func:`fit`, for one run.
        on_nonfinite: ``"raise"`` raises :class:`NonFiniteError` for the first seed that
            produced NaN/Inf; ``"return"`` returns with ``History.nonfinite`` set per seed.

    Returns:
        ``(final_params, history)``, every array with a leading seed axis, and
        ``history.nonfinite`` a tuple with one :class:`NonFinite` or None per seed.

    Raises:
        ValueError: as :func:`fit`, or if ``keys`` is not 1-D or ``params`` has leaves
            whose leading axis is not ``len(keys)``.
        NonFiniteError: if a run produced NaN/Inf and ``on_nonfinite == "raise"``.

    Examples:
        >>> from gradcourse.networks import init_mlp
        >>> keys = jax.random.split(jax.random.key(0), 3)
        >>> params = jax.vmap(lambda k: init_mlp(k, 4, 8, 3, 2))(keys)
        >>> xs, ys = jnp.ones((16, 4)), jnp.zeros(16, dtype=int)
        >>> _, hist = fit_seeds(keys, params, xs, ys, model=mlp_model("tanh"),
        ...                     optimizer=optax.sgd(0.1), steps=5, batch_size=8)
        >>> hist.loss.shape, hist.nonfinite
        ((3, 5), (None, None, None))
    """
    keys = jnp.asarray(keys)
    _checks.ndim("keys", keys, 1)
    seeds = keys.shape[0]
    leading = {leaf.shape[:1] for leaf in jax.tree.leaves(params)}
    if leading != {(seeds,)}:
        raise ValueError(
            f"params leaves must have a leading seed axis of length {seeds} "
            f"(len(keys)), got leading shapes {sorted(leading)}"
        )
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    per_run = xs.ndim == 3
    if per_run and (xs.shape[0] != seeds or ys.shape[:1] != (seeds,)):
        raise ValueError(
            f"xs and ys with one data set per run need a leading axis of length "
            f"{seeds} (len(keys)), got shapes {xs.shape} and {ys.shape}"
        )
    run = _prepare(
        xs[0] if per_run else xs,
        ys[0] if per_run else ys,
        steps,
        batch_size,
        kind,
        on_nonfinite,
    )
    runner = _runner(
        model,
        optimizer,
        kind,
        run.batch,
        steps,
        layer_norms,
        record,
        "per_run" if per_run else "shared",
    )
    final, out = runner(params, xs, ys, keys)
    history = History(*out, None)
    host = jax.device_get(
        (history.loss, history.grad_norms, history.finite_activations)
    )
    origins = tuple(
        find_nonfinite(History(*(a[s] for a in host), None, None)) for s in range(seeds)
    )
    history = history._replace(nonfinite=origins)
    bad = [s for s, o in enumerate(origins) if o is not None]
    if bad and on_nonfinite == "raise":
        raise NonFiniteError(origins[bad[0]], history, seed=bad[0])
    return final, history


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


@functools.lru_cache(maxsize=64)
def _runner(
    model: Model,
    optimizer: optax.GradientTransformation,
    kind: str,
    batch: int,
    steps: int,
    layer_norms: Callable[[Any], Array],
    record: Callable[[Any, Any, Any, Trace], Any] | None,
    seeds: str | None,
) -> Callable[..., tuple[Any, tuple]]:
    """The jitted training loop for one configuration, cached so that repeated calls
    with the same model and optimizer objects compile once. ``seeds``: None for one
    run; ``"shared"`` or ``"per_run"`` data for runs ``vmap``-ped together."""
    loss_of = LOSSES[kind]

    def step(carry: tuple[Any, Any], k: Array, xs: Array, ys: Array) -> tuple:
        p, opt_state = carry
        n = xs.shape[0]
        idx = (
            jax.random.choice(k, n, (batch,), replace=False)
            if batch < n
            else jnp.arange(n)
        )

        def objective(q: Any) -> tuple[Array, Trace]:
            out, trace = model(q, xs[idx])
            return loss_of(out, ys[idx]), trace

        (value, trace), grads = jax.value_and_grad(objective, has_aux=True)(p)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        # x * 0 is 0 for finite x and NaN otherwise: one cheap reduction per layer.
        finite = jnp.isfinite(jnp.sum(trace.post * 0, axis=(0, 2)))
        rec = None if record is None else record(p, grads, updates, trace)
        new_p = optax.apply_updates(p, updates)
        norms = layer_norms(_fold_biases(grads))
        return (new_p, opt_state), (value, norms, finite, rec)

    def run(p: Any, xs: Array, ys: Array, key: Array) -> tuple[Any, tuple]:
        def body(carry: tuple[Any, Any], k: Array) -> tuple:
            return step(carry, k, xs, ys)

        keys = jax.random.split(key, steps)
        (p, _), out = jax.lax.scan(body, (p, optimizer.init(p)), keys)
        return p, out

    if seeds is None:
        return jax.jit(run)
    data_axis = 0 if seeds == "per_run" else None
    return jax.jit(jax.vmap(run, in_axes=(0, data_axis, data_axis, 0)))


def accuracy(params: Any, xs: ArrayLike, ys: ArrayLike, model: Model) -> float:
    """Fraction of examples whose largest output is the label.

    Examples:
        >>> from gradcourse.networks import init_mlp
        >>> p = init_mlp(jax.random.key(0), 2, 4, 2, 2)
        >>> 0.0 <= accuracy(p, jnp.ones((3, 2)), jnp.array([0, 1, 1]), mlp_model("tanh")) <= 1
        True
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    outputs, _ = model(params, xs)
    return float(jnp.mean(jnp.argmax(outputs, axis=-1) == ys))
