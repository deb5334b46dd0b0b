"""Array helpers: floating inputs, and numerically safe norms for gradients that span many
orders of magnitude."""

from __future__ import annotations

import jax.numpy as jnp
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
