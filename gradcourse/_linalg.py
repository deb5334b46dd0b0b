"""Array helpers: floating inputs, and numerically safe norms for gradients that span many
orders of magnitude."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike


def inexact(x: ArrayLike) -> Array:
    """``x`` as a JAX array of a floating dtype (integers become the default float)."""
    return jnp.asarray(x, dtype=jnp.result_type(x, 1.0))


def scaled_norm(a: ArrayLike, axis: int | tuple[int, ...] | None = None) -> Array:
    r"""Euclidean (Frobenius) norm over ``axis``, computed as :math:`m\,\lVert a/m\rVert`
    with :math:`m = \max|a|`.

    Squaring float32 entries below about 1e-19 underflows to 0, so a plain
    ``sqrt(sum(a**2))`` reports an exactly-zero gradient for the deepest layers of a
    vanishing network; rescaling first keeps every norm down to the smallest normal
    float32. All-zero slices give 0; a slice with a NaN or Inf entry gives NaN.

    Examples:
        >>> float(scaled_norm(jnp.array([3e-30, 4e-30]))) > 0
        True
    """
    a = jnp.asarray(a)
    m = jnp.max(jnp.abs(a), axis=axis, keepdims=True)
    safe = jnp.where(m > 0, m, 1.0)
    inner = jnp.sqrt(jnp.sum(jnp.square(a / safe), axis=axis, keepdims=True))
    return (
        jnp.squeeze(m * inner, axis=axis)
        if axis is not None
        else (m * inner).reshape(())
    )


# Concrete inputs to the fixed-point routines are evaluated in blocks of this many values,
# so one compiled program per activation serves a scalar, a line and a whole phase
# diagram alike (XLA compiles a new program for every new shape).
_BLOCK = 64


def in_blocks(fn: Callable[..., Any], *args: ArrayLike) -> Any:
    """``fn(*args)`` for an elementwise jitted ``fn``, evaluated in fixed-size blocks.

    The arguments are broadcast, flattened and padded (with their first value) to a
    multiple of ``_BLOCK`` in NumPy, and ``fn`` runs on one block at a time, so it is
    compiled once for every input shape. Traced arguments (inside ``jit`` or ``vmap``)
    go to ``fn`` directly.
    """
    if any(isinstance(a, jax.core.Tracer) for a in args):
        return fn(*args)
    flat = np.broadcast_arrays(*(np.asarray(a, np.float32) for a in args))
    shape, size = flat[0].shape, flat[0].size
    if size == 0:
        return fn(*(jnp.asarray(a) for a in flat))
    pad = -size % _BLOCK
    flat = [
        np.concatenate([a.ravel(), np.full(pad, a.flat[0], np.float32)]) for a in flat
    ]
    blocks = [
        jax.tree.map(np.asarray, fn(*(a[i : i + _BLOCK] for a in flat)))
        for i in range(0, size + pad, _BLOCK)
    ]
    return jax.tree.map(
        lambda *b: jnp.asarray(np.concatenate(b)[:size].reshape(shape)), *blocks
    )
