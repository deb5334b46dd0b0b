r"""Experiments of the chapter on residual connections.

A residual block :math:`h_l = h_{l-1} + \alpha F_l(h_{l-1})` has the Jacobian
:math:`I + \alpha\,\partial F/\partial h` (He et al., 2016). The functions here measure what
that does: the block's singular values (:func:`block_singular_values`), the per-layer
gradient norms of plain and residual stacks (:func:`grad_norms_by_wiring`), the degradation
of deep plain networks in training (:func:`degradation`), shattered gradients
(:func:`shattering`, Balduzzi et al., 2017), and a popular "residual block" that is not one
(:func:`buggy_block`).

References:
    He, Zhang, Ren & Sun, `Deep residual learning for image recognition
    <https://arxiv.org/abs/1512.03385>`__, 2016. Balduzzi et al., `The shattered gradients
    problem <https://arxiv.org/abs/1702.08591>`__, 2017.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from .. import _checks
from ..data import Split
from ..networks import LOSSES, Dense
from ..probes import grad_norms, layer_grad_norms
from ..residual import (
    ResidualMLP,
    WiredModel,
    Wiring,
    block,
    block_jacobian,
    init_residual_mlp,
)
from ..shattering import layer_input_derivatives, neighbour_correlation
from ..train import History, fit_seeds


@functools.partial(jax.jit, static_argnames=("width", "depth"))
def init_networks(keys: Array, *, width: int = 64, depth: int = 100) -> ResidualMLP:
    """One :func:`gradcourse.residual.init_residual_mlp` network (LeCun initialisation,
    one-layer branches) for the digits, 64 inputs and 10 classes, per key, stacked along
    a leading seed axis."""
    return jax.vmap(lambda k: init_residual_mlp(k, 64, width, depth, 10))(keys)


def pick_block(nets: ResidualMLP, *, seed: int, index: int) -> tuple[Dense, ...]:
    """The branch layers of one block of one network of a stack (``index`` counts the
    blocks from 0, ``seed`` the networks from 0)."""
    depth = nets.branch[0].w.shape[1]
    _checks.in_range("index", index, 0, depth - 1)
    _checks.in_range("seed", seed, 0, nets.branch[0].w.shape[0] - 1)
    return jax.tree.map(lambda a: a[seed, index], nets.branch)


@functools.partial(jax.jit, static_argnames=("activation", "branch_scales"))
def jacobian_matches_jacfwd(
    layer: tuple[Dense, ...],
    h: ArrayLike,
    activation: str = "tanh",
    branch_scales: tuple[float, ...] = (1.0,),
) -> Array:
    r"""Whether :func:`gradcourse.residual.block_jacobian`'s closed form
    :math:`I + \alpha\operatorname{diag}(\phi'(z))W` equals ``jax.jacfwd`` of the block at
    ``h`` (to ``1e-5``), for every branch scale :math:`\alpha`.

    Args:
        layer: one block's branch layers.
        h: ``(width,)`` the block's input.
        activation: registry name.
        branch_scales: the :math:`\alpha` to check.

    Returns:
        A boolean scalar.
    """
    h = jnp.asarray(h)
    same = []
    for alpha in branch_scales:
        closed = block_jacobian(layer, h, activation, branch_scale=alpha)
        auto = jax.jacfwd(
            lambda v, a=alpha: block(layer, v, activation, branch_scale=a)
        )(h)
        same.append(jnp.allclose(closed, auto, atol=1e-5))
    return jnp.all(jnp.stack(same))


@functools.partial(jax.jit, static_argnames=("activation", "branch_scale"))
def _singular_values(
    layer: tuple[Dense, ...], h: Array, activation: str, branch_scale: float
) -> dict[str, Array]:
    width = h.shape[0]
    plain_jac = block_jacobian(layer, h, activation) - jnp.eye(width)  # diag(phi') W
    jacobians = {
        "plain": plain_jac,
        "residual": block_jacobian(layer, h, activation),
        "scaled": block_jacobian(layer, h, activation, branch_scale=branch_scale),
    }
    return {name: jnp.linalg.svd(j, compute_uv=False) for name, j in jacobians.items()}


def block_singular_values(
    layer: tuple[Dense, ...],
    h: ArrayLike,
    activation: str = "tanh",
    *,
    branch_scale: float,
) -> dict[str, np.ndarray]:
    r"""Singular values of one block's Jacobian, plain and with a shortcut.

    By Weyl's inequality every singular value of :math:`I + A` lies within
    :math:`\lVert A\rVert_2` of 1, with :math:`A = \alpha\,\partial F/\partial h`.

    Args:
        layer: one block's (one-layer) branch.
        h: ``(width,)`` the block's input.
        activation: registry name.
        branch_scale: :math:`\alpha` of the ``"scaled"`` block, > 0.

    Returns:
        ``{"plain": ..., "residual": ..., "scaled": ...}``: the singular values, largest
        first, of :math:`\partial F/\partial h` (the plain layer), of
        :math:`I + \partial F/\partial h` and of :math:`I + \alpha\,\partial F/\partial h`.

    Raises:
        ValueError: for a ``branch_scale`` <= 0.
    """
    _checks.positive("branch_scale", branch_scale)
    out = _singular_values(layer, jnp.asarray(h), activation, float(branch_scale))
    return {name: np.asarray(s) for name, s in out.items()}


@functools.partial(jax.jit, static_argnames=("activation",))
def _wiring_norms(
    nets: ResidualMLP,
    xs: Array,
    ys: Array,
    residual: Array,
    branch_scale: Array,
    activation: str,
) -> Array:
    def hidden_norms(p: ResidualMLP, flag: Array, alpha: Array) -> Array:
        return grad_norms(
            p, xs, ys, activation, residual=flag, branch_scale=alpha
        ).hidden

    per_seed = jax.vmap(hidden_norms, in_axes=(0, None, None))
    return jax.vmap(per_seed, in_axes=(None, 0, 0))(nets, residual, branch_scale)


def grad_norms_by_wiring(
    nets: ResidualMLP,
    xs: ArrayLike,
    ys: ArrayLike,
    *,
    residual: ArrayLike,
    branch_scale: ArrayLike,
    activation: str = "tanh",
) -> np.ndarray:
    r"""Per-layer gradient norms :math:`\lVert\partial\mathcal L/\partial H_l\rVert`,
    :math:`l = 0..L`, of the same weights wired in several ways.

    Configuration :math:`c` runs every network of the stack with shortcuts where
    ``residual[c]`` is true and branch scale ``branch_scale[c]``
    (:func:`gradcourse.probes.grad_norms`); one compiled probe serves them all.

    Args:
        nets: :class:`gradcourse.residual.ResidualMLP` with a leading seed axis.
        xs, ys: a batch of inputs and integer labels.
        residual: ``(configs,)`` booleans.
        branch_scale: ``(configs,)`` scales :math:`\alpha`.
        activation: registry name.

    Returns:
        ``(configs, seeds, depth + 1)`` norms.

    Raises:
        ValueError: if ``residual`` and ``branch_scale`` are not 1-D of one length.
    """
    residual = jnp.asarray(residual)
    branch_scale = jnp.asarray(branch_scale, jnp.float32)
    _checks.ndim("residual", residual, 1)
    if branch_scale.shape != residual.shape:
        raise ValueError(
            f"branch_scale must have the shape of residual {residual.shape}, "
            f"got {branch_scale.shape}"
        )
    norms = _wiring_norms(
        nets, jnp.asarray(xs), jnp.asarray(ys), residual, branch_scale, activation
    )
    return np.asarray(norms)


class Degradation(NamedTuple):
    """What :func:`degradation` returns, one row per wiring (in the order given)."""

    losses: np.ndarray  #: minibatch training loss, ``(wirings, seeds, steps)``
    final_loss: (
        np.ndarray
    )  #: full training-set loss after training, ``(wirings, seeds)``
    accuracy: np.ndarray  #: test accuracy after training, ``(wirings, seeds)``
    start: ResidualMLP  #: the initial weights of every run, ``(wirings * seeds, ...)``
    params: ResidualMLP  #: the trained weights of every run
    wiring: (
        Wiring  #: every run's wiring, ``(wirings * seeds, depth)``, beside the weights
    )
    history: History  #: :func:`gradcourse.train.fit_seeds`'s history of every run


@functools.partial(jax.jit, static_argnames=("seeds", "width", "depth"))
def _starts(
    key: Array, shortcuts: Array, alphas: Array, seeds: int, width: int, depth: int
) -> tuple[ResidualMLP, Wiring, Array]:
    wirings = shortcuts.shape[0]

    def configuration(k: Array, shortcut: Array, alpha: Array) -> tuple:
        k_init, k_batches = jax.random.split(k)
        init = jax.vmap(lambda q: init_residual_mlp(q, 64, width, depth, 10))
        nets = init(jax.random.split(k_init, seeds))
        wiring = [jnp.broadcast_to(a, (seeds, depth)) for a in (shortcut, alpha)]
        return nets, Wiring(*wiring), jax.random.split(k_batches, seeds)

    runs = jax.vmap(configuration)(jax.random.split(key, wirings), shortcuts, alphas)
    return jax.tree.map(lambda a: a.reshape(wirings * seeds, *a.shape[2:]), runs)


@functools.partial(jax.jit, static_argnames=("activation",))
def _evaluate(
    params: ResidualMLP, wiring: Wiring, split: Split, activation: str
) -> tuple[Array, Array]:
    model = WiredModel(activation)

    def one(p: ResidualMLP, w: Wiring) -> tuple[Array, Array]:
        train_out, _ = model(p, split.x_train, w)
        test_out, _ = model(p, split.x_test, w)
        train_loss = LOSSES["cross_entropy"](train_out, split.y_train)
        return train_loss, jnp.mean(jnp.argmax(test_out, -1) == split.y_test)

    return jax.vmap(one)(params, wiring)


def degradation(
    key: Array,
    split: Split,
    wirings: Mapping[str, tuple[ArrayLike, ArrayLike]],
    *,
    seeds: int = 4,
    width: int = 32,
    steps: int = 100,
    learning_rate: float = 2e-3,
    batch_size: int = 64,
    activation: str = "tanh",
) -> Degradation:
    r"""Train networks of several wirings on the digits with Adam (He et al.'s degradation).

    Every wiring is ``(shortcut, alpha)``, two ``(depth,)`` arrays: block :math:`l` adds
    its input where ``shortcut[l]`` is true and scales its branch by ``alpha[l]``
    (a plain block with :math:`\alpha_l = 0` is the identity, so a 24-block network
    whose last 18 blocks are identities is a 6-block one). Each wiring is trained from
    ``seeds`` fresh LeCun initialisations, all in one :func:`gradcourse.train.fit_seeds`
    loop, the wiring travelling beside the weights (``per_run``, a
    :class:`gradcourse.residual.Wiring`: not a parameter, so never updated); then the
    full training-set loss and the test accuracy are measured.

    Args:
        key: PRNG key for the initialisations and the minibatches.
        split: :class:`gradcourse.data.Split` of 64 features and 10 classes.
        wirings: ``{name: (shortcut, alpha)}``, every array ``(depth,)``.
        seeds: runs per wiring, >= 1.
        width: units per block, >= 1.
        steps, batch_size: as in :func:`gradcourse.train.fit`.
        learning_rate: Adam's step size, > 0.
        activation: registry name.

    Returns:
        A :class:`Degradation`.

    Raises:
        ValueError: for empty or ragged ``wirings`` or a bad size.
    """
    if not wirings:
        raise ValueError("wirings must hold at least one (shortcut, alpha) pair")
    _checks.positive_int("seeds", seeds)
    _checks.positive_int("width", width)
    _checks.positive("learning_rate", learning_rate)
    shortcuts, alphas = (
        jnp.stack(c).astype(jnp.float32) for c in zip(*wirings.values(), strict=True)
    )
    if shortcuts.ndim != 2 or alphas.shape != shortcuts.shape:
        raise ValueError(
            "wirings must be (shortcut, alpha) pairs of equal-length 1-D arrays, got "
            f"shapes {shortcuts.shape} and {alphas.shape}"
        )
    depth = shortcuts.shape[1]
    start, wiring, batch_keys = _starts(key, shortcuts, alphas, seeds, width, depth)
    params, history = fit_seeds(
        batch_keys,
        start,
        *split.train,
        per_run=wiring,
        model=WiredModel(activation),
        optimizer=optax.adam(learning_rate),
        steps=steps,
        batch_size=batch_size,
        layer_norms=layer_grad_norms,
    )
    finals, accs = (
        np.asarray(a).reshape(len(wirings), seeds)
        for a in _evaluate(params, wiring, split, activation)
    )
    losses = np.asarray(history.loss).reshape(len(wirings), seeds, -1)
    return Degradation(losses, finals, accs, start, params, wiring, history)


class Shattering(NamedTuple):
    """What :func:`shattering` returns; axis 0 is (plain, residual)."""

    rho: np.ndarray  #: neighbour correlation of :math:`f'`, ``(2, seeds, depth + 1)``
    f_prime: np.ndarray  #: :math:`f'` on the grid, ``(2, seeds, grid, depth + 1)``


@functools.partial(
    jax.jit, static_argnames=("depth", "width", "bias_std", "branch_scale")
)
def _shattering(
    keys: Array,
    grid: Array,
    depth: int,
    width: int,
    bias_std: float,
    branch_scale: float,
) -> tuple[Array, Array]:
    he = jax.nn.initializers.variance_scaling(
        2.0, "fan_in", "normal", in_axis=-1, out_axis=-2
    )

    def correlations(k: Array, residual: Array) -> tuple[Array, Array]:
        kp, ku = jax.random.split(k)
        b_init = jax.nn.initializers.normal(bias_std)
        p = init_residual_mlp(kp, 1, width, depth, 1, w_init=he, b_init=b_init)
        d = layer_input_derivatives(
            p, grid, "relu", residual=residual, branch_scale=branch_scale
        )
        f_prime = d @ jax.random.normal(ku, (width,))  # (grid, depth + 1)
        return neighbour_correlation(f_prime.T), f_prime

    per_seed = jax.vmap(correlations, in_axes=(0, None))
    return jax.vmap(per_seed, in_axes=(None, 0))(keys, jnp.array([False, True]))


def shattering(
    keys: Array,
    grid: ArrayLike,
    *,
    depth: int = 50,
    width: int = 64,
    bias_std: float = 0.5,
    branch_scale: float | None = None,
) -> Shattering:
    r"""Shattered gradients: how :math:`f'(x)` at neighbouring inputs decorrelates with
    depth in plain and residual ReLU networks of a scalar input (Balduzzi et al., 2017).

    For each key a network with one input, He-initialised weights and Gaussian biases of
    standard deviation ``bias_std`` is built; one forward-mode pass
    (:func:`gradcourse.shattering.layer_input_derivatives`) gives
    :math:`\mathrm{d}h_l/\mathrm{d}x` for every block :math:`l`, projected on a random
    read-out vector: :math:`f'` of the network cut after block :math:`l`. Then
    :math:`\rho_l = \operatorname{corr}(f'(x_i), f'(x_{i+1}))` along the grid
    (:func:`gradcourse.shattering.neighbour_correlation`). The same weights run plain and
    residual.

    Args:
        keys: ``(seeds,)`` PRNG keys.
        grid: ``(points, 1)`` inputs in increasing order.
        depth: blocks, >= 1.
        width: units per block, >= 1.
        bias_std: standard deviation of the biases, >= 0.
        branch_scale: :math:`\alpha` of the residual blocks; default
            :math:`1/\sqrt{\text{depth}}`.

    Returns:
        A :class:`Shattering`.

    Raises:
        ValueError: for a bad size, ``bias_std`` or ``grid``.
    """
    _checks.positive_int("depth", depth)
    _checks.positive_int("width", width)
    _checks.non_negative("bias_std", bias_std)
    grid = jnp.asarray(grid)
    if grid.ndim != 2 or grid.shape[1] != 1 or grid.shape[0] < 3:
        raise ValueError(f"grid must have shape (points >= 3, 1), got {grid.shape}")
    alpha = 1 / np.sqrt(depth) if branch_scale is None else branch_scale
    rho, f_prime = _shattering(keys, grid, depth, width, float(bias_std), alpha)
    return Shattering(np.asarray(rho), np.asarray(f_prime))


def buggy_block(layers: tuple[Dense, ...], x: Array) -> Array:
    """A popular tutorial's "residual block", ``x = Conv2D(...)(x); x = Add()([x, x])``,
    with a dense ReLU branch: ``x`` is overwritten by :math:`F(x)`, so the block
    returns :math:`2F(x)` and its input is lost."""
    x = block(layers, x, "relu", residual=False)  # x = Conv2D(...)(x): x is now F(x)
    return x + x  # Add()([x, x]) = 2 F(x)


def fixed_block(layers: tuple[Dense, ...], x: Array) -> Array:
    """The same block with a reference to its input kept: :math:`x + F(x)`."""
    shortcut = x
    return shortcut + block(layers, x, "relu", residual=False)


@jax.jit
def compare_buggy_block(
    layers: tuple[Dense, ...], key: Array
) -> tuple[Array, Array, Array, Array]:
    r"""Check :func:`buggy_block` and :func:`fixed_block` at a random input :math:`x_0`.

    Args:
        layers: one block's (one-layer) branch.
        key: PRNG key for :math:`x_0`.

    Returns:
        ``(as_derived, x0, buggy_off, fixed_off)``: whether the Jacobians are
        :math:`2\,\partial F/\partial x` (buggy) and :math:`I + \partial F/\partial x`
        (fixed) to ``1e-5``; the input; and the two blocks' outputs with the branch
        switched off (:math:`W = 0`, :math:`b = 0`).
    """
    width = layers[0].w.shape[1]
    x0 = jax.random.normal(key, (width,))
    j_bug, j_fix = jax.jacfwd(
        lambda v: (buggy_block(layers, v), fixed_block(layers, v))
    )(x0)
    f_jac = block_jacobian(layers, x0, "relu") - jnp.eye(width)  # dF/dx
    as_derived = jnp.allclose(j_bug, 2 * f_jac, atol=1e-5) & jnp.allclose(
        j_fix, jnp.eye(width) + f_jac, atol=1e-5
    )
    off = jax.tree.map(jnp.zeros_like, layers)  # the branch switched off: W = 0, b = 0
    return as_derived, x0, buggy_block(off, x0), fixed_block(off, x0)
