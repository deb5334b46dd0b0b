r"""Residual MLPs: a stack of blocks :math:`h_l = h_{l-1} + \alpha F_l(h_{l-1})`, scanned.

The network embeds the input with one ordinary layer, then applies ``depth`` blocks of
equal width and a linear read-out:

.. math::

    h_0 = \phi(W_{\text{in}} x + b_{\text{in}}), \qquad
    h_l = h_{l-1} + \alpha\, F_l(h_{l-1}) \quad (l = 1, \dots, L), \qquad
    f(x) = W_{\text{out}} h_L + b_{\text{out}},

with a one-layer branch :math:`F_l(h) = \phi(W_l h + b_l)` or a two-layer branch
:math:`F_l(h) = V_l\,\phi(W_l h + b_l) + c_l`. The shortcut is the identity and nothing
is applied after the addition (the "identity mapping" of He et al., 2016b), so block
:math:`l` has the Jacobian

.. math::

    \frac{\partial h_l}{\partial h_{l-1}} = I + \alpha\, \frac{\partial F_l}{\partial h}
    = I + \alpha\, \operatorname{diag}(\phi'(z_l))\, W_l
    \quad\text{or}\quad I + \alpha\, V_l \operatorname{diag}(\phi'(z_l))\, W_l .

With ``residual=False`` the same parameters give the *plain* network
:math:`h_l = F_l(h_{l-1})`; with a one-layer branch that is exactly
:func:`gradcourse.networks.forward` on an MLP of depth :math:`L + 1`, so plain and
residual networks can be compared weight for weight. A :class:`Wiring` (shortcut or
not, :math:`\alpha_l`, per block) travels beside the weights as ``fit_seeds``'
``per_run``, so that :func:`gradcourse.train.fit_seeds` trains plain and residual
networks in one compiled loop (:class:`WiredModel`).

References:
    He, Zhang, Ren & Sun, `Deep residual learning for image recognition
    <https://arxiv.org/abs/1512.03385>`_, 2016.
    He, Zhang, Ren & Sun, `Identity mappings in deep residual networks
    <https://arxiv.org/abs/1603.05027>`_, 2016.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.networks import (
    MLP,
    ActivationLike,
    Dense,
    ResidualBlock,
    Trace,
    scan_forward,
)
from gradcourse.registry import resolve

__all__ = [
    "ResidualMLP",
    "ResidualModel",
    "WiredModel",
    "Wiring",
    "as_mlp",
    "block",
    "block_jacobian",
    "forward",
    "forward_batch",
    "forward_with_trace",
    "init_residual_mlp",
]

Initializer = Callable[..., Array]


class ResidualMLP(NamedTuple):
    """Parameters of a residual MLP.

    Attributes:
        first: the embedding layer, ``w`` of shape ``(width, in_dim)``.
        branch: one or two stacked :class:`~gradcourse.networks.Dense` layers per block,
            each ``w`` of shape ``(depth, width, width)``: ``(W,)`` or ``(W, V)``.
        readout: linear output layer, ``w`` of shape ``(out_dim, width)``.
    """

    first: Dense
    branch: tuple[Dense, ...]
    readout: Dense

    @property
    def depth(self) -> int:
        """Number of residual blocks :math:`L`."""
        return self.branch[0].w.shape[0]

    @property
    def width(self) -> int:
        """Units per layer."""
        return self.first.w.shape[0]


def init_residual_mlp(
    key: Array,
    in_dim: int,
    width: int,
    depth: int,
    out_dim: int,
    *,
    branch_layers: int = 1,
    w_init: Initializer | None = None,
    b_init: Initializer | None = None,
    dtype: jnp.dtype = jnp.float32,
) -> ResidualMLP:
    """Initialise a :class:`ResidualMLP`; every weight is drawn with ``w_init(key, (out, in))``.

    Args:
        key: PRNG key.
        in_dim, width, depth, out_dim: sizes, integers >= 1 (``depth`` counts blocks).
        branch_layers: 1 or 2 weight layers per branch.
        w_init: ``jax.nn.initializers``-style initialiser for ``(out, in)`` weights
            (pass ``in_axis=-1, out_axis=-2``); default LeCun normal, ``Var(w) = 1/fan_in``.
        b_init: bias initialiser; default zeros.
        dtype: parameter dtype.

    Returns:
        The parameters.

    Raises:
        ValueError: if a size is not an integer >= 1 or ``branch_layers`` is not 1 or 2.

    Examples:
        >>> p = init_residual_mlp(jax.random.key(0), 3, 8, 10, 2, branch_layers=2)
        >>> p.depth, len(p.branch), p.branch[1].w.shape
        (10, 2, (10, 8, 8))
    """
    for name, value in [("in_dim", in_dim), ("width", width), ("depth", depth),
                        ("out_dim", out_dim)]:  # fmt: skip
        _checks.positive_int(name, value)
    if branch_layers not in (1, 2):
        raise ValueError(f"branch_layers must be 1 or 2, got {branch_layers!r}")
    w_init = w_init or _lecun_normal
    b_init = b_init or jax.nn.initializers.zeros

    def dense(k: Array, n_out: int, n_in: int) -> Dense:
        kw, kb = jax.random.split(k)
        return Dense(w_init(kw, (n_out, n_in), dtype), b_init(kb, (n_out,), dtype))

    k_first, k_out, *k_branch = jax.random.split(key, 2 + branch_layers)
    branch = tuple(
        jax.vmap(lambda k: dense(k, width, width))(jax.random.split(kb, depth))
        for kb in k_branch
    )
    return ResidualMLP(
        dense(k_first, width, in_dim), branch, dense(k_out, out_dim, width)
    )


def _lecun_normal(
    key: Array, shape: tuple[int, ...], dtype: jnp.dtype = jnp.float32
) -> Array:
    """``variance_scaling(1.0, "fan_in", "normal", in_axis=-1, out_axis=-2)``, bit for bit.

    The draw is made flat and reshaped (the same numbers), which compiles faster.
    """
    std = jnp.sqrt(jnp.array(1.0 / shape[-1], dtype=dtype))
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape) * std


def block(
    layers: tuple[Dense, ...],
    h: ArrayLike,
    activation: ActivationLike = "relu",
    *,
    residual: bool | ArrayLike = True,
    branch_scale: float | ArrayLike = 1.0,
) -> Array:
    r"""One block: :math:`h + \alpha F(h)` (residual) or :math:`F(h)` (plain).

    Args:
        layers: this block's branch, ``(W,)`` or ``(W, V)`` with ``w`` of shape
            ``(width, width)`` (one slice of ``ResidualMLP.branch``).
        h: the block input, ``(width,)``.
        activation: registry name or elementwise function.
        residual: add the shortcut.
        branch_scale: :math:`\alpha`, multiplies the branch (residual blocks only).

    Returns:
        The block output, ``(width,)``.
    """
    h = jnp.asarray(h)
    f, _ = ResidualBlock(activation).branch(layers, h)
    return jnp.where(residual, h + branch_scale * f, f)


def block_jacobian(
    layers: tuple[Dense, ...],
    h: ArrayLike,
    activation: ActivationLike = "relu",
    *,
    branch_scale: float = 1.0,
) -> Array:
    r"""The residual block's Jacobian in closed form, :math:`I + \alpha\,\partial F/\partial h`.

    .. math::

        J = I + \alpha \operatorname{diag}(\phi'(z)) W
        \quad\text{or}\quad J = I + \alpha V \operatorname{diag}(\phi'(z)) W,
        \qquad z = W h + b .

    Args:
        layers: the block's branch, as in :func:`block`.
        h: the block input, ``(width,)``.
        activation: registry name or elementwise function.
        branch_scale: :math:`\alpha`.

    Returns:
        The ``(width, width)`` Jacobian :math:`\partial h_l / \partial h_{l-1}`.
    """
    h = jnp.asarray(h)
    _checks.ndim("h", h, 1)
    phi = resolve(activation)
    z = layers[0].w @ h + layers[0].b
    d_branch = jax.vmap(jax.grad(phi))(z)[:, None] * layers[0].w
    if len(layers) == 2:
        d_branch = layers[1].w @ d_branch
    return jnp.eye(h.shape[0], dtype=h.dtype) + branch_scale * d_branch


def _per_block(name: str, value: bool | float | ArrayLike, depth: int) -> Array:
    """``value`` as one entry per block, ``(depth,)``; a scalar is repeated."""
    value = jnp.asarray(value)
    if value.shape not in ((), (depth,)):
        raise ValueError(
            f"{name} must be a scalar or have shape ({depth},) (one per block), "
            f"got shape {value.shape}"
        )
    return jnp.broadcast_to(value, (depth,))


def forward_with_trace(
    params: ResidualMLP,
    x: ArrayLike,
    activation: ActivationLike = "relu",
    *,
    residual: bool | ArrayLike = True,
    branch_scale: float | ArrayLike = 1.0,
    taps: ArrayLike | None = None,
) -> tuple[Array, Trace]:
    r"""Run the network on one example and keep every layer's pre-activation and output.

    Args:
        params: network parameters.
        x: one input, ``(in_dim,)``.
        activation: registry name or elementwise function.
        residual: use the shortcuts (``False``: the plain network with the same weights).
            It may be a boolean array, so one compiled function (``jax.vmap`` over it)
            serves plain and residual networks: a scalar for every block, or one flag per
            block, shape ``(depth,)``.
        branch_scale: :math:`\alpha`, e.g. :math:`1/\sqrt{L}`: a float, a scalar array or
            one value per block, shape ``(depth,)``. A residual block with
            :math:`\alpha = 0` is the identity, so a network of :math:`L' < L` plain
            blocks followed by :math:`L - L'` such blocks computes exactly the
            :math:`L'`-block plain network (the other blocks' weights get zero gradient).
        taps: optional ``(depth + 1, width)`` array added to :math:`h_0, \dots, h_L`; its
            gradient is :math:`\partial L / \partial h_l` (zeros change nothing).

    Returns:
        ``(output, trace)``: ``trace.pre`` holds the embedding's and each branch's first
        pre-activation and ``trace.post`` holds :math:`h_0, \dots, h_L`, both
        ``(depth + 1, width)``.

    Raises:
        ValueError: if ``x`` is not 1-D, or ``residual`` or ``branch_scale`` is neither a
            scalar nor of shape ``(depth,)``.
    """
    x = jnp.asarray(x)
    _checks.ndim("x", x, 1)
    flags = _per_block("residual", residual, params.depth)
    scales = _per_block("branch_scale", branch_scale, params.depth)
    if taps is None:
        taps = jnp.zeros((params.depth + 1, params.width), x.dtype)
    return scan_forward(ResidualBlock(activation), params.first,
                        (params.branch, flags, scales), params.readout, x,
                        resolve(activation), taps)  # fmt: skip


def forward(
    params: ResidualMLP,
    x: ArrayLike,
    activation: ActivationLike = "relu",
    **wiring: bool | float | ArrayLike,
) -> Array:
    """Output for one example ``x`` of shape ``(in_dim,)``; ``wiring`` is ``residual``
    and ``branch_scale`` as in :func:`forward_with_trace`.

    Examples:
        >>> p = init_residual_mlp(jax.random.key(0), 4, 8, 20, 2)
        >>> forward(p, jnp.ones(4), branch_scale=0.2).shape
        (2,)
    """
    return forward_with_trace(params, x, activation, **wiring)[0]


def forward_batch(
    params: ResidualMLP,
    xs: ArrayLike,
    activation: ActivationLike = "relu",
    **wiring: bool | float | ArrayLike,
) -> tuple[Array, Trace]:
    """:func:`forward_with_trace` over a batch ``xs`` of shape ``(batch, in_dim)``, with
    ``wiring`` its keywords ``residual`` and ``branch_scale``.

    Returns:
        ``(outputs, trace)`` with shapes ``(batch, out_dim)`` and
        ``(batch, depth + 1, width)``.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    return jax.vmap(lambda x: forward_with_trace(params, x, activation, **wiring))(xs)


@dataclasses.dataclass(frozen=True)
class ResidualModel:
    """The ``model`` of :func:`gradcourse.train.fit` for a :class:`ResidualMLP`:
    :func:`forward_batch` with these settings. Frozen, so equal settings give equal
    models and one compiled training loop.

    Attributes:
        activation: registry name or elementwise function.
        residual: use the shortcuts.
        branch_scale: :math:`\\alpha`, > 0.

    Examples:
        >>> ResidualModel("relu", branch_scale=0.5) == ResidualModel("relu", True, 0.5)
        True
    """

    activation: ActivationLike = "relu"
    residual: bool = True
    branch_scale: float = 1.0

    def __post_init__(self) -> None:
        _checks.positive("branch_scale", self.branch_scale)

    def __call__(self, params: ResidualMLP, xs: Array) -> tuple[Array, Trace]:
        """Outputs ``(batch, out_dim)`` and the trace, as :func:`forward_batch`."""
        return forward_batch(params, xs, self.activation, residual=self.residual,
                             branch_scale=self.branch_scale)  # fmt: skip


class Wiring(NamedTuple):
    r"""Per-block wiring of a :class:`ResidualMLP`, for ``fit_seeds(..., per_run=...)``.

    Attributes:
        residual: ``(depth,)`` floats, nonzero where a block adds its input.
        branch_scale: ``(depth,)`` branch scales :math:`\alpha_l`.
    """

    residual: Array
    branch_scale: Array


@dataclasses.dataclass(frozen=True)
class WiredModel:
    """``model(params, xs, wiring)`` for ``gradcourse.train.fit_seeds(...,
    per_run=wiring)``: runs that differ only in their :class:`Wiring` (plain against
    residual blocks, different :math:`\\alpha`, identity blocks) share one compiled loop.

    Attributes:
        activation: registry name or elementwise function.

    Examples:
        >>> p = init_residual_mlp(jax.random.key(0), 3, 4, 2, 2)
        >>> wiring = Wiring(jnp.array([0.0, 1.0]), jnp.array([1.0, 0.5]))
        >>> WiredModel("tanh")(p, jnp.ones((5, 3)), wiring)[0].shape
        (5, 2)
    """

    activation: ActivationLike = "relu"

    def __call__(
        self, params: ResidualMLP, xs: Array, wiring: Wiring
    ) -> tuple[Array, Trace]:
        """Outputs and trace of :func:`forward_batch` with the per-block wiring."""
        flags, scales = jax.lax.stop_gradient(tuple(wiring))
        return forward_batch(params, xs, self.activation, residual=flags != 0,
                             branch_scale=scales)  # fmt: skip


def as_mlp(params: ResidualMLP) -> MLP:
    """The same weights as a :class:`gradcourse.networks.MLP` of depth ``depth + 1``
    (one-layer branches only): ``forward(params, x, residual=False)`` then equals
    ``gradcourse.networks.forward(as_mlp(params), x)``.

    Raises:
        ValueError: if the branch has two layers.
    """
    if len(params.branch) != 1:
        raise ValueError(f"params.branch must have 1 layer, got {len(params.branch)}")
    return MLP(params.first, params.branch[0], params.readout)
