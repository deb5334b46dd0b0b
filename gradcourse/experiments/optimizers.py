r"""Experiments of the chapter on optimisers: what an optimiser can and cannot do about a
vanishing gradient.

:func:`max_relative_differences` checks the teaching optimisers of :mod:`gradcourse.optim`
against optax; :func:`constant_gradient_steps` shows that Adagrad's step decays like
:math:`1/\sqrt t` under a constant gradient (a decaying learning rate, not a vanishing
gradient); :func:`train_runs` trains the same sigmoid networks with several optimisers and
records every layer's update norm, so that SGD's copy of the gradient's profile and Adam's
flattening of it (down to :math:`\epsilon`) can be compared.

References:
    Duchi et al., `Adaptive Subgradient Methods for Online Learning and Stochastic
    Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011; Kingma & Ba,
    `Adam: A Method for Stochastic Optimization <https://arxiv.org/abs/1412.6980>`_, 2015.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.data import Split
from gradcourse.experiments._stacks import Runs, train_stacks
from gradcourse.networks import MLP, Trace, init_mlp, mlp_model
from gradcourse.probes import GradNorms, grad_norms, layer_grad_norms

_Pair = tuple[optax.GradientTransformation, optax.GradientTransformation]


def updates(opt: optax.GradientTransformation, grad_seq: ArrayLike) -> Array:
    """The updates ``opt`` makes, step by step, for a sequence of gradients (scanned).

    Args:
        opt: an optax transformation that needs no parameters.
        grad_seq: ``(steps, *shape)`` gradients.

    Returns:
        ``(steps, *shape)`` updates.
    """

    def step(state, g):
        u, state = opt.update(g, state)
        return state, u

    grad_seq = jnp.asarray(grad_seq)
    return jax.lax.scan(step, opt.init(grad_seq[0]), grad_seq)[1]


def max_relative_differences(key: Array, pairs: dict[str, _Pair]) -> dict[str, float]:
    r"""Largest relative difference between the updates of two optimisers, per pair.

    Both optimisers of a pair see the same 50 gradients of 6 entries, drawn from ``key``
    and scaled over eight decades (:math:`10^{-6}` to :math:`10^{2}`); the result is
    :math:`\max_{t,i} |u_{t,i} - u'_{t,i}| / (|u'_{t,i}| + 10^{-12})`.

    Args:
        key: PRNG key.
        pairs: ``{name: (ours, reference)}``.

    Returns:
        ``{name: max relative difference}``.
    """
    names = tuple(pairs)
    out = _max_relative_differences(key, tuple(pairs[n] for n in names))
    return {name: float(v) for name, v in zip(names, out, strict=True)}


@jax.jit(static_argnums=1)
def _max_relative_differences(key, pairs):
    grad_seq = jax.random.normal(key, (50, 6)) * jnp.logspace(-6, 2, 6)  # 8 decades
    gaps = []
    for ours, theirs in pairs:
        want = updates(theirs, grad_seq)
        gaps.append(
            jnp.max(jnp.abs(updates(ours, grad_seq) - want) / (jnp.abs(want) + 1e-12))
        )
    return gaps


def constant_gradient_steps(
    opt: optax.GradientTransformation, gs: ArrayLike, *, steps: int = 2000
) -> np.ndarray:
    """Step sizes :math:`|u_t|`, :math:`t = 1..` ``steps``, under a constant gradient.

    One scalar parameter per value of ``gs``, each receiving the same gradient at every
    step (vmapped over ``gs``).

    Args:
        opt: an optax transformation that needs no parameters.
        gs: ``(k,)`` constant gradients.
        steps: number of steps, >= 1.

    Returns:
        ``(k, steps)`` step sizes.
    """
    _checks.positive_int("steps", steps)
    return np.asarray(
        _constant_gradient_steps(opt, jnp.asarray(gs, jnp.float32), steps)
    )


@jax.jit(static_argnums=(0, 2))
def _constant_gradient_steps(opt, gs, steps):
    one = lambda g: jnp.abs(updates(opt, jnp.full((steps, 1), g))[:, 0])
    return jax.vmap(one)(gs)


class Probed(NamedTuple):
    """Result of :func:`probed_network`."""

    net: MLP  #: the network
    probe: GradNorms  #: its per-layer gradient norms on the batch


def probed_network(
    key: Array, xs: ArrayLike, ys: ArrayLike, *, width: int = 32, depth: int = 20
) -> Probed:
    """A LeCun-initialised sigmoid network (64 inputs, 10 outputs) and its gradient profile.

    Args:
        key: PRNG key.
        xs, ys: the batch for :func:`gradcourse.probes.grad_norms`.
        width, depth: network size, >= 1.

    Returns:
        A :class:`Probed`.
    """
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    return Probed(*_probed_network(key, jnp.asarray(xs), jnp.asarray(ys), width, depth))


@jax.jit(static_argnums=(3, 4))
def _probed_network(key, xs, ys, width, depth):
    net = init_mlp(key, 64, width, depth, 10)
    return net, grad_norms(net, xs, ys, "sigmoid")


def sigmoid_stack(
    keys: Array, *, width: int, depth: int, first: MLP | None = None
) -> MLP:
    """One LeCun-initialised network (64 inputs, 10 outputs) per key, stacked; with
    ``first`` given, it replaces the network of ``keys[0]``.

    Args:
        keys: ``(seeds,)`` PRNG keys.
        width, depth: network size, >= 1.
        first: a network to put at seed 0 (e.g. one probed earlier).

    Returns:
        An :class:`~gradcourse.networks.MLP` with a leading seed axis.
    """
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    nets = _sigmoid_stack(keys, width, depth)
    if first is None:
        return nets
    return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b[1:]]), first, nets)


@jax.jit(static_argnums=(1, 2))
def _sigmoid_stack(keys, width, depth):
    return jax.vmap(lambda k: init_mlp(k, 64, width, depth, 10))(keys)


def first_layer_rms(nets: MLP, xs: ArrayLike, ys: ArrayLike) -> np.ndarray:
    """Root-mean-square entry of the first layer's weight gradient, per network.

    :math:`\\lVert\\partial\\mathcal L/\\partial W_1\\rVert_F / \\sqrt{P_1}` for the
    sigmoid networks of a stack, :math:`P_1` the first layer's number of weights.

    Args:
        nets: networks with a leading seed axis.
        xs, ys: the batch.

    Returns:
        ``(seeds,)`` values.
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    first = jax.vmap(lambda p: grad_norms(p, xs, ys, "sigmoid").weights[0])(nets)
    return np.asarray(first) / np.sqrt(nets.first.w[0].size)


def update_norms(params: Any, grads: Any, updates: Any, trace: Trace) -> Array:
    """A ``record`` hook for :func:`gradcourse.train.fit`: the Frobenius norm of each
    layer's weight update (layers 1..depth, then the read-out)."""
    return layer_grad_norms(updates)


def train_runs(
    keys: Array,
    nets: MLP,
    split: Split,
    optimizers: dict[str, optax.GradientTransformation],
    *,
    steps: int,
) -> dict[str, Runs]:
    """Train the same sigmoid networks with each optimiser, recording update norms.

    For each optimiser the stack ``nets`` is trained by
    :func:`gradcourse.train.fit_seeds` (minibatches of 128 drawn from ``keys``, the same
    for every optimiser), with :func:`update_norms` as the record hook, and every network
    is scored on the test digits.

    Args:
        keys: ``(seeds,)`` keys for the minibatches.
        nets: networks with a leading seed axis.
        split: the digits.
        optimizers: ``{name: optax transformation}``.
        steps: steps per run, >= 1.

    Returns:
        ``{name: Runs}`` (:class:`gradcourse.experiments.initialization.Runs`).
    """
    _checks.positive_int("steps", steps)
    model = mlp_model("sigmoid")
    return {
        name: train_stacks(
            keys,
            nets,
            split,
            model=model,
            optimizer=opt,
            steps=steps,
            record=update_norms,
        )
        for name, opt in optimizers.items()
    }
