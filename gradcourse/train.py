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
from gradcourse.networks import LOSSES, MLP, ActivationLike, Trace, forward_batch

__all__ = [
    "History",
    "NonFinite",
    "NonFiniteError",
    "accuracy",
    "find_nonfinite",
    "fit",
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
    """Raised by :func:`fit` when training produced NaN/Inf; ``.origin`` is a
    :class:`NonFinite` and ``.history`` the (partly non-finite) :class:`History`."""

    def __init__(self, origin: NonFinite, history: History) -> None:
        self.origin, self.history = origin, history
        super().__init__(
            f"non-finite {origin.where} first appeared at step {origin.step}, "
            f"layer {origin.layer}; lower the learning rate, clip gradients, or check "
            f"the initialisation scale"
        )


class History(NamedTuple):
    """What :func:`fit` recorded, one row per step.

    Attributes:
        loss: ``(steps,)`` minibatch loss before each update.
        grad_norms: ``(steps, layers)`` per-layer gradient norms (``layer_norms(grads)``).
        finite_activations: ``(steps, layers)`` True where a layer's activations were finite.
        records: the ``record`` hook's outputs stacked over steps, or None.
        nonfinite: where NaN/Inf began, or None for a clean run.
    """

    loss: Array
    grad_norms: Array
    finite_activations: Array
    records: Any
    nonfinite: NonFinite | None


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
    the origin inherits it); otherwise the loss alone.
    """
    loss = np.asarray(history.loss)
    gn = np.asarray(history.grad_norms)
    act_ok = np.asarray(history.finite_activations)
    bad = ~np.isfinite(loss) | ~np.isfinite(gn).all(axis=1) | ~act_ok.all(axis=1)
    if not bad.any():
        return None
    step = int(np.argmax(bad))
    if not act_ok[step].all():
        return NonFinite(step, int(np.argmin(act_ok[step])) + 1, "activation")
    grad_bad = ~np.isfinite(gn[step])
    if grad_bad.any():
        return NonFinite(step, int(np.nonzero(grad_bad)[0].max()) + 1, "gradient")
    return NonFinite(step, 0, "loss")


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
    run = _runner(
        model, optimizer, kind, min(batch_size, xs.shape[0]), layer_norms, record
    )
    final, (losses, norms, finite, recs) = run(
        params, xs, ys, jax.random.split(key, steps)
    )
    history = History(losses, norms, finite, recs, None)
    origin = find_nonfinite(history)
    history = history._replace(nonfinite=origin)
    if origin is not None and on_nonfinite == "raise":
        raise NonFiniteError(origin, history)
    return final, history


@functools.lru_cache(maxsize=64)
def _runner(
    model: Model,
    optimizer: optax.GradientTransformation,
    kind: str,
    batch: int,
    layer_norms: Callable[[Any], Array],
    record: Callable[[Any, Any, Any, Trace], Any] | None,
) -> Callable[..., tuple[Any, tuple]]:
    """The jitted training loop for one configuration, cached so that repeated
    :func:`fit` calls with the same model and optimizer objects compile once."""
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
        finite = jnp.all(jnp.isfinite(trace.post), axis=(0, 2))
        rec = None if record is None else record(p, grads, updates, trace)
        new_p = optax.apply_updates(p, updates)
        return (new_p, opt_state), (value, layer_norms(grads), finite, rec)

    @jax.jit
    def run(p: Any, xs: Array, ys: Array, keys: Array) -> tuple[Any, tuple]:
        def body(carry: tuple[Any, Any], k: Array) -> tuple:
            return step(carry, k, xs, ys)

        (p, _), out = jax.lax.scan(body, (p, optimizer.init(p)), keys)
        return p, out

    return run


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
