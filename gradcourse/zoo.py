r"""The activation zoo: every registered activation compared under its own initialisation.

The comparison chapter asks one question of each entry of
:data:`gradcourse.registry.REGISTRY`: with weights drawn at the entry's own gain,
:math:`W_{ij} \sim \mathcal N(0, g^2 / n_{\text{in}})`, how does the gradient norm change
from layer to layer of a deep network, and how fast does that network train?

Answering it one activation at a time costs one XLA compilation per activation (and per
training run). This module instead runs an **ensemble** (:mod:`gradcourse.ensemble`): one
network per (activation, seed) pair, all stacked along two leading axes ``(A, S)`` and run
in a single jitted computation in which each activation is applied only to its own slice.
The member losses are summed, so every member receives exactly the gradient it would receive alone
(the sum is separable); the tests check each member against
:func:`gradcourse.probes.grad_norms` and :func:`gradcourse.train.fit` run on that network
by itself.

All activations share the seed's Gaussian draws: member ``(a, s)`` has weights
:math:`g_a\,\varepsilon_s` with the same standard-normal :math:`\varepsilon_s / \sqrt{n}`
for every ``a`` (common random numbers), so differences between activations are not
differences between draws.

References:
    He et al., `Delving deep into rectifiers <https://arxiv.org/abs/1502.01852>`_, 2015;
    Schoenholz et al., `Deep information propagation <https://arxiv.org/abs/1611.01232>`_,
    2017.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse._linalg import scaled_norm
from gradcourse.ensemble import (
    check_names,
    ensemble_forward,
    ensemble_model,
    init_ensemble,
)
from gradcourse.networks import LOSSES, MLP, Trace
from gradcourse.quadrature import gaussian_rule
from gradcourse.registry import get, tabulate
from gradcourse.train import History, fit

__all__ = [
    "ZooProbe",
    "ZooTraining",
    "mean_field_prediction",
    "probe_registry",
    "train_registry",
]


class ZooProbe(NamedTuple):
    """Result of :func:`probe_registry`; axes ``A`` (activations) and ``S`` (seeds).

    Attributes:
        names: the activations, in the order of axis ``A``.
        gains: ``(A,)`` the gain each activation was initialised with.
        hidden: ``(A, S, depth)`` Frobenius norms of :math:`\\partial L/\\partial H_l`.
        weights: ``(A, S, depth + 1)`` norms of :math:`\\partial L/\\partial W_l`, then
            the read-out.
        loss: ``(A, S)`` batch-mean loss of each network.
        q: ``(A, S, depth)`` mean squared pre-activation :math:`q_l` of each layer (over
            batch and units), the quantity the gain is meant to hold at 1.
    """

    names: tuple[str, ...]
    gains: Array
    hidden: Array
    weights: Array
    loss: Array
    q: Array


class ZooTraining(NamedTuple):
    """Result of :func:`train_registry`; axes ``A`` (activations) and ``S`` (seeds).

    Attributes:
        names: the activations, in the order of axis ``A``.
        grad_norms: ``(A, S, steps, depth + 1)`` each network's own per-layer weight
            gradient norms on its minibatch (layers 1..depth, then the read-out).
        train_loss: ``(A, S)`` loss on the whole training set after training.
        test_accuracy: ``(A, S)`` after training.
        history: the :class:`gradcourse.train.History` of the single
            :func:`~gradcourse.train.fit` call (its ``loss`` is the mean over all
            networks).
    """

    names: tuple[str, ...]
    grad_norms: Array
    train_loss: Array
    test_accuracy: Array
    history: History


def _member_losses(outputs: Array, ys: Array, kind: str) -> Array:
    """``(A, S)`` batch-mean loss of each member."""
    return jax.vmap(jax.vmap(lambda o: LOSSES[kind](o, ys)))(outputs)


def _weight_norms(grads: MLP) -> Array:
    """``(A, S, depth + 1)`` Frobenius norms of each member's weight gradients.

    Scaled (``gradcourse._linalg.scaled_norm``), so a gradient whose entries are
    below about 1e-19 is not reported as exactly zero (its squares would underflow).
    """
    first = scaled_norm(grads.first.w, axis=(-2, -1))
    hidden = scaled_norm(grads.hidden.w, axis=(-2, -1))
    readout = scaled_norm(grads.readout.w, axis=(-2, -1))
    return jnp.concatenate([first[..., None], hidden, readout[..., None]], axis=-1)


@functools.partial(jax.jit, static_argnames=("names", "kind"))
def _probe(
    params: MLP, xs: Array, ys: Array, names: tuple[str, ...], kind: str
) -> tuple[Array, Array, Array, Array]:
    a, s, width = params.first.w.shape[:3]
    depth = 1 + params.hidden.w.shape[2]
    taps = jnp.zeros((a, s, xs.shape[0], depth, width), xs.dtype)

    def total(p: MLP, t: Array) -> tuple[Array, tuple[Array, Array]]:
        outputs, trace = ensemble_forward(p, xs, names, taps=t)
        per_member = _member_losses(outputs, ys, kind)
        q = jnp.mean(jnp.square(trace.pre), axis=(2, 4))
        return per_member.sum(), (per_member, q)  # separable: gradients unchanged

    (_, (losses, q)), (g_params, g_taps) = jax.value_and_grad(
        total, argnums=(0, 1), has_aux=True
    )(params, taps)
    hidden = scaled_norm(g_taps, axis=(2, 4))  # a plain sum of squares underflows
    return hidden, _weight_norms(g_params), losses, q


def probe_registry(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    width: int,
    depth: int,
    seeds: int,
    names: Sequence[str] | None = None,
    kind: str = "cross_entropy",
    out_dim: int | None = None,
) -> ZooProbe:
    """Per-layer gradient norms of every activation at its own gain, in one jit.

    The same measurement as :func:`gradcourse.probes.probe_seeds` with
    ``w_init=gradcourse.initializers.lecun_normal(gain)``, for all activations at once.

    Args:
        key: PRNG key for the weights (split into ``seeds`` keys).
        xs: inputs ``(batch, in_dim)``.
        ys: integer labels ``(batch,)`` (cross-entropy) or targets ``(batch, out)`` (mse).
        width, depth: network size.
        seeds: networks per activation.
        names: registry names; default all of :func:`gradcourse.registry.names`.
        kind: loss name, one of :data:`gradcourse.networks.LOSSES`.
        out_dim: outputs; default ``max(ys) + 1`` (cross-entropy) or ``ys.shape[1]``.

    Returns:
        A :class:`ZooProbe`.

    Raises:
        ValueError: for an unknown name or loss, a bad size, or mismatched ``xs``/``ys``.

    Examples:
        >>> xs, ys = jnp.ones((4, 3)), jnp.array([0, 1, 0, 1])
        >>> r = probe_registry(jax.random.key(0), xs, ys, width=5, depth=3, seeds=2,
        ...                    names=["relu", "tanh"])
        >>> r.hidden.shape, r.weights.shape
        ((2, 2, 3), (2, 2, 4))
    """
    names = check_names(names)
    _checks.one_of("kind", kind, tuple(LOSSES))
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    if ys.shape[:1] != xs.shape[:1]:
        raise ValueError(
            f"ys must have {xs.shape[0]} rows like xs, got shape {ys.shape}"
        )
    if out_dim is None:
        out_dim = int(np.max(ys)) + 1 if kind == "cross_entropy" else int(ys.shape[-1])
    params = init_ensemble(
        key, names, seeds, in_dim=xs.shape[1], width=width, depth=depth, out_dim=out_dim
    )
    hidden, weights, loss, q = _probe(params, xs, ys, names, kind)
    gains = jnp.array([get(n).gain for n in names], jnp.float32)
    return ZooProbe(names, gains, hidden, weights, loss, q)


def mean_field_prediction(
    names: Sequence[str] | None, q0: float, depth: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""What wide-network theory predicts :func:`probe_registry` will measure.

    For activation :math:`\phi` at gain :math:`g` the pre-activation variance follows
    :math:`q_1 = g^2 q_0`, :math:`q_l = V(q_{l-1})`
    (:func:`gradcourse.meanfield.variance_trajectory`), and back-propagation from layer
    :math:`l` to :math:`l-1` multiplies the squared norm of
    :math:`\partial L/\partial h` by :math:`\chi(q_l)` (:func:`gradcourse.meanfield.chi`),
    so relative to the last layer

    .. math::

        \frac{\lVert \partial L/\partial h_l \rVert}{\lVert \partial L/\partial h_L
        \rVert} = \prod_{k=l+1}^{L} \chi(q_k)^{1/2}.

    The gain fixes :math:`q = 1` as a fixed point of :math:`V`, but not its stability:
    where :math:`V'(1) > 1` the variance drifts away from 1 and :math:`\chi` with it.

    Args:
        names: registry names; default all.
        q0: the input's mean squared entry :math:`\lVert x \rVert^2 / n_0` >= 0.
        depth: number of layers :math:`L` >= 1.

    The expectations use :func:`gradcourse.quadrature.gaussian_rule`, split at every
    registered kink (so kinked units carry no quadrature bias), evaluated layer by layer
    with :func:`gradcourse.registry.tabulate` (the same numbers as
    :func:`gradcourse.meanfield.variance_trajectory` and :func:`gradcourse.meanfield.chi`,
    without one compilation per activation).

    Returns:
        ``(q, relative)``, both NumPy ``(A, depth)``: the variances :math:`q_l` and the
        predicted norms relative to layer :math:`L` (1 at the last layer).

    Examples:
        >>> q, rel = mean_field_prediction(["relu"], 1.0, 4)
        >>> [round(float(v), 4) for v in rel[0]]
        [1.0, 1.0, 1.0, 1.0]
    """
    names = check_names(names)
    q0 = _checks.non_negative("q0", q0)
    _checks.positive_int("depth", depth)
    kinks = sorted({k for n in names for k in get(n).kinks})
    g2 = np.array([get(n).gain ** 2 for n in names])
    q, qs, log_chi = (
        g2 * q0,
        np.empty((len(names), depth)),
        np.empty((len(names), depth)),
    )
    for layer in range(depth):  # one compiled call per layer for all activations
        z, w = (np.asarray(v, np.float64) for v in gaussian_rule(q, breakpoints=kinks))
        values, slopes = tabulate(z, names)
        qs[:, layer] = q
        log_chi[:, layer] = np.log(
            g2 * np.sum(np.asarray(slopes, np.float64) ** 2 * w, 1)
        )
        q = g2 * np.sum(np.asarray(values, np.float64) ** 2 * w, 1)
    # sum over k > l of log chi(q_k): reversed cumulative sum, less layer l itself
    after = np.cumsum(log_chi[:, ::-1], axis=1)[:, ::-1] - log_chi
    return qs, np.exp(0.5 * after)


def train_registry(
    key: Array,
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_test: ArrayLike,
    y_test: ArrayLike,
    *,
    width: int,
    depth: int,
    seeds: int,
    steps: int,
    learning_rate: float,
    batch_size: int = 64,
    names: Sequence[str] | None = None,
) -> ZooTraining:
    r"""Train one classifier per (activation, seed) with plain SGD, in one ``fit`` call.

    Every network starts at its activation's gain
    (:func:`gradcourse.ensemble.init_ensemble`) and takes ``steps`` SGD steps
    :math:`\theta \leftarrow \theta - \eta\,\nabla L` of the cross-entropy on the same
    minibatches (drawn by :func:`gradcourse.train.fit` from ``key``). Because
    :func:`~gradcourse.train.fit` minimises the mean of the member losses
    (:func:`gradcourse.ensemble.ensemble_model`), the optimiser is
    ``optax.sgd(learning_rate * A * S)``; each member then moves exactly as it would
    alone with ``learning_rate``.

    Args:
        key: PRNG key (split for the weights and the minibatches).
        x_train, y_train: training inputs ``(n, features)`` and integer labels ``(n,)``.
        x_test, y_test: held-out inputs and labels for the final accuracy.
        width, depth: network size.
        seeds: networks per activation.
        steps: SGD steps.
        learning_rate: :math:`\eta > 0` for each member.
        batch_size: minibatch size.
        names: registry names; default all.

    Returns:
        A :class:`ZooTraining`.

    Raises:
        ValueError: for a bad size, learning rate, or name.
        gradcourse.train.NonFiniteError: if any member's loss or gradient became NaN/Inf.
    """
    names = check_names(names)
    learning_rate = _checks.positive("learning_rate", learning_rate)
    x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)
    _checks.ndim("x_train", x_train, 2)
    out_dim = int(np.max(y_train)) + 1  # on the host: no compile
    k_init, k_fit = jax.random.split(key)
    params = init_ensemble(
        k_init, names, seeds, in_dim=x_train.shape[1], width=width, depth=depth,
        out_dim=out_dim,
    )  # fmt: skip
    members = len(names) * seeds

    def record(p: MLP, grads: MLP, updates: MLP, trace: Trace) -> Array:
        del p, updates, trace
        return members * _weight_norms(grads)  # undo fit's 1/(A S): each member's own

    def layer_norms(grads: MLP) -> Array:  # largest over members, for fit's NaN report
        return members * _weight_norms(grads).max(axis=(0, 1))

    final, history = fit(
        k_fit, params, x_train, np.tile(np.asarray(y_train)[:, None], (1, members)),
        model=ensemble_model(names), optimizer=optax.sgd(learning_rate * members),
        steps=steps, batch_size=batch_size, layer_norms=layer_norms, record=record,
    )  # fmt: skip
    train_loss, accuracy = _evaluate(final, x_train, y_train, x_test, y_test, names)
    grad_norms = jnp.asarray(np.moveaxis(np.asarray(history.records), 0, 2))
    return ZooTraining(names, grad_norms, train_loss, accuracy, history)


@functools.partial(jax.jit, static_argnames=("names",))
def _evaluate(
    params: MLP,
    x_train: Array,
    y_train: Array,
    x_test: ArrayLike,
    y_test: ArrayLike,
    names: tuple[str, ...],
) -> tuple[Array, Array]:
    """Each member's full training-set loss and test accuracy, one program."""
    # One forward pass over both sets: each call of ensemble_forward adds all the
    # activations to the compiled program, which dominates its compile time.
    n = x_train.shape[0]
    out, _ = ensemble_forward(params, jnp.concatenate([x_train, x_test]), names)
    train_out, test_out = out[:, :, :n], out[:, :, n:]
    hits = jnp.argmax(test_out, axis=-1) == jnp.asarray(y_test)
    return _member_losses(train_out, y_train, "cross_entropy"), jnp.mean(hits, axis=-1)
