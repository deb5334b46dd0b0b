r"""Recurrent cells unrolled through time, and their Jacobians through time.

Four cells, each a pure function of explicit parameters acting on one example (batches
come from :func:`jax.vmap`), with weights ``(out, in)``: ``w`` acts on the previous hidden
state, ``u`` on the input.

* Elman's simple recurrent network, :math:`h_t = \phi(W h_{t-1} + U x_t + b)`.
* The LSTM of Hochreiter & Schmidhuber (1997): input gate :math:`i`, output gate
  :math:`o` and a cell that adds to itself with weight one, the *constant error
  carousel*; there is **no forget gate**:

  .. math::

      c_t = c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).

* The LSTM with the forget gate of Gers, Schmidhuber & Cummins (2000),
  :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`, whose forget bias Jozefowicz et al.
  (2015) recommend to start at 1.
* The GRU of Cho et al. (2014),
  :math:`h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tanh(W (r_t \odot h_{t-1}) + U x_t + b)`.

Gates are :math:`\sigma(W_k h_{t-1} + U_k x_t + b_k)`; the gated cells store their
gates' weights stacked on a leading axis (LSTM: ``i, f, g, o``; GRU: ``z, r, candidate``;
the 1997 LSTM keeps the ``f`` slot and ignores it). The 1997 paper squashed :math:`g` and
the cell output with scaled logistic functions; we use tanh as every later LSTM does.

:func:`unroll` walks a sequence with :func:`jax.lax.scan` (compile time flat in its
length). The state of an LSTM is the pair :math:`s_t = (h_t, c_t)`; backpropagation
through time multiplies the step Jacobians :math:`J_k = \partial s_k / \partial s_{k-1}`,

.. math::

    \frac{\partial s_T}{\partial s_t} = J_T J_{T-1} \cdots J_{t+1},

which :func:`jacobians_to_end` returns for every :math:`t \le T`, and
:func:`log_sigma_grid` summarises for every pair :math:`t \le T` by the largest singular
value of the block that maps :math:`h_t` to :math:`h_T` (or :math:`c_t` to :math:`c_T`).

References:
    Elman, `Finding structure in time <https://doi.org/10.1207/s15516709cog1402_1>`_, 1990;
    Hochreiter & Schmidhuber, `Long short-term memory
    <https://doi.org/10.1162/neco.1997.9.8.1735>`_, 1997;
    Gers, Schmidhuber & Cummins, `Learning to forget
    <https://doi.org/10.1162/089976600300015015>`_, 2000;
    Cho et al., `Learning phrase representations using RNN encoder-decoder
    <https://arxiv.org/abs/1406.1078>`_, 2014;
    Jozefowicz, Zaremba & Sutskever, `An empirical exploration of recurrent network
    architectures <https://proceedings.mlr.press/v37/jozefowicz15.html>`_, 2015;
    Le, Jaitly & Hinton, `A simple way to initialize recurrent networks of rectified
    linear units <https://arxiv.org/abs/1504.00941>`_, 2015.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike, DTypeLike

from gradcourse import _checks, initializers
from gradcourse.registry import resolve

__all__ = [
    "KINDS",
    "RECURRENT_INITS",
    "Cell",
    "Elman",
    "Gated",
    "RecurrentInit",
    "elman_step",
    "gru_step",
    "identity",
    "init",
    "jacobians_to_end",
    "carousel_log10",
    "log_sigma_grid",
    "lstm_step",
    "recurrent_initializer",
    "sigma_max",
    "step",
    "step_jacobians",
    "unroll",
]

#: The cells (Elman's, the 1997 LSTM without forget gate, the LSTM with forget gate, the GRU).
KINDS = ("elman", "lstm1997", "lstm", "gru")
#: Recurrent-weight initialisers (scaled Gaussian, orthogonal, identity as in the IRNN).
RECURRENT_INITS = ("gaussian", "orthogonal", "identity")
_GATES = {"elman": 1, "lstm1997": 4, "lstm": 4, "gru": 3}


class Elman(NamedTuple):
    """Simple RNN parameters: ``w`` ``(n, n)``, ``u`` ``(n, m)``, ``b`` ``(n,)``."""

    w: Array
    u: Array
    b: Array


class Gated(NamedTuple):
    """Gated-cell parameters, one slice per gate: ``w`` ``(g, n, n)``, ``u`` ``(g, n, m)``,
    ``b`` ``(g, n)``; LSTM gates ``i, f, g, o`` (g = 4), GRU ``z, r, candidate`` (g = 3)."""

    w: Array
    u: Array
    b: Array


@dataclass(frozen=True)
class Cell:
    """A recurrent cell's configuration (hashable, static under ``jax.jit``).

    Attributes:
        kind: one of :data:`KINDS`.
        hidden: units n, >= 1.
        inputs: input features m, >= 1.
        activation: the Elman cell's :math:`\\phi` (a registered name); gated cells use
            sigmoid gates and tanh.
    """

    kind: str = "elman"
    hidden: int = 32
    inputs: int = 1
    activation: str = "tanh"

    def __post_init__(self) -> None:
        _checks.one_of("kind", self.kind, KINDS)
        _checks.positive_int("hidden", self.hidden)
        _checks.positive_int("inputs", self.inputs)
        resolve(self.activation)

    @property
    def state_size(self) -> int:
        """Length of the flat state, 2n for an LSTM (h then c) and n otherwise."""
        return 2 * self.hidden if self.kind.startswith("lstm") else self.hidden


@dataclass(frozen=True)
class RecurrentInit:
    """How :func:`init` draws parameters.

    Attributes:
        recurrent: one of :data:`RECURRENT_INITS`, for every ``w``.
        gain: its scale g: Gaussian :math:`\\mathcal{N}(0, g^2/n)`, orthogonal with all
            singular values g, or :math:`gI`.
        input_gain: ``u`` is :math:`\\mathcal{N}(0, g_u^2/m)`.
        forget_bias: the LSTM forget gate's initial bias (other biases start at 0).
    """

    recurrent: str = "gaussian"
    gain: float = 1.0
    input_gain: float = 1.0
    forget_bias: float = 1.0

    def __post_init__(self) -> None:
        _checks.one_of("recurrent", self.recurrent, RECURRENT_INITS)
        _checks.positive("gain", self.gain)
        _checks.positive("input_gain", self.input_gain)
        if not _checks._is_real(self.forget_bias):
            raise ValueError(
                f"forget_bias must be a finite number, got {self.forget_bias}"
            )


def identity(gain: float = 1.0) -> initializers.Initializer:
    """The identity matrix times ``gain``: the IRNN's recurrent weight (Le et al., 2015)."""
    scale = _checks.positive("gain", gain)

    def init_fn(
        key: Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32
    ) -> Array:
        del key
        n_in, n_out = initializers.fans(shape)
        return scale * jnp.eye(n_out, n_in, dtype=dtype)

    return init_fn


def recurrent_initializer(name: str, gain: float = 1.0) -> initializers.Initializer:
    """The initialiser ``name`` (one of :data:`RECURRENT_INITS`) with scale ``gain``."""
    _checks.one_of("name", name, RECURRENT_INITS)
    if name == "gaussian":
        return initializers.lecun_normal(gain)
    if name == "orthogonal":
        return initializers.orthogonal(gain)
    return identity(gain)


def init(
    key: Array, cell: Cell, scheme: RecurrentInit = RecurrentInit()
) -> Elman | Gated:
    """Draw a cell's parameters: each recurrent matrix on its own from ``scheme``.

    Examples:
        >>> p = init(jax.random.key(0), Cell("lstm", hidden=3, inputs=2))
        >>> p.w.shape, p.u.shape, p.b[1].tolist()
        ((4, 3, 3), (4, 3, 2), [1.0, 1.0, 1.0])
    """
    n, m, g = cell.hidden, cell.inputs, _GATES[cell.kind]
    kw, ku = jax.random.split(key)
    w_init = recurrent_initializer(scheme.recurrent, scheme.gain)
    # One draw site for all gates (vmapped over their keys; the same numbers as a loop).
    w = jax.vmap(lambda k: w_init(k, (n, n)))(jax.random.split(kw, g))
    u = initializers.lecun_normal(scheme.input_gain)(ku, (g * n, m)).reshape(g, n, m)
    b = jnp.zeros((g, n))
    if cell.kind == "lstm":
        b = b.at[1].set(scheme.forget_bias)
    if cell.kind == "elman":
        return Elman(w[0], u[0], b[0])
    return Gated(w, u, b)


def elman_step(params: Elman, h: Array, x: Array, activation: str = "tanh") -> Array:
    r""":math:`h_t = \phi(W h_{t-1} + U x_t + b)` (Elman, 1990)."""
    return resolve(activation)(params.w @ h + params.u @ x + params.b)


def _pre(params: Gated, h: Array, x: Array) -> Array:
    return params.w @ h + params.u @ x + params.b  # (g, n): all gates at once


def lstm_step(
    params: Gated, state: tuple[Array, Array], x: Array, forget_gate: bool = True
) -> tuple[Array, Array]:
    r"""One LSTM step on ``state = (h, c)``.

    .. math::

        c_t = f_t \odot c_{t-1} + i_t \odot \tanh(a^g_t), \qquad
        h_t = o_t \odot \tanh(c_t),

    with :math:`f_t = 1` (the 1997 cell) when ``forget_gate`` is False.
    """
    h, c = state
    a = _pre(params, h, x)
    i, f, o = jax.nn.sigmoid(a[0]), jax.nn.sigmoid(a[1]), jax.nn.sigmoid(a[3])
    c = (f * c if forget_gate else c) + i * jnp.tanh(a[2])
    return o * jnp.tanh(c), c


def gru_step(params: Gated, h: Array, x: Array) -> Array:
    r"""One GRU step, Cho et al. (2014), reset applied before the recurrent product:

    .. math::

        z = \sigma(a^z), \quad r = \sigma(a^r), \quad
        \tilde h = \tanh(W_h (r \odot h_{t-1}) + U_h x_t + b_h), \quad
        h_t = z \odot h_{t-1} + (1 - z) \odot \tilde h.
    """
    a = params.w[:2] @ h + params.u[:2] @ x + params.b[:2]
    z, r = jax.nn.sigmoid(a[0]), jax.nn.sigmoid(a[1])
    cand = jnp.tanh(params.w[2] @ (r * h) + params.u[2] @ x + params.b[2])
    return z * h + (1 - z) * cand


def step(cell: Cell, params: Any, s: Array, x: Array) -> Array:
    """One step of ``cell`` on the flat state ``s`` (``(h, c)`` concatenated for an LSTM)."""
    if cell.kind == "elman":
        return elman_step(params, s, x, cell.activation)
    if cell.kind == "gru":
        return gru_step(params, s, x)
    n = cell.hidden
    h, c = lstm_step(params, (s[:n], s[n:]), x, forget_gate=cell.kind == "lstm")
    return jnp.concatenate([h, c])


def _check_xs(cell: Cell, xs: Array) -> None:
    _checks.ndim("xs", xs, 2)
    if xs.shape[1] != cell.inputs:
        raise ValueError(
            f"xs must have shape (steps, {cell.inputs}) for this cell, got {xs.shape}"
        )


def _initial(cell: Cell, s0: ArrayLike | None) -> Array:
    if s0 is None:
        return jnp.zeros(cell.state_size)
    s0 = jnp.asarray(s0, jnp.float32)
    if s0.shape != (cell.state_size,):
        raise ValueError(f"s0 must have shape ({cell.state_size},), got {s0.shape}")
    return s0


@functools.partial(jax.jit, static_argnums=0)
def unroll(
    cell: Cell, params: Any, xs: ArrayLike, s0: ArrayLike | None = None
) -> Array:
    """The states :math:`s_1, \\dots, s_T` for inputs ``xs`` ``(T, m)``, by ``lax.scan``.

    Args:
        cell: the configuration.
        params: from :func:`init`.
        xs: inputs ``(T, m)``.
        s0: initial flat state ``(state_size,)``; zeros if None.

    Returns:
        ``(T, state_size)``; for an LSTM columns ``:n`` are h and ``n:`` are c.

    Raises:
        ValueError: if ``xs`` is not ``(T, cell.inputs)`` or ``s0`` has the wrong shape.
    """
    xs = jnp.asarray(xs, jnp.float32)
    _check_xs(cell, xs)

    def body(s: Array, x: Array) -> tuple[Array, Array]:
        s = step(cell, params, s, x)
        return s, s

    return jax.lax.scan(body, _initial(cell, s0), xs)[1]


@functools.partial(jax.jit, static_argnums=0)
def step_jacobians(
    cell: Cell, params: Any, xs: ArrayLike, s0: ArrayLike | None = None
) -> Array:
    r"""The step Jacobians :math:`J_k = \partial s_k / \partial s_{k-1}`, k = 1..T.

    Returns:
        ``(T, d, d)`` with d = ``cell.state_size``.
    """
    states = unroll(cell, params, xs, s0)
    prev = jnp.concatenate([_initial(cell, s0)[None], states[:-1]])
    jac = jax.jacfwd(lambda s, x: step(cell, params, s, x))
    return jax.vmap(jac)(prev, jnp.asarray(xs, jnp.float32))


def jacobians_to_end(step_jacs: ArrayLike) -> Array:
    r""":math:`\partial s_T / \partial s_t = J_T \cdots J_{t+1}` for t = 0..T.

    Args:
        step_jacs: ``(T, d, d)`` from :func:`step_jacobians`.

    Returns:
        ``(T + 1, d, d)``; entry t maps a change of :math:`s_t` to the change of
        :math:`s_T` (entry T is the identity).
    """
    jacs = jnp.asarray(step_jacs)
    _checks.ndim("step_jacs", jacs, 3)

    def body(p: Array, j: Array) -> tuple[Array, Array]:
        p = p @ j
        return p, p

    eye = jnp.eye(jacs.shape[-1], dtype=jacs.dtype)
    _, prods = jax.lax.scan(body, eye, jacs, reverse=True)
    return jnp.concatenate([prods, eye[None]])


def sigma_max(mats: ArrayLike) -> Array:
    """Largest singular value of each matrix in ``mats`` ``(..., a, b)``."""
    mats = jnp.asarray(mats)
    if mats.ndim < 2:
        raise ValueError(
            f"mats must have at least 2 dimensions, got shape {mats.shape}"
        )
    return jnp.linalg.svd(mats, compute_uv=False)[..., 0]


def _block(cell: Cell, block: str) -> slice:
    _checks.one_of("block", block, ("h", "c"))
    n = cell.hidden
    if block == "c":
        if not cell.kind.startswith("lstm"):
            raise ValueError(f"block 'c' needs an LSTM cell, got kind {cell.kind!r}")
        return slice(n, 2 * n)
    return slice(0, n)


def log_sigma_grid(cell: Cell, step_jacs: ArrayLike, block: str = "h") -> Array:
    r""":math:`\log_{10} \sigma_{\max}(\partial x_T / \partial x_t)` for every pair t <= T.

    ``x`` is the hidden state h (``block="h"``) or an LSTM's cell state c (``"c"``): the
    block of :math:`\partial s_T / \partial s_t` that maps :math:`x_t` to :math:`x_T`
    (the other half of an LSTM's state held fixed at time t; every path through it
    afterwards counted).

    Args:
        cell: the configuration (says where the block sits).
        step_jacs: ``(T, d, d)`` from :func:`step_jacobians`.
        block: ``"h"`` or ``"c"``.

    Returns:
        ``(T + 1, T + 1)`` indexed ``[T, t]``; NaN above the diagonal (t > T).
    """
    jacs = jnp.asarray(step_jacs)
    _checks.ndim("step_jacs", jacs, 3)
    sl = _block(cell, block)
    steps, d = jacs.shape[0], jacs.shape[-1]
    start = jnp.broadcast_to(jnp.eye(d), (steps + 1, d, d))  # P(t, 0) for t = 0 only

    def body(prods: Array, jk: tuple[Array, Array]) -> tuple[Array, Array]:
        j, k = jk  # j = J_k maps s_{k-1} to s_k
        new = jnp.where((jnp.arange(steps + 1) < k)[:, None, None], j @ prods, prods)
        return new, sigma_max(new[:, sl, sl])

    row0 = sigma_max(start[:, sl, sl])
    _, rows = jax.lax.scan(body, start, (jacs, jnp.arange(1, steps + 1)))
    grid = jnp.log10(jnp.concatenate([row0[None], rows]))
    upper = jnp.arange(steps + 1)[None, :] > jnp.arange(steps + 1)[:, None]
    return jnp.where(upper, jnp.nan, grid)


@functools.partial(jax.jit, static_argnums=0)
def carousel_log10(
    cell: Cell, params: Gated, xs: ArrayLike, s0: ArrayLike | None = None
) -> Array:
    r""":math:`\log_{10}` of the LSTM's carousel path :math:`\prod_{k=t+1}^{T} f_k`, t = 0..T.

    The cell-to-cell partial derivative of one step (the hidden state held fixed) is
    :math:`\partial c_k / \partial c_{k-1} = \operatorname{diag}(f_k)`, so along the
    carousel alone :math:`\partial c_T / \partial c_t = \operatorname{diag}(\prod f_k)`;
    for the 1997 cell (no forget gate) every entry is exactly 1, its log exactly 0. Summed
    in logs, so a thousand steps do not underflow.

    Returns:
        ``(T + 1, n)``: row t holds the diagonal's log10 for each unit.
    """
    if not cell.kind.startswith("lstm"):
        raise ValueError(f"cell must be an LSTM, got kind {cell.kind!r}")
    states = unroll(cell, params, xs, s0)
    h_prev = jnp.concatenate([_initial(cell, s0)[None], states[:-1]])[:, : cell.hidden]
    xs = jnp.asarray(xs, jnp.float32)
    a_f = h_prev @ params.w[1].T + xs @ params.u[1].T + params.b[1]
    log_f = jax.nn.log_sigmoid(a_f) / jnp.log(10.0)
    if cell.kind == "lstm1997":
        log_f = jnp.zeros_like(log_f)
    tail = jnp.cumsum(log_f[::-1], axis=0)[::-1]  # row t: sum over k = t+1..T
    return jnp.concatenate([tail, jnp.zeros((1, cell.hidden))])
