r"""Leaky and parametric rectifiers: the slope sweep, recovery of dead units, learned slopes.

A leaky ReLU :math:`h = \max(z, a z)` with :math:`0 < a < 1` passes back :math:`a` where a
ReLU passes back 0, so a unit pushed to :math:`z \le 0` for every input still learns. This
module measures

* per-layer gradient norms of leaky-ReLU networks across a sweep of the slope, with He's
  gain fixed or matched to the slope (:func:`slope_grad_norms`);
* whether a leaky slope lets units killed by one too-large step recover
  (:func:`kill_and_recover`);
* a network with PReLU units whose slopes are trained with the weights
  (:func:`init_prelu` of a :class:`gradcourse.networks.PReLUNet`, and
  :func:`train_prelu`, :func:`gradcourse.train.fit_seeds` with one key for all seeds).

The networks are drawn as in :mod:`gradcourse.rectifiers` (one flat normal draw per
network), so both modules see the same weights for the same key.

References:
    Maas, Hannun & Ng, `Rectifier nonlinearities improve neural network acoustic models
    <https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf>`_, 2013;
    He et al. (2015) for PReLU and the gain :math:`\sqrt{2/(1+a^2)}`, linked in
    :mod:`gradcourse.rectifiers`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, train
from gradcourse._linalg import scaled_norm
from gradcourse.leaky import leaky_relu
from gradcourse.networks import (
    LOSSES,
    MLP,
    PReLUNet,
    Trace,
    forward_batch,
    forward_with_trace,
    prelu_model,
)
from gradcourse.rectifiers import _dead_fraction, _raw_draw, _raw_mlp

__all__ = [
    "PReLURun",
    "Recovery",
    "init_prelu",
    "kill_and_recover",
    "slope_grad_norms",
    "train_prelu",
]


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
        A :class:`~gradcourse.networks.PReLUNet`.

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
        params: the trained :class:`~gradcourse.networks.PReLUNet` of each seed.
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
    """Train a stack of :class:`~gradcourse.networks.PReLUNet` (one per seed) with the
    same minibatches.

    The loop is :func:`gradcourse.train.fit_seeds` with the same key for every seed
    (the same shuffled-epoch minibatches, :func:`gradcourse.data.minibatches`,
    cross-entropy, an optax update), so several seeds train in one compiled program.
    The weights and the slopes are updated alike; nothing constrains the slopes.

    Args:
        key: PRNG key for the minibatch draws (shared by all seeds).
        params: a :class:`~gradcourse.networks.PReLUNet` whose arrays have a leading seed axis, e.g.
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
