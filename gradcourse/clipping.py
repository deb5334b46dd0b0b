r"""Gradient clipping by value and by global norm, as pure functions and optax transforms.

Clipping by **global norm** (Pascanu, Mikolov & Bengio, 2013) rescales the whole gradient
pytree when its norm exceeds a threshold :math:`c`:

.. math::

    \lVert g \rVert = \Big(\sum_{\text{leaves } k} \lVert g_k \rVert_F^2\Big)^{1/2},
    \qquad
    \tilde g = \begin{cases} g & \lVert g \rVert < c \\
    \dfrac{c}{\lVert g \rVert}\, g & \text{otherwise.} \end{cases}

It keeps the direction and only shortens the step, and every layer is multiplied by the
same factor: the ratio between two layers' gradient norms is unchanged, so a vanishing
gradient stays exactly as vanishing. Clipping **by value** clamps every entry to
:math:`[-c, c]` separately, which can change the direction.

``clip_by_global_norm`` and ``clip`` return optax ``GradientTransformation`` objects equal
to ``optax.clip_by_global_norm`` and ``optax.clip`` (tested); ``global_norm``,
``clip_tree_by_global_norm`` and ``clip_tree_by_value`` are the pure functions inside them.
A bound is checked to be a finite number > 0, unless it is traced (computed inside
``jit``, or mapped over with ``jax.vmap``), as optax allows too.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax import Array

from gradcourse import _checks
from gradcourse._linalg import scaled_norm

__all__ = [
    "clip",
    "clip_by_global_norm",
    "clip_each_by_norm",
    "clip_tree_by_global_norm",
    "clip_tree_by_value",
    "global_norm",
]

Tree = Any


def _bound(name: str, value: Any) -> Any:
    """``value`` checked to be a finite number > 0; a traced scalar is passed through.

    A bound computed inside ``jit`` (say, a tenth of the gradient's own norm) or mapped
    over with ``jax.vmap`` is a tracer, whose value is unknown until run time.
    """
    if isinstance(value, jax.core.Tracer):
        return value
    return _checks.positive(name, value)


def global_norm(tree: Tree) -> Array:
    r"""The Euclidean norm of all leaves together, :math:`\sqrt{\sum_k \lVert g_k\rVert_F^2}`.

    The leaves are flattened into one vector whose norm is computed rescaled
    (``gradcourse._linalg.scaled_norm``), so neither a gradient of 1e-30 (whose
    squares underflow float32) nor one of 1e30 (whose squares overflow) gives 0 or Inf.
    In between it equals ``optax.global_norm`` up to round-off (tested). (One reduction
    over the concatenated leaves also compiles several times faster than one per leaf.)

    Examples:
        >>> float(global_norm({"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}))
        5.0
        >>> float(global_norm({"a": jnp.array([3e-30]), "b": jnp.array([4e-30])})) > 0
        True
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros(())
    return scaled_norm(jnp.concatenate([jnp.ravel(leaf) for leaf in leaves]))


def clip_tree_by_global_norm(tree: Tree, max_norm: float) -> tuple[Tree, Array]:
    r"""Rescale ``tree`` so that its global norm is at most ``max_norm``.

    .. math::

        \tilde g = g \cdot \min\!\Big(1, \frac{c}{\lVert g \rVert}\Big)

    (written with a ``where`` as in optax, so a tree already inside the ball is returned
    bit for bit).

    Args:
        tree: a pytree of arrays (e.g. the gradient of a network).
        max_norm: the bound :math:`c > 0` (a traced scalar inside ``jit`` or
            ``jax.vmap`` is accepted unchecked).

    Returns:
        ``(clipped_tree, norm_before)``.

    Raises:
        ValueError: if ``max_norm`` is not a finite number > 0.

    References:
        Pascanu, Mikolov & Bengio, `On the difficulty of training recurrent neural
        networks <https://proceedings.mlr.press/v28/pascanu13.html>`_, 2013.

    Examples:
        >>> clipped, norm = clip_tree_by_global_norm(jnp.array([3.0, 4.0]), 1.0)
        >>> [round(v, 3) for v in clipped.tolist()], float(norm)
        ([0.6, 0.8], 5.0)
    """
    c = _bound("max_norm", max_norm)
    norm = global_norm(tree)
    inside = norm < c
    clipped = jax.tree.map(
        lambda g: jnp.where(inside, g, g / norm.astype(g.dtype) * c), tree
    )
    return clipped, norm


def clip_tree_by_value(tree: Tree, max_delta: float) -> Tree:
    r"""Clamp every entry of ``tree`` to :math:`[-c, c]`.

    Args:
        tree: a pytree of arrays.
        max_delta: the bound :math:`c > 0`.

    Returns:
        The clamped pytree.

    Raises:
        ValueError: if ``max_delta`` is not a finite number > 0.

    Examples:
        >>> clip_tree_by_value(jnp.array([-3.0, 0.5, 2.0]), 1.0).tolist()
        [-1.0, 0.5, 1.0]
    """
    c = _bound("max_delta", max_delta)
    return jax.tree.map(lambda g: jnp.clip(g, -c, c), tree)


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
    """:func:`clip_tree_by_global_norm` as an optax transform (stateless).

    Chain it before an optimiser, ``optax.chain(clip_by_global_norm(1.0),
    optax.adam(1e-3))``, to clip the gradient before the optimiser sees it.

    Raises:
        ValueError: if ``max_norm`` is not a finite number > 0.
    """
    c = _bound("max_norm", max_norm)

    def update(updates: Tree, state: Any, params: Tree = None) -> tuple[Tree, Any]:
        del params
        return clip_tree_by_global_norm(updates, c)[0], state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def clip(max_delta: float) -> optax.GradientTransformation:
    """:func:`clip_tree_by_value` as an optax transform (stateless).

    Raises:
        ValueError: if ``max_delta`` is not a finite number > 0.
    """
    c = _bound("max_delta", max_delta)

    def update(updates: Tree, state: Any, params: Tree = None) -> tuple[Tree, Any]:
        del params
        return clip_tree_by_value(updates, c), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def clip_each_by_norm(max_norm: float) -> optax.GradientTransformation:
    r"""Clip every leaf (weight tensor) to norm ``max_norm`` *separately* (stateless).

    .. math::

        \tilde g_k = g_k \cdot \min\!\Big(1, \frac{c}{\lVert g_k \rVert_F}\Big)
        \quad\text{for each leaf } k .

    This is what Keras's ``clipnorm`` argument does (each weight's gradient on its own);
    Keras's ``global_clipnorm`` is :func:`clip_by_global_norm`. Per-leaf clipping
    changes the relative sizes of the layers' gradients, and so the direction of the
    whole update; the global version does not.

    Raises:
        ValueError: if ``max_norm`` is not a finite number > 0.

    Examples:
        >>> opt = clip_each_by_norm(1.0)
        >>> g = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([0.5])}
        >>> out, _ = opt.update(g, opt.init(g))
        >>> [round(v, 3) for v in out["a"].tolist()], out["b"].tolist()
        ([0.6, 0.8], [0.5])
    """
    c = _bound("max_norm", max_norm)

    def update(updates: Tree, state: Any, params: Tree = None) -> tuple[Tree, Any]:
        del params
        return jax.tree.map(lambda g: clip_tree_by_global_norm(g, c)[0], updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)
