r"""Rectifier networks: dead units and born-dead networks (learned slopes: leaky_nets).

A ReLU unit :math:`h = \max(0, z)` whose pre-activation is :math:`z \le 0` for every
input of a data set outputs zero for all of them and passes back no gradient:
:math:`\partial L / \partial w = \phi'(z)\,\partial L/\partial h \cdot h_{\text{in}} = 0`
for each of its incoming weights. Nothing then moves it; the unit is **dead**. This
module measures

* the fraction of dead units per layer (:func:`activity`, :func:`init_activity`) at
  initialisation, against depth and width;
* the probability that a deep, narrow network is **born dead**, i.e. is a constant
  function at initialisation because some layer is dead for every input
  (:func:`born_dead_probability`, Lu et al., 2019);
* the dead fraction after one gradient step with a too-large learning rate
  (:func:`dead_after_step`).

What a leaky or learned negative slope changes lives in :mod:`gradcourse.leaky_nets`.

Widths are simulated inside one array of the largest width by masking units, so a sweep
over several widths and thousands of seeds is one compiled function.

References:
    Nair & Hinton, `Rectified linear units improve restricted Boltzmann machines
    <https://icml.cc/Conferences/2010/papers/432.pdf>`_, 2010;
    Lu, Shin, Su & Karniadakis, `Dying ReLU and initialization: theory and numerical
    examples <https://arxiv.org/abs/1903.06733>`_, 2019;
    He, Zhang, Ren & Sun, `Delving deep into rectifiers
    <https://arxiv.org/abs/1502.01852>`_, 2015.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.health import dead_units
from gradcourse.networks import (
    LOSSES,
    MLP,
    ActivationLike,
    Dense,
    Trace,
    forward_batch,
)
from gradcourse.registry import resolve

__all__ = [
    "Activity",
    "activity",
    "init_activity",
    "born_dead_probability",
    "single_input_dead_probability",
    "dead_after_step",
]


class Activity(NamedTuple):
    """How many units of each layer are active, over a set of inputs.

    Every field ends in a ``depth`` axis; :func:`init_activity` adds leading
    ``(widths, seeds)`` axes.

    Attributes:
        dead: fraction of the layer's units with :math:`z \\le 0` for **every** input
            (for ReLU: zero output and zero gradient on the whole set).
        sparsity: fraction of (input, unit) pairs with :math:`z \\le 0` (for ReLU: the
            fraction of activations that are exactly zero).
        layer_dead: True where every unit of the layer is dead, so the layer outputs the
            same vector for every input and the network is a constant function.
        cosine: mean cosine similarity between the activation vectors of two different
            inputs (1 means every input looks the same to the next layer).
    """

    dead: Array
    sparsity: Array
    layer_dead: Array
    cosine: Array


def activity(
    pre: ArrayLike, post: ArrayLike, mask: ArrayLike | None = None
) -> Activity:
    """Dead-unit statistics of one network from its :class:`~gradcourse.networks.Trace`.

    Args:
        pre: pre-activations ``(batch, depth, width)`` (``Trace.pre``).
        post: activations ``(batch, depth, width)`` (``Trace.post``).
        mask: optional ``(width,)`` booleans, True for units that exist (a narrower
            network simulated inside a wider array); default all True.

    Returns:
        An :class:`Activity` whose fields have shape ``(depth,)``.

    Raises:
        ValueError: if ``pre`` or ``post`` is not 3-D, or their shapes differ.

    Examples:
        >>> pre = jnp.array([[[1.0, -1.0]], [[2.0, -3.0]]])  # 2 inputs, 1 layer, 2 units
        >>> a = activity(pre, jnp.maximum(pre, 0))
        >>> float(a.dead[0]), float(a.sparsity[0]), bool(a.layer_dead[0])
        (0.5, 0.5, False)
    """
    pre, post = jnp.asarray(pre), jnp.asarray(post)
    _checks.ndim("pre", pre, 3)
    if post.shape != pre.shape:
        raise ValueError(
            f"post must have the shape of pre {pre.shape}, got {post.shape}"
        )
    m = jnp.ones(pre.shape[-1], bool) if mask is None else jnp.asarray(mask, bool)
    n_units = jnp.sum(m)
    off = pre <= 0
    dead_mask = dead_units(pre) & m  # (depth, width)
    dead = jnp.sum(dead_mask, axis=-1) / n_units
    sparsity = jnp.sum(off & m, axis=(0, 2)) / (n_units * pre.shape[0])
    unit = post / jnp.maximum(jnp.linalg.norm(post, axis=-1, keepdims=True), 1e-30)
    gram = jnp.einsum("bdw,cdw->dbc", unit, unit)  # (depth, batch, batch)
    b = pre.shape[0]
    cosine = (jnp.sum(gram, axis=(1, 2)) - jnp.trace(gram, axis1=1, axis2=2)) / max(
        b * (b - 1), 1
    )
    return Activity(dead, sparsity, jnp.sum(dead_mask, -1) == n_units, cosine)


def _normal(
    key: Array, shape: tuple[int, ...], dtype: jnp.dtype = jnp.float32
) -> Array:
    """Standard normals of ``shape``, drawn as one flat vector and reshaped.

    Same distribution as ``jax.random.normal(key, shape)``, other numbers. With the
    partitionable threefry generator a draw of a many-dimensional shape compiles for
    seconds, a flat draw in a fraction of a second.
    """
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


def _raw_mlp(raw: Array, in_dim: int, width: int, depth: int, out_dim: int,
             gain: Array | float) -> MLP:  # fmt: skip
    r"""An MLP with zero biases from one ``(depth + 1, rows, cols)`` normal draw.

    Hidden weights :math:`\mathcal N(0, g^2/n_{\text{in}})`, read-out LeCun
    :math:`\mathcal N(0, 1/\text{width})`.
    """
    return MLP(
        first=Dense(raw[0, :width, :in_dim] * gain / math.sqrt(in_dim), jnp.zeros(width)),
        hidden=Dense(raw[1:depth, :width, :width] * gain / math.sqrt(width),
                     jnp.zeros((depth - 1, width))),
        readout=Dense(raw[depth, :out_dim, :width] / math.sqrt(width), jnp.zeros(out_dim)),
    )  # fmt: skip


def _raw_draw(key: Array, seeds: int, in_dim: int, width: int, depth: int,
              out_dim: int) -> Array:  # fmt: skip
    """``(seeds, depth + 1, rows, cols)`` normals, enough for :func:`_raw_mlp`."""
    return _normal(key, (seeds, depth + 1, max(width, out_dim), max(width, in_dim)))


def _masked_mlp(
    raw: Array, in_dim: int, width: Array, gain: float, bias_std: float
) -> MLP:
    """An MLP of ``width`` live units stored in ``max_width``-wide arrays (rest zero).

    ``raw`` is one ``(depth, max_width, max(max_width, in_dim) + 1)`` standard-normal
    draw: layer 1's weights are its first ``in_dim`` columns, a hidden layer's its first
    ``max_width`` columns, and every bias its last column (one random call compiles
    once, where a call per tensor would compile one random kernel each).
    """
    max_width = raw.shape[1]
    m = (jnp.arange(max_width) < width).astype(raw.dtype)
    w1 = raw[0, :, :in_dim] * (gain / math.sqrt(in_dim)) * m[:, None]
    wh = raw[1:, :, :max_width] * gain / jnp.sqrt(width.astype(raw.dtype))
    return MLP(
        first=Dense(w1, raw[0, :, -1] * bias_std * m),
        hidden=Dense(wh * m[:, None] * m[None, :], raw[1:, :, -1] * bias_std * m),
        readout=Dense(jnp.zeros((1, max_width), raw.dtype), jnp.zeros(1, raw.dtype)),
    )


@functools.partial(
    jax.jit, static_argnames=("max_width", "depth", "seeds", "activation", "bias_std",
                              "gain"),
)  # fmt: skip
def _init_activity(
    key: Array, xs: Array, widths: Array, *, max_width: int, depth: int, seeds: int,
    activation: ActivationLike, gain: float, bias_std: float,
) -> Activity:  # fmt: skip
    phi = resolve(activation)
    cols = max(max_width, xs.shape[1]) + 1
    raw = _normal(key, (seeds, depth, max_width, cols), xs.dtype)
    live = jnp.arange(max_width)

    def one(r: Array, width: Array) -> Activity:
        params = _masked_mlp(r, xs.shape[1], width, gain, bias_std)
        _, trace = forward_batch(params, xs, phi)
        return activity(trace.pre, trace.post, live < width)

    return jax.vmap(lambda w: jax.vmap(lambda r: one(r, w))(raw))(widths)


def init_activity(
    key: Array,
    xs: ArrayLike,
    *,
    widths: Sequence[int],
    depth: int,
    seeds: int,
    activation: ActivationLike = "relu",
    gain: float = math.sqrt(2.0),
    bias_std: float = 0.0,
) -> Activity:
    r"""Dead-unit statistics of freshly initialised MLPs, for several widths and seeds.

    Each network has ``depth`` hidden layers of ``width`` units, Gaussian weights with
    :math:`\operatorname{Var}(w) = \text{gain}^2 / n_{\text{in}}` (He et al. for the
    default gain :math:`\sqrt 2`) and biases :math:`\mathcal N(0, \text{bias\_std}^2)`
    (zero by default). The same random numbers are used for every width (the narrower
    network is the top-left block of the wider one, rescaled), which makes the
    comparison between widths less noisy; the seeds are independent.

    Args:
        key: PRNG key.
        xs: the inputs on which units are tested, ``(batch, in_dim)``.
        widths: hidden widths, each >= 1.
        depth: hidden layers, >= 1.
        seeds: networks per width, >= 1.
        activation: registry name or elementwise function (hashable).
        gain: weight gain, > 0.
        bias_std: standard deviation of the biases, >= 0.

    Returns:
        An :class:`Activity` whose fields have shape ``(len(widths), seeds, depth)``.

    Raises:
        ValueError: for a bad size, gain or ``bias_std``, or ``xs`` that is not 2-D.
    """
    xs = jnp.asarray(xs, jnp.float32)
    _checks.ndim("xs", xs, 2)
    for w in widths:
        _checks.positive_int("widths[i]", w)
    _checks.positive_int("depth", depth)
    _checks.positive_int("seeds", seeds)
    _checks.positive("gain", gain)
    _checks.non_negative("bias_std", bias_std)
    return _init_activity(
        key, xs, jnp.asarray(widths), max_width=max(widths), depth=depth, seeds=seeds,
        activation=activation, gain=float(gain), bias_std=float(bias_std),
    )  # fmt: skip


def born_dead_probability(layer_dead: ArrayLike) -> Array:
    r"""Probability that a network of depth :math:`L` is born dead, for every :math:`L`.

    A network is born dead when some hidden layer :math:`l \le L` is dead for every
    input: from there on every input produces the same vector, so the output is a
    constant function. Given the per-seed flags of :func:`init_activity`, the estimate
    for depth :math:`L` is the fraction of seeds with a dead layer among the first
    :math:`L` (the first :math:`L` layers of a deeper network are a network of depth
    :math:`L`).

    Args:
        layer_dead: ``(..., seeds, depth)`` booleans (``Activity.layer_dead``).

    Returns:
        ``(..., depth)``: entry :math:`L-1` estimates :math:`P(\text{born dead at
        depth } L)`.

    Raises:
        ValueError: if ``layer_dead`` has fewer than 2 dimensions.

    Examples:
        >>> flags = jnp.array([[False, True, True], [False, False, False]])
        >>> born_dead_probability(flags).tolist()
        [0.0, 0.5, 0.5]
    """
    layer_dead = jnp.asarray(layer_dead, bool)
    if layer_dead.ndim < 2:
        raise ValueError(
            f"layer_dead must have shape (..., seeds, depth), got {layer_dead.shape}"
        )
    dead_by = jnp.cumsum(layer_dead, axis=-1) > 0
    return jnp.mean(dead_by, axis=-2)


def single_input_dead_probability(width: int, depth: int) -> Array:
    r"""Exact born-dead probability on **one** input, zero biases, symmetric weights.

    Given a non-zero input :math:`h_{l-1} \ge 0`, each pre-activation
    :math:`z_i = w_i^\top h_{l-1}` of a layer of width :math:`n` is symmetric about 0
    and the rows are independent, so the layer is dead with probability
    :math:`2^{-n}` whatever happened before; a dead layer stays dead. Hence

    .. math::

        P(\text{dead by depth } L) = 1 - (1 - 2^{-n})^{L}.

    For a set of inputs the network must die on all of them, so this is an upper
    bound for the probability of a constant network.

    Args:
        width: :math:`n \ge 1`.
        depth: largest :math:`L \ge 1`.

    Returns:
        ``(depth,)`` probabilities for :math:`L = 1, \dots, \text{depth}`.

    Examples:
        >>> single_input_dead_probability(1, 2).tolist()
        [0.5, 0.75]
    """
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    layers = jnp.arange(1, depth + 1, dtype=jnp.float32)
    return 1.0 - (1.0 - 2.0**-width) ** layers


def _dead_fraction(trace: Trace) -> Array:
    # A unit is dead when z <= 0 for every input (gradcourse.health.dead_units).
    return jnp.mean(dead_units(trace.pre), axis=-1)


@functools.partial(jax.jit, static_argnames=("width", "depth", "seeds", "activation"))
def _dead_after_step(
    key: Array, xs: Array, ys: Array, xs_eval: Array, learning_rates: Array, *,
    width: int, depth: int, seeds: int, activation: ActivationLike,
) -> tuple[Array, Array]:  # fmt: skip
    phi = resolve(activation)
    raw = _raw_draw(key, seeds, xs.shape[1], width, depth, 10)

    def one(r: Array, lr: Array) -> tuple[Array, Array]:
        p = _raw_mlp(r, xs.shape[1], width, depth, 10, math.sqrt(2.0))

        def loss(q: MLP) -> Array:
            return LOSSES["cross_entropy"](forward_batch(q, xs, phi)[0], ys)

        g = jax.grad(loss)(p)
        p_new = jax.tree.map(lambda a, b: a - lr * b, p, g)
        before = _dead_fraction(forward_batch(p, xs_eval, phi)[1])
        return before, _dead_fraction(forward_batch(p_new, xs_eval, phi)[1])

    return jax.vmap(lambda lr: jax.vmap(lambda r: one(r, lr))(raw))(learning_rates)


def dead_after_step(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    xs_eval: ArrayLike,
    *,
    learning_rates: ArrayLike,
    width: int,
    depth: int,
    seeds: int,
    activation: ActivationLike = "relu",
) -> tuple[Array, Array]:
    r"""Dead fraction per layer before and after one full-batch gradient step.

    Each of ``seeds`` He-initialised MLPs (zero biases, 10 classes) takes one step
    :math:`\theta \leftarrow \theta - \eta\,\nabla_\theta L(\theta; X, y)` of
    cross-entropy on ``(xs, ys)``; a unit is dead if its pre-activation is
    :math:`\le 0` on every row of ``xs_eval``. A large step moves a unit's bias and
    weights by :math:`-\eta\,\partial L/\partial b`, and a unit pushed far enough
    negative never fires again.

    Args:
        key: PRNG key (one network per seed, the same networks for every rate).
        xs: training inputs ``(n, in_dim)``; ys: integer labels 0..9 ``(n,)``.
        xs_eval: inputs on which deadness is measured ``(m, in_dim)``.
        learning_rates: step sizes :math:`\eta > 0`, shape ``(rates,)``.
        width, depth, seeds: network size and number of networks, each >= 1.
        activation: registry name or elementwise function (hashable).

    Returns:
        ``(before, after)``, each ``(rates, seeds, depth)``.

    Raises:
        ValueError: for bad sizes, non-positive rates or mis-shaped inputs.
    """
    xs, ys, xs_eval = jnp.asarray(xs), jnp.asarray(ys), jnp.asarray(xs_eval)
    _checks.ndim("xs", xs, 2)
    _checks.ndim("xs_eval", xs_eval, 2)
    rates = jnp.asarray(learning_rates, jnp.float32)
    _checks.ndim("learning_rates", rates, 1)
    if not bool(jnp.all(rates > 0)):
        raise ValueError(f"learning_rates must all be > 0, got {rates}")
    for name, v in [("width", width), ("depth", depth), ("seeds", seeds)]:
        _checks.positive_int(name, v)
    return _dead_after_step(key, xs, ys, xs_eval, rates, width=width, depth=depth,
                            seeds=seeds, activation=activation)  # fmt: skip
