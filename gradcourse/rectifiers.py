r"""Experiments on rectifier networks: dead units, born-dead networks, learned slopes.

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
  (:func:`dead_after_step`), and whether a leaky slope lets the units recover
  (:func:`kill_and_recover`);
* per-layer gradient norms of leaky-ReLU networks across a sweep of the slope
  (:func:`slope_grad_norms`);
* a network with PReLU units whose slopes are trained with the weights
  (:func:`init_prelu` of a :class:`gradcourse.networks.PReLUNet`, and
  :func:`train_prelu`, :func:`gradcourse.train.fit_seeds` with one key for all seeds).

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

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, train
from gradcourse._linalg import scaled_norm
from gradcourse.activations import leaky_relu, resolve
from gradcourse.health import dead_units
from gradcourse.networks import (
    LOSSES,
    MLP,
    ActivationLike,
    Dense,
    PReLUNet,
    Trace,
    forward_batch,
    forward_with_trace,
    prelu_model,
)

__all__ = [
    "Activity",
    "activity",
    "init_activity",
    "born_dead_probability",
    "single_input_dead_probability",
    "dead_after_step",
    "Recovery",
    "kill_and_recover",
    "slope_grad_norms",
    "init_prelu",
    "PReLURun",
    "train_prelu",
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


class Recovery(NamedTuple):
    """Result of :func:`kill_and_recover`, fields ``(slopes, seeds, depth)`` or
    ``(slopes, seeds)``.

    Attributes:
        killed: fraction of units with :math:`z \\le 0` on every evaluation input right
            after the large step (the same damaged network for every slope).
        recovered: the same fraction after the recovery steps.
        accuracy: evaluation accuracy after the recovery steps.
    """

    killed: Array
    recovered: Array
    accuracy: Array


@functools.partial(jax.jit, static_argnames=("width", "depth", "seeds", "steps"))
def _kill_and_recover(
    key: Array, xs: Array, ys: Array, xs_eval: Array, ys_eval: Array, slopes: Array,
    kill_lr: float, lr: float, *, width: int, depth: int, seeds: int, steps: int,
) -> Recovery:  # fmt: skip
    raw = _raw_draw(key, seeds, xs.shape[1], width, depth, 10)

    def sgd(q: MLP, eta: float, phi: Callable[[Array], Array], clip: bool) -> MLP:
        def loss(p: MLP) -> Array:
            return LOSSES["cross_entropy"](forward_batch(p, xs, phi)[0], ys)

        g = jax.grad(loss)(q)
        if clip:  # global norm <= 1, so the damaged network cannot diverge
            scale = 1.0 / jnp.maximum(1.0, optax.tree.norm(g))
            g = jax.tree.map(lambda t: t * scale, g)
        return jax.tree.map(lambda p, t: p - eta * t, q, g)

    def one(r: Array, a: Array) -> Recovery:
        relu = functools.partial(leaky_relu, negative_slope=0.0)
        phi = functools.partial(leaky_relu, negative_slope=a)
        p = _raw_mlp(r, xs.shape[1], width, depth, 10, math.sqrt(2.0))
        p_killed = sgd(p, kill_lr, relu, clip=False)
        p, _ = jax.lax.scan(
            lambda q, _: (sgd(q, lr, phi, clip=True), None),
            p_killed,
            None,
            length=steps,
        )
        # Both evaluations (damaged net as ReLU, recovered net with slope a) in one
        # vmapped forward pass: one copy of the network in the compiled program.
        pair = jax.tree.map(lambda u, v: jnp.stack([u, v]), p_killed, p)
        out, trace = jax.vmap(
            lambda q, s: forward_batch(
                q, xs_eval, functools.partial(leaky_relu, negative_slope=s)
            )
        )(pair, jnp.stack([jnp.zeros_like(a), a]))
        acc = jnp.mean(jnp.argmax(out[1], -1) == ys_eval)
        dead = jax.vmap(_dead_fraction)(trace)
        return Recovery(dead[0], dead[1], acc)

    return jax.vmap(lambda a: jax.vmap(lambda r: one(r, a))(raw))(slopes)


def kill_and_recover(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    xs_eval: ArrayLike,
    ys_eval: ArrayLike,
    *,
    negative_slopes: ArrayLike,
    kill_lr: float,
    lr: float,
    steps: int,
    width: int,
    depth: int,
    seeds: int,
) -> Recovery:
    r"""Kill units with one too-large step, then train on: do they come back?

    For each seed a He-initialised **ReLU** MLP takes one full-batch gradient step with
    rate ``kill_lr`` on ``(xs, ys)``. The same damaged network then trains for
    ``steps`` full-batch gradient steps with rate ``lr``, the gradient clipped to global
    norm 1 (the large step can leave weights large enough to diverge otherwise), once
    for each leaky-ReLU slope :math:`a` (:math:`a = 0` is ReLU). A unit counts as off
    if :math:`z \le 0` on every row of ``xs_eval``. With :math:`a = 0` such a unit gets
    exactly zero gradient on its incoming weights and bias, so only changes in the
    layers below can revive it; with :math:`a > 0` it still receives
    :math:`a\,\partial L/\partial h` and can climb back.

    Args:
        key: PRNG key (the same networks for every slope).
        xs, ys: training inputs ``(n, in_dim)`` and labels 0..9.
        xs_eval, ys_eval: evaluation inputs and labels.
        negative_slopes: slopes :math:`a \in [0, 1]`, shape ``(slopes,)``.
        kill_lr: the large first step, > 0.
        lr: the ordinary step size, > 0.
        steps: recovery steps, >= 1.
        width, depth, seeds: network size and number of networks, each >= 1.

    Returns:
        A :class:`Recovery`.

    Raises:
        ValueError: for bad sizes, rates, or slopes outside [0, 1].
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    xs_eval, ys_eval = jnp.asarray(xs_eval), jnp.asarray(ys_eval)
    _checks.ndim("xs", xs, 2)
    _checks.ndim("xs_eval", xs_eval, 2)
    slopes = jnp.asarray(negative_slopes, jnp.float32)
    _checks.ndim("negative_slopes", slopes, 1)
    if not bool(jnp.all((slopes >= 0) & (slopes <= 1))):
        raise ValueError(f"negative_slopes must lie in [0, 1], got {slopes}")
    _checks.positive("kill_lr", kill_lr)
    _checks.positive("lr", lr)
    for name, v in [("steps", steps), ("width", width), ("depth", depth),
                    ("seeds", seeds)]:  # fmt: skip
        _checks.positive_int(name, v)
    return _kill_and_recover(key, xs, ys, xs_eval, ys_eval, slopes, float(kill_lr),
                             float(lr), width=width, depth=depth, seeds=seeds,
                             steps=steps)  # fmt: skip


@functools.partial(jax.jit, static_argnames=("width", "depth", "seeds"))
def _slope_grad_norms(
    key: Array, xs: Array, ys: Array, slopes: Array, gains: Array, *, width: int,
    depth: int, seeds: int,
) -> Array:  # fmt: skip
    raw = _raw_draw(key, seeds, xs.shape[1], width, depth, 10)

    def one(r: Array, a: Array, g: Array) -> Array:
        p = _raw_mlp(r, xs.shape[1], width, depth, 10, g)
        phi = functools.partial(leaky_relu, negative_slope=a)

        def loss(taps: Array) -> Array:
            outs = jax.vmap(lambda x, t: forward_with_trace(p, x, phi, taps=t)[0])(
                xs, taps
            )
            return LOSSES["cross_entropy"](outs, ys)

        g_taps = jax.grad(loss)(jnp.zeros((xs.shape[0], depth, width)))
        return scaled_norm(g_taps, axis=(0, 2))

    return jax.vmap(lambda a, g: jax.vmap(lambda r: one(r, a, g))(raw))(slopes, gains)


def slope_grad_norms(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    negative_slopes: ArrayLike,
    gains: ArrayLike,
    width: int,
    depth: int,
    seeds: int,
) -> Array:
    r"""Per-layer :math:`\lVert \partial L / \partial H_l \rVert_F` of leaky-ReLU MLPs.

    For each slope :math:`a` and its weight gain :math:`g`, ``seeds`` MLPs with
    :math:`w \sim \mathcal N(0, g^2/n_{\text{in}})`, zero biases and a LeCun read-out
    are probed on the batch ``(xs, ys)`` (cross-entropy, labels 0..9), as
    :func:`gradcourse.probes.grad_norms` does for one activation. Vectorised over the
    slopes, so a whole sweep compiles once.

    Args:
        key: PRNG key (the same weights, before scaling, for every slope).
        xs, ys: the batch ``(batch, in_dim)`` and integer labels 0..9.
        negative_slopes: slopes :math:`a \in [0, 1]`, shape ``(slopes,)``.
        gains: weight gains :math:`g > 0`, same shape (e.g. :math:`\sqrt{2}` for all,
            or the matched :math:`\sqrt{2/(1+a^2)}`).
        width, depth, seeds: each >= 1.

    Returns:
        ``(slopes, seeds, depth)`` norms, layer 1 (input side) first.

    Raises:
        ValueError: for bad sizes, slopes outside [0, 1], non-positive gains or
            shapes that differ.
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    slopes = jnp.asarray(negative_slopes, jnp.float32)
    gains = jnp.asarray(gains, jnp.float32)
    _checks.ndim("negative_slopes", slopes, 1)
    if gains.shape != slopes.shape:
        raise ValueError(f"gains must have shape {slopes.shape}, got {gains.shape}")
    if not bool(jnp.all((slopes >= 0) & (slopes <= 1))):
        raise ValueError(f"negative_slopes must lie in [0, 1], got {slopes}")
    if not bool(jnp.all(gains > 0)):
        raise ValueError(f"gains must all be > 0, got {gains}")
    for name, v in [("width", width), ("depth", depth), ("seeds", seeds)]:
        _checks.positive_int(name, v)
    return _slope_grad_norms(key, xs, ys, slopes, gains, width=width, depth=depth,
                             seeds=seeds)  # fmt: skip


def init_prelu(
    key: Array,
    in_dim: int,
    width: int,
    depth: int,
    out_dim: int,
    *,
    alpha: float = 0.25,
) -> PReLUNet:
    r"""He-initialised MLP with every slope set to ``alpha`` (0.25 in He et al., 2015).

    Hidden weights :math:`\mathcal N(0, 2/((1+a^2)\,n_{\text{in}}))` (He et al.'s
    variance for a leaky slope :math:`a`), a LeCun read-out and zero biases.

    Args:
        key: PRNG key.
        in_dim, width, depth, out_dim: sizes, each >= 1.
        alpha: the initial slope, a finite real number.

    Returns:
        A :class:`PReLUNet`.

    Raises:
        ValueError: for a bad size or a non-finite ``alpha``.

    Examples:
        >>> net = init_prelu(jax.random.key(0), 4, 8, 3, 2)
        >>> net.alpha.shape, float(net.alpha[0, 0])
        ((3, 8), 0.25)
    """
    if not _checks._is_real(alpha):
        raise ValueError(f"alpha must be a finite real number, got {alpha!r}")
    for name, v in [("in_dim", in_dim), ("width", width), ("depth", depth),
                    ("out_dim", out_dim)]:  # fmt: skip
        _checks.positive_int(name, v)
    return _init_prelu(key, in_dim, width, depth, out_dim, float(alpha))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _init_prelu(key: Array, in_dim: int, width: int, depth: int, out_dim: int,
                alpha: float) -> PReLUNet:  # fmt: skip
    # Jitted, so that jax.vmap(init_prelu) over seeds compiles one program instead of
    # dispatching (and compiling) every operation on its own.
    gain = math.sqrt(2.0 / (1.0 + alpha**2))
    raw = _raw_draw(key, 1, in_dim, width, depth, out_dim)[0]
    mlp = _raw_mlp(raw, in_dim, width, depth, out_dim, gain)
    return PReLUNet(mlp, jnp.full((depth, width), alpha, jnp.float32))


class PReLURun(NamedTuple):
    """Result of :func:`train_prelu`, one leading ``seeds`` axis on every field.

    Attributes:
        params: the trained :class:`PReLUNet` of each seed.
        loss: ``(seeds, steps)`` minibatch loss before each update.
        alpha: ``(seeds, steps, depth)`` mean slope of each layer before each update.
    """

    params: PReLUNet
    loss: Array
    alpha: Array


@dataclasses.dataclass(frozen=True)
class _MeanSlope:
    """``record`` hook of :func:`gradcourse.train.fit`: each layer's mean slope."""

    def __call__(
        self, params: PReLUNet, grads: Any, updates: Any, trace: Trace
    ) -> Array:
        return params.alpha.mean(-1)


def train_prelu(
    key: Array,
    params: PReLUNet,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    optimizer: optax.GradientTransformation,
    steps: int,
    batch_size: int = 128,
) -> PReLURun:
    """Train a stack of :class:`PReLUNet` (one per seed) with the same minibatches.

    The loop is :func:`gradcourse.train.fit_seeds` with the same key for every seed
    (minibatches drawn without replacement from ``jax.random.split(key, steps)``,
    cross-entropy, an optax update), so several seeds train in one compiled program.
    The weights and the slopes are updated alike; nothing constrains the slopes.

    Args:
        key: PRNG key for the minibatch draws (shared by all seeds).
        params: a :class:`PReLUNet` whose arrays have a leading seed axis, e.g.
            ``jax.vmap(lambda k: init_prelu(k, ...))(keys)``.
        xs: training inputs ``(n, in_dim)``; ys: integer labels ``(n,)``.
        optimizer: an optax ``GradientTransformation`` (hashable; it is static).
        steps: number of updates, >= 1.
        batch_size: examples per step, >= 1 (capped at ``n``).

    Returns:
        A :class:`PReLURun`.

    Raises:
        ValueError: for bad ``steps``/``batch_size`` or mis-shaped data.
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    if ys.shape != xs.shape[:1]:
        raise ValueError(f"ys must have shape ({xs.shape[0]},), got {ys.shape}")
    _checks.positive_int("steps", steps)
    _checks.positive_int("batch_size", batch_size)
    if params.alpha.ndim != 3:
        raise ValueError(
            f"params must have a leading seed axis (alpha of shape (seeds, depth, width)),"
            f" got alpha of shape {params.alpha.shape}"
        )
    seeds = params.alpha.shape[0]
    final, history = train.fit_seeds(
        jnp.stack([key] * seeds), params, xs, ys, model=prelu_model,
        optimizer=optimizer, steps=steps, batch_size=batch_size, record=_MeanSlope(),
        on_nonfinite="return",
    )  # fmt: skip
    return PReLURun(final, history.loss, history.records)
