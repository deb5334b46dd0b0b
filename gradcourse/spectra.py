r"""Spectra of the input-output Jacobian over inputs and seeds, and measured gradient
gains, in networks drawn in the mean-field parametrisation.

With the layer Jacobians :math:`J_l = \operatorname{diag}(\phi'(z_l)) W_l` of
:mod:`gradcourse.jacobians`, the input-output Jacobian at depth :math:`l` is
:math:`P_l = J_l \cdots J_1`. How far a signal or a gradient is stretched is set by
the **singular values** of :math:`P_l`: :func:`jacobian_spectra` computes them for a
batch of inputs, :func:`spectra_seeds` over seeds in one compiled program, and
:func:`log_spectra_seeds` their logarithms by repeated QR
(:func:`gradcourse.randmat.lyapunov_spectrum`), which has no float32 floor.
:func:`gradient_gains` measures the per-layer gain of the back-propagated gradient
(with :func:`gradcourse.probes.grad_norms`) that mean-field theory predicts as
:math:`\sqrt{\chi}`.

References:
    Pennington, Schoenholz & Ganguli, `Resurrecting the sigmoid in deep learning through
    dynamical isometry <https://arxiv.org/abs/1711.04735>`_, 2017;
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, `Deep information propagation
    <https://arxiv.org/abs/1611.01232>`_, 2017.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.jacobians import (
    LayerJacobians,
    RandomMLP,
    init_mean_field,
    jacobian_products,
)
from gradcourse.networks import MLP, ActivationLike, forward_with_trace
from gradcourse.probes import grad_norms
from gradcourse.randmat import _lyapunov
from gradcourse.registry import resolve

__all__ = ["jacobian_spectra", "spectra_seeds", "log_spectra_seeds", "gradient_gains"]


def _slopes(phi: ActivationLike, z: Array) -> Array:
    # phi'(z) elementwise: a JVP with a tangent of ones (phi acts entry by entry).
    return jax.jvp(resolve(phi), (z,), (jnp.ones_like(z),))[1]


@functools.partial(jax.jit, static_argnames=("layers",))
def _product_spectra(
    first_w: Array, hidden_w: Array, slopes: Array, layers: tuple[int, ...]
) -> Array:
    # slopes: (batch, depth, width) = phi'(z_l). J_l = diag(slopes_l) W_l, so the heavy
    # part (products and SVDs) does not depend on the activation and compiles once.
    def one(s: Array) -> Array:
        jacs = LayerJacobians(s[0][:, None] * first_w, s[1:, :, None] * hidden_w)
        prods = jacobian_products(jacs)
        return jnp.linalg.svd(prods[jnp.asarray(layers) - 1], compute_uv=False)

    return jax.vmap(one)(slopes)


@functools.partial(jax.jit, static_argnames=("activation",))
def _batch_slopes(params: MLP, xs: Array, activation: ActivationLike) -> Array:
    pre = jax.vmap(lambda x: forward_with_trace(params, x, activation)[1].pre)(xs)
    return _slopes(activation, pre)


def _spectra(
    params: MLP, xs: Array, activation: ActivationLike, layers: tuple[int, ...]
) -> Array:
    slopes = _batch_slopes(params, xs, activation)
    return _product_spectra(params.first.w, params.hidden.w, slopes, layers)


def jacobian_spectra(
    params: MLP,
    xs: ArrayLike,
    activation: ActivationLike = "tanh",
    *,
    layers: tuple[int, ...] | None = None,
) -> Array:
    r"""Singular values of :math:`\partial h_l / \partial x` for a batch of inputs.

    One forward pass and one scanned product per input give the spectra at every
    requested depth :math:`l` at once (the product is shared); inputs are mapped with
    :func:`jax.vmap`. The squared singular values of :math:`P_l` are the factors by which
    :math:`P_l` stretches each direction; their mean is :math:`\frac1n
    \operatorname{tr} P_l^\top P_l \approx \chi^l` in the mean-field limit.

    Args:
        params: network parameters.
        xs: inputs, ``(batch, in_dim)``.
        activation: registry name or elementwise function (static).
        layers: 1-based depths at which to take the spectrum, each in
            ``[1, params.depth]``; default ``(params.depth,)``.

    Returns:
        ``(batch, len(layers), min(width, in_dim))`` singular values, descending.

    Raises:
        ValueError: if ``xs`` is not 2-D or a layer index is out of range.

    References:
        Pennington, Schoenholz & Ganguli, `Resurrecting the sigmoid in deep learning
        through dynamical isometry <https://arxiv.org/abs/1711.04735>`_, 2017.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    layers = (params.depth,) if layers is None else tuple(layers)
    _check_layers(layers, params.depth)
    return _spectra(params, xs, activation, layers)


def _check_layers(layers: tuple[int, ...], depth: int) -> None:
    if not layers or any(
        isinstance(l_, bool) or not isinstance(l_, int) or not 1 <= l_ <= depth
        for l_ in layers
    ):
        raise ValueError(f"layers must be integers in [1, {depth}], got {layers!r}")


def _check_seed_args(
    xs: ArrayLike, family: RandomMLP, layers: tuple[int, ...] | None, square: bool
) -> tuple[Array, tuple[int, ...]]:
    """The arguments of :func:`spectra_seeds` and :func:`log_spectra_seeds`, checked;
    returns ``xs`` as an array and ``layers`` as a tuple (``(depth,)`` when ``None``)."""
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    if square and xs.shape[1] != family.width:
        raise ValueError(f"xs must have width = {family.width} columns, got {xs.shape}")
    layers = (family.depth,) if layers is None else tuple(layers)
    _check_layers(layers, family.depth)
    return xs, layers


def spectra_seeds(
    keys: Array,
    xs: ArrayLike,
    family: RandomMLP,
    *,
    layers: tuple[int, ...] | None = None,
) -> Array:
    """:func:`jacobian_spectra` of one network of ``family`` per key (seeds and inputs
    mapped with ``jax.vmap``).

    Networks come from :func:`gradcourse.jacobians.init_mean_field` with
    ``in_dim = xs.shape[1]`` (take it equal to ``family.width`` for square Jacobians).

    Args:
        keys: PRNG keys, shape ``(seeds,)``.
        xs: inputs, ``(batch, in_dim)``.
        family: the :class:`~gradcourse.jacobians.RandomMLP` the networks are drawn
            from (sizes, activation, variances, weights).
        layers: depths, as in :func:`jacobian_spectra`.

    Returns:
        ``(seeds, batch, len(layers), min(width, in_dim))`` singular values.

    Raises:
        ValueError: as :func:`jacobian_spectra`.
    """
    xs, layers = _check_seed_args(xs, family, layers, square=False)
    # Three programs, each mapped over the seeds: the initialisation (one per ensemble),
    # the slopes phi'(z_l) (one per activation) and the products with their SVDs (one for
    # every activation and ensemble), rather than one per combination.
    f = family
    params = _init_seeds(
        keys, f.sigma_w2, f.sigma_b2, xs.shape[1], f.width, f.depth, f.weights
    )
    slopes = _seed_slopes(params, xs, f.activation)
    return _seed_spectra(params.first.w, params.hidden.w, slopes, layers)


def log_spectra_seeds(
    keys: Array,
    xs: ArrayLike,
    family: RandomMLP,
    *,
    layers: tuple[int, ...] | None = None,
) -> Array:
    r"""Log singular values of :math:`\partial h_l / \partial x` by repeated QR.

    As :func:`spectra_seeds`, but the product is never formed: the layer Jacobians are
    applied to an orthonormal frame that is re-orthonormalised after every layer
    (:func:`gradcourse.randmat.lyapunov_spectrum`), and the logs of the diagonals of
    the triangular factors are summed. A float32 SVD of the product cannot see singular
    values more than about seven decades below the largest (a float64 one, sixteen);
    these logs have no such floor, and for long products they equal the log singular
    values to within :math:`O(1)` of :math:`O(l)` (Oseledets).

    Args:
        keys, xs, family, layers: as in :func:`spectra_seeds`; ``xs.shape[1]`` must
            equal ``family.width``.

    Returns:
        ``(seeds, batch, len(layers), width)`` natural logs, descending.

    Raises:
        ValueError: as :func:`spectra_seeds`, or if ``xs.shape[1] != family.width``.
    """
    xs, layers = _check_seed_args(xs, family, layers, square=True)
    f = family
    params = _init_seeds(
        keys, f.sigma_w2, f.sigma_b2, f.width, f.width, f.depth, f.weights
    )
    slopes = _seed_slopes(params, xs, f.activation)
    return _seed_log_spectra(params.first.w, params.hidden.w, slopes, layers)


@functools.partial(jax.jit, static_argnames=("layers",))
def _seed_log_spectra(
    first_w: Array, hidden_w: Array, slopes: Array, layers: tuple[int, ...]
) -> Array:
    def one(f: Array, h: Array, s: Array) -> Array:  # s: (depth, width) for one input
        mats = jnp.concatenate([f[None], h]) * s[:, :, None]  # J_l = diag(phi') W_l
        logs = _lyapunov(mats)[jnp.asarray(layers) - 1]
        return -jnp.sort(-logs, axis=-1)

    per_seed = jax.vmap(one, in_axes=(None, None, 0))
    return jax.vmap(per_seed)(first_w, hidden_w, slopes)


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _init_seeds(
    keys: Array,
    sigma_w2: ArrayLike,
    sigma_b2: ArrayLike,
    in_dim: int,
    width: int,
    depth: int,
    weights: str,
) -> MLP:
    return jax.vmap(
        lambda k: init_mean_field(
            k,
            in_dim,
            width,
            depth,
            1,
            sigma_w2=sigma_w2,
            sigma_b2=sigma_b2,
            weights=weights,
        )
    )(keys)


@functools.partial(jax.jit, static_argnames=("activation",))
def _seed_slopes(params: MLP, xs: Array, activation: ActivationLike) -> Array:
    return jax.vmap(lambda p: _batch_slopes(p, xs, activation))(params)


@functools.partial(jax.jit, static_argnames=("layers",))
def _seed_spectra(
    first_w: Array, hidden_w: Array, slopes: Array, layers: tuple[int, ...]
) -> Array:
    return jax.vmap(lambda f, h, s: _product_spectra(f, h, s, layers))(
        first_w, hidden_w, slopes
    )


@functools.partial(
    jax.jit, static_argnames=("width", "depth", "activation", "weights", "out_dim")
)
def _gains(
    key: Array,
    xs: Array,
    ys: Array,
    sigma_w2: Array,
    sigma_b2: Array,
    width: int,
    depth: int,
    activation: ActivationLike,
    weights: str,
    out_dim: int,
) -> Array:
    params = init_mean_field(key, xs.shape[1], width, depth, out_dim, sigma_w2=sigma_w2,
                             sigma_b2=sigma_b2, weights=weights)  # fmt: skip
    hidden = grad_norms(params, xs, ys, activation).hidden
    return hidden[:-1] / hidden[1:]


def gradient_gains(
    key: Array, xs: ArrayLike, ys: ArrayLike, family: RandomMLP
) -> Array:
    r"""Measured per-layer gain of the back-propagated gradient in a fresh network.

    .. math::

        r_l = \frac{\lVert \partial L / \partial H_l \rVert_F}
                   {\lVert \partial L / \partial H_{l+1} \rVert_F},
        \qquad l = 1, \dots, L - 1,

    for the cross-entropy loss of a batch (norms from
    :func:`gradcourse.probes.grad_norms`) in a network of ``family`` drawn by
    :func:`gradcourse.jacobians.init_mean_field`. Mean-field theory predicts
    :math:`r_l^2 \approx \chi` once the layers have reached :math:`q^*`
    (:func:`gradcourse.meanfield.mean_field`). Jitted; the family's ``sigma_w2`` and
    ``sigma_b2`` are traced, so ``jax.vmap`` maps it over seeds and over grids of
    variances.

    Args:
        key: PRNG key for the network.
        xs: inputs ``(batch, in_dim)``.
        ys: integer labels ``(batch,)``; ``out_dim = max(ys) + 1`` (at least 2).
        family: a :class:`~gradcourse.jacobians.RandomMLP` with ``depth >= 2``.

    Returns:
        ``(depth - 1,)`` ratios :math:`r_1, \dots, r_{L-1}`.

    Raises:
        ValueError: for a depth below 2 or bad shapes.

    References:
        Schoenholz et al., `Deep Information Propagation
        <https://arxiv.org/abs/1611.01232>`_, 2017 (Fig. 4).
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    _checks.ndim("ys", ys, 1)
    if family.depth < 2:
        raise ValueError(f"family.depth must be an integer >= 2, got {family.depth!r}")
    if ys.shape[0] != xs.shape[0]:
        raise ValueError(
            f"ys must have the batch size of xs ({xs.shape[0]}), got shape {ys.shape}"
        )
    # Labels read on the host: an eager ``ys.max()`` would compile a program of its own.
    out_dim = (
        2 if isinstance(ys, jax.core.Tracer) else max(2, int(np.asarray(ys).max()) + 1)
    )
    f = family
    sigma_w2, sigma_b2 = (jnp.asarray(v, xs.dtype) for v in (f.sigma_w2, f.sigma_b2))
    return _gains(key, xs, ys, sigma_w2, sigma_b2, f.width, f.depth, f.activation,
                  f.weights, out_dim)  # fmt: skip
