r"""Experiments of the chapter on gradient clipping.

Clipping by global norm (Pascanu et al., 2013) rescales the whole gradient,
:math:`\tilde g = g\,\min(1, c/\lVert g\rVert)`: it keeps the direction and bounds the step.
:func:`clipping_directions` compares it with clipping by value, :func:`train` lets an
exploding linear network (:func:`init_and_probe`) train with and without it, and
:func:`clip_vanishing` shows that one common factor cannot fix a vanishing gradient, whose
problem is a ratio between layers. :func:`keras_checks` checks the optax translations of
Keras's ``clipnorm`` and ``global_clipnorm``.

References:
    Pascanu, Mikolov & Bengio, `On the difficulty of training recurrent neural networks
    <https://arxiv.org/abs/1211.5063>`__, 2013.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from .. import _checks, optim, probes
from ..clipping import (
    clip,
    clip_by_global_norm,
    clip_each_by_norm,
    clip_tree_by_global_norm,
    global_norm,
)
from ..data import Split
from ..networks import MLP, init_mlp, loss, mlp_model
from ..probes import layer_grad_norms
from ..train import History, fit_seeds


def identity(x: Array) -> Array:
    """The activation of the chapter's linear network: :math:`\\phi(u) = u`."""
    return x


def _flat(tree: Any) -> Array:
    """All entries of a pytree in one vector."""
    return jnp.concatenate([leaf.ravel() for leaf in jax.tree.leaves(tree)])


def cosine(a: Any, b: Any) -> Array:
    r"""Cosine of the angle between two pytrees of one structure, as flat vectors:
    :math:`\langle a, b\rangle / (\lVert a\rVert\,\lVert b\rVert)`."""
    va, vb = _flat(a), _flat(b)
    return va @ vb / (jnp.linalg.norm(va) * jnp.linalg.norm(vb))


class ClipCheck(NamedTuple):
    """What :func:`clipping_directions` returns."""

    equal_optax: (
        Array  #: our clippings equal optax's (by norm to 1e-6, by value exactly)
    )
    norm_before: Array  #: the gradient's global norm
    norm_after: Array  #: its global norm after clipping by norm
    cos_norm: Array  #: cosine between the gradient and its clipping by norm
    cos_value: Array  #: cosine between the gradient and its clipping by value


@functools.partial(jax.jit, static_argnames=("max_norm", "max_delta"))
def clipping_directions(
    key: Array, *, max_norm: float = 1.0, max_delta: float = 1.0
) -> ClipCheck:
    r"""Clip one random gradient by global norm and by value, and compare the directions.

    The gradient has a large weight matrix (entries of standard deviation 50, ``(4, 3)``)
    and a small bias (0.1, ``(3,)``). Clipping by norm keeps its direction (cosine 1);
    clipping by value, :math:`\tilde g_k = \operatorname{clip}(g_k, -\delta, \delta)`,
    flattens the large entries and turns it.

    Args:
        key: PRNG key for the gradient.
        max_norm: :math:`c` of :func:`gradcourse.clipping.clip_by_global_norm`.
        max_delta: :math:`\delta` of :func:`gradcourse.clipping.clip`.

    Returns:
        A :class:`ClipCheck`.

    Raises:
        ValueError: for a ``max_norm`` or ``max_delta`` that is not > 0.
    """
    _checks.positive("max_norm", max_norm)
    _checks.positive("max_delta", max_delta)
    kw, kb = jax.random.split(key)
    g = {
        "w": 50.0 * jax.random.normal(kw, (4, 3)),
        "b": 0.1 * jax.random.normal(kb, (3,)),
    }
    ours = clip_by_global_norm(max_norm).update(g, None)[0]
    theirs = optax.clip_by_global_norm(max_norm).update(g, None)[0]
    by_value = clip(max_delta).update(g, None)[0]
    by_value_optax = optax.clip(max_delta).update(g, None)[0]
    same = jnp.allclose(_flat(ours), _flat(theirs), rtol=1e-6)
    same_value = jnp.array_equal(_flat(by_value), _flat(by_value_optax))
    return ClipCheck(
        same & same_value,
        global_norm(g),
        global_norm(ours),
        cosine(g, ours),
        cosine(g, by_value),
    )


@functools.partial(jax.jit, static_argnames=("depth", "width", "sigma2", "classes"))
def init_and_probe(
    keys: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    depth: int = 16,
    width: int = 32,
    sigma2: float = 1.3,
    classes: int = 10,
) -> tuple[MLP, Array]:
    r"""Linear networks with weight variance :math:`\sigma_w^2/n_{\text{in}}`, one per key,
    and the ratio :math:`\lVert\partial\mathcal L/\partial H_1\rVert /
    \lVert\partial\mathcal L/\partial H_L\rVert` of each at initialisation.

    A linear layer multiplies the squared norm of a backward signal by :math:`\sigma_w^2`
    on average, so with :math:`\sigma_w^2 > 1` the gradient grows toward the input.

    Args:
        keys: ``(seeds,)`` PRNG keys.
        xs, ys: a batch of inputs ``(batch, in_dim)`` and integer labels.
        depth: hidden layers.
        width: units per hidden layer.
        sigma2: :math:`\sigma_w^2`.
        classes: outputs.

    Returns:
        ``(params, ratio)``: :class:`gradcourse.networks.MLP` with a leading seed axis,
        and ``(seeds,)`` ratios (:func:`gradcourse.probes.layer_ratio`).

    Raises:
        ValueError: for a size that is not a positive integer or a ``sigma2`` <= 0.
    """
    for name, value in [("depth", depth), ("width", width), ("classes", classes)]:
        _checks.positive_int(name, value)
    _checks.positive("sigma2", sigma2)
    xs = jnp.asarray(xs)
    w_init = jax.nn.initializers.variance_scaling(
        sigma2, "fan_in", "normal", in_axis=-1, out_axis=-2
    )

    def one(k: Array) -> tuple[MLP, Array]:
        p = init_mlp(k, xs.shape[1], width, depth, classes, w_init=w_init)
        return p, probes.layer_ratio(probes.grad_norms(p, xs, ys, identity).hidden)

    return jax.vmap(one)(keys)


def train(
    keys: Array,
    params: MLP,
    split: Split,
    optimizer: optax.GradientTransformation,
    *,
    steps: int = 300,
    batch_size: int = 64,
) -> History:
    """Train linear networks (:func:`identity`) on the digits, one run per key, and
    return the history, with the first NaN/Inf of each run in ``history.nonfinite``
    instead of an exception (:func:`gradcourse.train.fit_seeds` with
    ``on_nonfinite="return"``).

    Args:
        keys: ``(seeds,)`` PRNG keys for the minibatches.
        params: :class:`gradcourse.networks.MLP` with a leading seed axis.
        split: the digits (:func:`gradcourse.data.digits`).
        optimizer: an optax ``GradientTransformation``, clipped or not.
        steps, batch_size: as in :func:`gradcourse.train.fit`.

    Returns:
        The :class:`gradcourse.train.History`; every field has a leading seed axis.
    """
    return fit_seeds(
        keys,
        params,
        *split.train,
        model=mlp_model(identity),
        optimizer=optimizer,
        steps=steps,
        batch_size=batch_size,
        on_nonfinite="return",
    )[1]


def global_grad_norms(history: History) -> np.ndarray:
    r"""The global gradient norm :math:`\lVert g_t\rVert = (\sum_l \lVert g_{t,l}\rVert^2)^{1/2}`
    of every step, before any clipping, from the per-layer norms the history records
    (in float64, so that norms near the float32 limit do not overflow).

    Args:
        history: a :class:`gradcourse.train.History` of :func:`train`.

    Returns:
        ``(seeds, steps)`` norms (NaN or Inf after a run overflowed).
    """
    norms = np.asarray(history.grad_norms, np.float64)
    return np.sqrt((norms**2).sum(-1))


class VanishingClip(NamedTuple):
    """What :func:`clip_vanishing` returns."""

    net: MLP  #: the sigmoid network
    grads: MLP  #: its loss gradient
    threshold: Array  #: the clipping threshold :math:`c`
    before: Array  #: per-layer gradient norms, layers 1..L then the read-out
    after: Array  #: the same after clipping by global norm at :math:`c`


@functools.partial(jax.jit, static_argnames=("depth", "width", "fraction", "classes"))
def clip_vanishing(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    depth: int = 20,
    width: int = 32,
    fraction: float = 0.1,
    classes: int = 10,
) -> VanishingClip:
    r"""Clip the gradient of a deep sigmoid network (LeCun initialisation), whose gradient
    vanishes toward the input, by global norm at ``fraction`` of its own norm (so that
    clipping is active), and measure every layer's gradient norm before and after.

    Clipping multiplies every layer by one factor :math:`s = \min(1, c/\lVert g\rVert)`, so
    the ratios between layers do not change.

    Args:
        key: PRNG key for the network.
        xs, ys: a batch of inputs and integer labels.
        depth: hidden layers.
        width: units per hidden layer.
        fraction: :math:`c / \lVert g\rVert`.
        classes: outputs.

    Returns:
        A :class:`VanishingClip`.

    Raises:
        ValueError: for a size that is not a positive integer or a ``fraction`` outside
            (0, 1].
    """
    for name, value in [("depth", depth), ("width", width), ("classes", classes)]:
        _checks.positive_int(name, value)
    _checks.in_range("fraction", fraction, 0.0, 1.0, closed="right")
    xs = jnp.asarray(xs)
    net = init_mlp(key, xs.shape[1], width, depth, classes)
    grads = jax.grad(loss)(net, xs, ys, "sigmoid")
    threshold = fraction * global_norm(grads)
    clipped, _ = clip_tree_by_global_norm(grads, threshold)
    before, after = (layer_grad_norms(g) for g in (grads, clipped))
    return VanishingClip(net, grads, threshold, before, after)


@jax.jit
def keras_checks(grads: MLP, params: MLP, threshold: ArrayLike) -> tuple[Array, Array]:
    r"""The optax translations of Keras's clipping arguments, checked on one gradient.

    Keras's ``clipnorm`` clips each weight tensor on its own
    (:func:`gradcourse.clipping.clip_each_by_norm`); ``global_clipnorm`` is
    ``optax.clip_by_global_norm``, and chained with Adam it must give the same update
    whether the clipping and Adam are ours or optax's.

    Args:
        grads: a gradient (:class:`gradcourse.networks.MLP`).
        params: the parameters it is the gradient of.
        threshold: the per-tensor clipping norm is a fifth of it.

    Returns:
        ``(per_tensor_norms, same_update)``: the per-layer norms after per-tensor
        clipping (layers 1..L, then the read-out), and whether our clip-then-Adam update
        equals optax's to ``1e-7``.
    """
    chained = optax.chain(clip_by_global_norm(1.0), optim.adam(1e-3))
    reference = optax.chain(
        optax.clip_by_global_norm(1.0), optax.adam(learning_rate=1e-3)
    )
    per_tensor = clip_each_by_norm(threshold / 5).update(grads, None)[0]
    u1 = chained.update(grads, chained.init(params), params)[0]
    u2 = reference.update(grads, reference.init(params), params)[0]
    same = jnp.allclose(_flat(u1), _flat(u2), atol=1e-7)
    return layer_grad_norms(per_tensor), same
