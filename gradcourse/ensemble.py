r"""An ensemble of networks, one per (activation, seed), run as one network.

Comparing every activation of :data:`gradcourse.registry.REGISTRY` one at a time costs
one XLA compilation per activation (and per training run). An **ensemble** instead
stacks one network per (activation, seed) pair along two leading axes ``(A, S)`` and runs
them in a single jitted computation in which each activation is applied only to its own
slice. Member ``(a, s)`` has weights :math:`g_a\,\varepsilon_s / \sqrt{n}` with its
registry gain :math:`g_a` and the same standard-normal :math:`\varepsilon_s` for every
``a`` (common random numbers), so differences between activations are not differences
between draws. :class:`EnsembleModel` makes the ensemble a model for
:func:`gradcourse.train.fit`; :mod:`gradcourse.zoo` runs the chapter's comparisons.

References:
    He et al., `Delving deep into rectifiers <https://arxiv.org/abs/1502.01852>`_, 2015.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, initializers
from gradcourse.networks import MLP, Dense, Trace
from gradcourse.registry import REGISTRY, Activation, get
from gradcourse.registry import names as registry_names

__all__ = [
    "EnsembleModel",
    "check_names",
    "init_ensemble",
    "ensemble_forward",
    "ensemble_model",
]


def check_names(names: Sequence[str] | None) -> tuple[str, ...]:
    """Registry names as a tuple (default all, oldest first), each checked.

    Raises:
        ValueError: for an unknown name or an empty list.
    """
    names = registry_names() if names is None else tuple(names)
    if not names:
        raise ValueError("names must list at least one registered activation, got ()")
    for name in names:
        get(name)  # ValueError naming the valid choices
    return names


def init_ensemble(
    key: Array,
    names: Sequence[str],
    seeds: int,
    *,
    in_dim: int,
    width: int,
    depth: int,
    out_dim: int,
) -> MLP:
    r"""One MLP per (activation, seed), each at its activation's registry gain.

    Seed ``s`` draws standard-normal matrices :math:`\varepsilon_s` (all seeds in one
    draw from ``key``) and activation ``a`` uses the weights
    :math:`g_a \varepsilon_s / \sqrt{n_{\text{in}}}` with its registry gain
    :math:`g_a`: :math:`\mathcal N(0, g_a^2 / n_{\text{in}})`, untruncated, as
    :func:`gradcourse.initializers.lecun_normal` with that gain, from one
    :func:`gradcourse.initializers.normal_blocks` draw. Biases are zero.

    Args:
        key: PRNG key.
        names: registry names, the ``A`` axis.
        seeds: number of seeds ``S`` >= 1.
        in_dim, width, depth, out_dim: network size, as in
            :func:`gradcourse.networks.init_mlp`.

    Returns:
        An :class:`~gradcourse.networks.MLP` whose arrays have two leading axes
        ``(A, S)``.

    Raises:
        ValueError: for an unknown name or a size that is not an integer >= 1.
    """
    names = check_names(names)
    _checks.positive_int("seeds", seeds)
    for name, value in [("in_dim", in_dim), ("width", width), ("depth", depth),
                        ("out_dim", out_dim)]:  # fmt: skip
        _checks.positive_int(name, value)
    gains = np.array([get(n).gain for n in names], np.float32)
    return _init_scaled(key, gains, seeds, in_dim, width, depth, out_dim)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def _init_scaled(
    key: Array, gains: Array, seeds: int, in_dim: int, width: int, depth: int,
    out_dim: int,
) -> MLP:  # fmt: skip
    """Unit-variance fan-in draws for every seed (one draw, all layers) times each
    activation's gain, in one program (eager scaling would compile a broadcast and a
    multiply per layer shape)."""
    shapes = [(width, in_dim), (depth - 1, width, width), (out_dim, width)]
    blocks = initializers.normal_blocks(key, shapes, batch=(seeds,))

    def layer(eps: Array, shape: tuple[int, ...]) -> Dense:
        w = eps / math.sqrt(shape[-1])  # Var(w) = 1 / fan_in
        g = gains.reshape((-1,) + (1,) * w.ndim)
        return Dense(g * w[None], jnp.zeros(gains.shape + w.shape[:-1]))

    return MLP(*(layer(e, s) for e, s in zip(blocks, shapes, strict=True)))


def _with_analytic_grad(entry: Activation) -> Callable[[Array], Array]:
    """The registry function whose derivative, under ``jax.grad``, is the registry's
    analytic ``grad`` (one multiply instead of the differentiated graph of ``fn``).

    The tests of :mod:`gradcourse.activations` show ``grad`` equals ``jax.grad(fn)``,
    including the kink conventions; here it keeps the compiled program of a 14-activation
    ensemble small.
    """
    phi = jax.custom_jvp(lambda z: entry.fn(z))
    phi.defjvp(lambda primals, tangents: (
        entry.fn(primals[0]), entry.grad(primals[0]) * tangents[0]
    ))  # fmt: skip
    return phi


# Built once at import (cheap: a wrapper per entry), so every trace of the ensemble sees
# the same function objects.
_ANALYTIC = {name: _with_analytic_grad(entry) for name, entry in REGISTRY.items()}


def _apply(fns: tuple[Callable[[Array], Array], ...], z: Array) -> Array:
    """Activation ``a`` on slice ``z[a]`` only (no work spent on the other functions)."""
    return jnp.stack([f(z[a]) for a, f in enumerate(fns)])


def ensemble_forward(
    params: MLP,
    xs: ArrayLike,
    names: Sequence[str],
    *,
    taps: ArrayLike | None = None,
) -> tuple[Array, Trace]:
    r"""Run every member of an ensemble on the same batch.

    Member ``(a, s)`` computes :math:`h_l = \phi_a(W_l h_{l-1} + b_l)` exactly as
    :func:`gradcourse.networks.forward_with_trace`, with the layers scanned.

    Args:
        params: ensemble parameters with leading axes ``(A, S)`` (:func:`init_ensemble`).
        xs: inputs ``(batch, in_dim)``, shared by all members.
        names: the ``A`` registry names, in the order of ``params``.
        taps: optional ``(A, S, batch, depth, width)`` added to each layer's activation;
            their gradient is :math:`\partial L / \partial h_l` (as in
            :func:`gradcourse.networks.forward_with_trace`).

    Returns:
        ``(outputs, trace)``: outputs ``(A, S, batch, out_dim)`` and a
        :class:`~gradcourse.networks.Trace` with fields ``(A, S, batch, depth, width)``.
    """
    fns = tuple(_ANALYTIC[n] for n in check_names(names))
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    a, s, width = params.first.w.shape[:3]
    depth = 1 + params.hidden.w.shape[2]
    if len(fns) != a:
        raise ValueError(f"names must have {a} entries like params, got {len(fns)}")
    if taps is None:
        taps = jnp.zeros((a, s, xs.shape[0], depth, width), xs.dtype)
    taps = jnp.moveaxis(jnp.asarray(taps), 3, 0)  # (depth, A, S, batch, width)

    z1 = jnp.einsum("asoi,bi->asbo", params.first.w, xs) + params.first.b[:, :, None]
    h1 = _apply(fns, z1) + taps[0]

    def layer(h: Array, inputs: tuple[Array, Array, Array]) -> tuple[Array, tuple]:
        w, b, tap = inputs
        z = jnp.einsum("asoi,asbi->asbo", w, h) + b[:, :, None]
        h_next = _apply(fns, z) + tap
        return h_next, (z, h_next)

    stacked = (jnp.moveaxis(params.hidden.w, 2, 0), jnp.moveaxis(params.hidden.b, 2, 0))
    h_last, (zs, hs) = jax.lax.scan(layer, h1, (*stacked, taps[1:]))
    out = jnp.einsum("asoi,asbi->asbo", params.readout.w, h_last)
    out = out + params.readout.b[:, :, None]
    pre = jnp.moveaxis(jnp.concatenate([z1[None], zs]), 0, 3)
    post = jnp.moveaxis(jnp.concatenate([h1[None], hs]), 0, 3)
    return out, Trace(pre, post)


@dataclasses.dataclass(frozen=True)
class EnsembleModel:
    """A :func:`gradcourse.train.fit` model that runs a whole ensemble as one network.

    ``model(params, xs)`` returns outputs of shape ``(batch, A * S, out_dim)`` (member
    axis second, so that labels tiled to ``(n, A * S)`` line up with them) and a
    :class:`~gradcourse.networks.Trace` of shape ``(batch, depth, A * S * width)``, so
    that :func:`~gradcourse.train.fit`'s per-layer finiteness check covers every member.
    With ``kind="cross_entropy"`` the loss :func:`~gradcourse.train.fit` minimises is
    then the **mean** of the member losses, so each member's gradient is its own
    divided by ``A * S``; :func:`gradcourse.zoo.train_registry` multiplies the learning
    rate back. A value (hashable, compared by ``names``): equal models share one
    compiled program.

    Attributes:
        names: the ``A`` registry names, in the order of the parameters.
    """

    names: tuple[str, ...]

    def __call__(self, params: MLP, xs: Array) -> tuple[Array, Trace]:
        out, trace = ensemble_forward(params, xs, self.names)
        a, s, b = out.shape[:3]
        outputs = jnp.moveaxis(out.reshape(a * s, b, -1), 0, 1)

        def flat(t: Array) -> Array:  # (A, S, B, L, W) -> (B, L, A*S*W)
            return jnp.moveaxis(t, (0, 1), (2, 3)).reshape(b, t.shape[3], -1)

        return outputs, Trace(flat(trace.pre), flat(trace.post))


def ensemble_model(names: Sequence[str]) -> EnsembleModel:
    """``EnsembleModel(names)`` with the names checked against the registry.

    Raises:
        ValueError: for an unknown or empty list of names.
    """
    return EnsembleModel(check_names(names))
