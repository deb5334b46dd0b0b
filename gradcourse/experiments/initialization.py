"""Experiments of the initialisation chapter: variance propagation, seeds, histograms, training.

Measured against mean-field theory: :func:`variance_profiles` (forward and backward variance
per layer, Glorot & Bengio 2010; He et al. 2015); :func:`layer_mean_squares` (the log-normal
spread over seeds at finite width, Hanin & Rolnick 2018); :func:`layer_snapshot` (activations
and back-propagated signals, the raw material of per-layer histograms); :func:`train_stacks`
(He against Glorot at depth 30, constant starts); :func:`product_spectra` (Saxe et al. 2014).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from .. import _checks, meanfield, randmat
from ..initializers import lecun_normal, orthogonal
from ..networks import LOSSES, MLP, Trace, forward_batch, forward_with_trace, init_mlp
from ..probes import grad_norms
from ..registry import get, resolve
from ._stacks import Runs, stack_accuracy, train_stacks

__all__ = [
    "HistogramSummary",
    "LayerSnapshot",
    "Factors",
    "Profile",
    "Runs",
    "Spectra",
    "TanhFixedPoint",
    "histogram_summary",
    "init_stacks",
    "layer_factors",
    "layer_mean_squares",
    "layer_snapshot",
    "layer_snapshots",
    "per_layer_factor",
    "product_spectra",
    "stack_accuracy",
    "tanh_fixed_points",
    "train_stacks",
    "unit_spread",
    "variance_profiles",
]


class LayerSnapshot(NamedTuple):
    """Every layer's signals for a batch, each of shape ``(depth, batch, width)``."""

    post: Array  #: activations :math:`h_l = \phi(z_l)`
    delta: (
        Array  #: :math:`\delta_l = \partial\mathcal L/\partial z_l` (batch-mean loss)
    )


def layer_mean_squares(
    keys: Array,
    xs: ArrayLike,
    w_init,
    activation: str = "relu",
    *,
    width: int = 128,
    depth: int = 50,
) -> Array:
    r"""Mean square of every layer's pre-activations, one network per key.

    .. math::

        q_l = \frac{1}{B\,n}\sum_{b=1}^{B}\sum_{i=1}^{n} z_{l,i}(x_b)^2 .

    At finite width :math:`n` each layer multiplies :math:`q` by a random factor; for ReLU
    with :math:`\sigma_w^2 = n\operatorname{Var}(w)` its log has variance about
    :math:`5/n`, so :math:`\log(q_{l'}/q_l)` has standard deviation about
    :math:`\sqrt{5(l'-l)/n}` across seeds.

    Args:
        keys: ``(seeds,)`` keys, one network each.
        xs: inputs ``(batch, in_dim)``.
        w_init: weight initialiser ``init(key, shape)``, e.g. ``gc.initializers.he_normal()``.
        activation: registry name.
        width: hidden width :math:`n`.
        depth: number of hidden layers.

    Returns:
        ``(seeds, depth)`` array of :math:`q_l`.

    References:
        Hanin & Rolnick, `How to start training: the effect of initialization and
        architecture <https://arxiv.org/abs/1803.01719>`_, 2018.
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    return _layer_mean_squares(keys, xs, w_init, activation, width, depth)


@jax.jit(static_argnums=(2, 3, 4, 5))
def _layer_mean_squares(keys, xs, w_init, activation, width, depth):
    def one(k):
        p = init_mlp(k, xs.shape[1], width, depth, 10, w_init=w_init)
        return jnp.mean(forward_batch(p, xs, activation)[1].pre ** 2, axis=(0, 2))

    return jax.vmap(one)(keys)


def layer_snapshot(
    params: MLP, xs: ArrayLike, ys: ArrayLike, activation: str = "tanh"
) -> LayerSnapshot:
    r"""Activations :math:`h_l` and signals :math:`\delta_l = \partial\mathcal L/\partial z_l`.

    .. math::

        \delta_l = \phi'(z_l)\odot W_{l+1}^\top \delta_{l+1},

    read by differentiating the batch-mean cross-entropy :math:`\mathcal L` with respect to a
    zero tap added to each example's :math:`h_l` (:func:`gradcourse.networks.forward_with_trace`)
    and multiplying by :math:`\phi'(z_l)`.

    Args:
        params: network parameters.
        xs: inputs ``(batch, in_dim)``.
        ys: integer labels ``(batch,)``.
        activation: registry name.

    Returns:
        A :class:`LayerSnapshot`, arrays ``(depth, batch, width)``.
    """
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    _checks.ndim("xs", xs, 2)
    if ys.shape != xs.shape[:1]:
        raise ValueError(f"ys must have shape ({xs.shape[0]},), got {ys.shape}")
    return _layer_snapshot(params, xs, ys, activation)


@jax.jit(static_argnums=3)
def _layer_snapshot(params, xs, ys, activation):
    phi = resolve(activation)
    taps = jnp.zeros((xs.shape[0], params.depth, params.width), xs.dtype)

    def loss(t):
        out, trace = jax.vmap(
            lambda x, tap: forward_with_trace(params, x, phi, taps=tap)
        )(xs, t)
        return LOSSES["cross_entropy"](out, ys), trace

    d_post, trace = jax.grad(loss, has_aux=True)(taps)
    slope = jax.jvp(phi, (trace.pre,), (jnp.ones_like(trace.pre),))[1]
    swap = lambda a: jnp.swapaxes(
        a, 0, 1
    )  # (batch, depth, width) -> (depth, batch, width)
    return LayerSnapshot(swap(trace.post), swap(slope * d_post))


# --- networks drawn by several initialisers -----------------------------------------------


def init_stacks(
    keys: Array,
    inits: Sequence[Callable[..., Array]],
    *,
    width: int,
    depth: int,
    in_dim: int = 64,
    out_dim: int = 10,
) -> MLP:
    """One network per initialiser and key, stacked along axis 0, in one compiled program.

    Network ``i * len(keys) + s`` has its weights drawn by ``inits[i]`` from ``keys[s]``
    (:func:`gradcourse.networks.init_mlp`): the same keys for every initialiser.

    Args:
        keys: ``(seeds,)`` PRNG keys.
        inits: weight initialisers ``init(key, shape, dtype)``.
        width, depth: hidden width and number of hidden layers, >= 1.
        in_dim, out_dim: input features and outputs.

    Returns:
        An :class:`~gradcourse.networks.MLP` with ``len(inits) * len(keys)`` networks.
    """
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    if not inits:
        raise ValueError("inits must hold at least one initialiser, got none")
    return _init_stacks(keys, tuple(inits), width, depth, in_dim, out_dim)


@jax.jit(static_argnums=(1, 2, 3, 4, 5))
def _init_stacks(keys, inits, width, depth, in_dim, out_dim):
    def stack(init):
        one = lambda k: init_mlp(k, in_dim, width, depth, out_dim, w_init=init)
        return jax.vmap(one)(keys)

    return jax.tree.map(lambda *a: jnp.concatenate(a), *(stack(i) for i in inits))


# --- variance propagation, measured and predicted -----------------------------------------


class Profile(NamedTuple):
    """Forward and backward variance per layer for one scheme (:func:`variance_profiles`)."""

    q: np.ndarray  #: ``(seeds, depth)`` measured :math:`\mathbb E[z_l^2]`
    #: ``(seeds, depth)`` measured :math:`\lVert\partial\mathcal L/\partial H_l\rVert^2`
    g2: np.ndarray
    q_theory: np.ndarray  #: ``(depth,)`` mean-field :math:`q_l`
    g2_theory: np.ndarray  #: ``(depth,)`` mean-field squared norm, anchored at the top


def variance_profiles(
    params: MLP,
    xs: ArrayLike,
    ys: ArrayLike,
    sigma_w2: Sequence[float],
    activation: str,
) -> tuple[Profile, ...]:
    r"""Per-layer forward and backward variance of networks at initialisation, with theory.

    Measured, for each network: :math:`q_l = \mathbb E[z_l^2]` over the batch and units,
    and :math:`\lVert\partial\mathcal L/\partial H_l\rVert^2` from
    :func:`gradcourse.probes.grad_norms`. Predicted, by the mean-field recursions with
    :math:`\sigma_w^2 = n\operatorname{Var}(w)` and :math:`q_0 = \mathbb E[x^2]`:

    .. math::

        q_l = \sigma_w^2\,\mathbb E_{z\sim\mathcal N(0,q_{l-1})}[\phi(z)^2], \qquad
        \lVert g_l\rVert^2 = \lVert g_L\rVert^2 \prod_{k=l+1}^{L} \chi_k, \quad
        \chi_k = \sigma_w^2\,\mathbb E[\phi'(z_k)^2],

    anchored at the median measured :math:`\lVert g_L\rVert^2` of each scheme.

    Args:
        params: ``len(sigma_w2) * seeds`` networks stacked scheme by scheme
            (:func:`init_stacks`).
        xs: inputs ``(batch, in_dim)``.
        ys: integer labels ``(batch,)``.
        sigma_w2: :math:`\sigma_w^2` of each scheme, in the order of ``params``.
        activation: registry name.

    Returns:
        One :class:`Profile` per scheme.

    References:
        Glorot & Bengio, `Understanding the difficulty of training deep feedforward neural
        networks <https://proceedings.mlr.press/v9/glorot10a.html>`_, 2010; He et al.,
        `Delving Deep into Rectifiers <https://arxiv.org/abs/1502.01852>`_, 2015.
    """
    xs, ys = np.asarray(xs), np.asarray(ys)
    _checks.ndim("xs", xs, 2)
    n_schemes = len(sigma_w2)
    if n_schemes == 0 or params.first.w.shape[0] % n_schemes:
        raise ValueError(
            f"sigma_w2 must give one value per scheme of the {params.first.w.shape[0]} "
            f"stacked networks, got {len(sigma_w2)}"
        )
    depth = params.hidden.w.shape[1] + 1  # params has a leading network axis
    q, g2 = _measure(params, xs, ys, activation)
    q, g2 = (np.asarray(a).reshape(n_schemes, -1, depth) for a in (q, g2))
    q0 = float(np.mean(xs**2))  # the input's mean square, before layer 1
    g2_top = np.median(g2[:, :, -1], axis=1)
    q_th, g2_th = map(
        np.asarray,
        _theory(q0, jnp.asarray(sigma_w2), g2_top, activation, depth),
    )
    return tuple(
        Profile(q[i], g2[i], q_th[:, i], g2_th[:, i]) for i in range(n_schemes)
    )


@jax.jit(static_argnums=3)
def _measure(params, xs, ys, activation):
    def one(p):
        q = jnp.mean(forward_batch(p, xs, activation)[1].pre ** 2, axis=(0, 2))
        return q, grad_norms(p, xs, ys, activation).hidden ** 2

    return jax.vmap(one)(params)


@jax.jit(static_argnums=(3, 4))
def _theory(q0, sigma_w2, g2_top, activation, depth):
    # the pair (phi, phi'), so the quadrature does not split at kinks
    pair = (get(activation).fn, get(activation).grad)
    q = meanfield.variance_trajectory(q0, sigma_w2, 0.0, pair, depth=depth)
    # chi_l: the factor of layer l on the way down (q floored where float32 underflows)
    chi = meanfield.chi(jnp.maximum(q, 1e-30), sigma_w2, pair)
    # ||g_l||^2 = ||g_L||^2 * prod_{k=l+1..L} chi_k
    ones = jnp.ones((1, sigma_w2.shape[0]))
    tail = jnp.concatenate([jnp.cumprod(chi[1:][::-1], axis=0)[::-1], ones])
    return q, g2_top * tail


def per_layer_factor(values: ArrayLike, first: int, last: int) -> float:
    r"""Geometric-mean factor per layer between layers ``first`` and ``last`` (median seed).

    .. math::

        \Bigl(v_{\text{last}} / v_{\text{first}}\Bigr)^{1/\lvert\text{last} -
        \text{first}\rvert}, \qquad v = \operatorname{median}_{\text{seeds}}(\text{values}).

    Args:
        values: ``(seeds, depth)`` or ``(depth,)`` per-layer values.
        first, last: layers, 1-based, different.

    Returns:
        The factor.
    """
    v = np.median(np.atleast_2d(values), axis=0)
    for name, layer in [("first", first), ("last", last)]:
        _checks.in_range(name, layer, 1, v.shape[0])
    if first == last:
        raise ValueError(f"first and last must differ, got {first} twice")
    return float((v[last - 1] / v[first - 1]) ** (1 / abs(last - first)))


class Factors(NamedTuple):
    """Result of :func:`layer_factors`: per-layer factors, measured and predicted."""

    forward: float  #: of :math:`\mathbb E[z_l^2]`, median seed
    forward_theory: float  #: of the mean-field :math:`q_l`
    backward: float  #: of the squared gradient norm toward the input, median seed
    backward_theory: float  #: of the mean-field squared norm


def layer_factors(
    profile: Profile,
    forward: tuple[int, int] = (5, 25),
    backward: tuple[int, int] = (50, 30),
) -> Factors:
    """:func:`per_layer_factor` of a :class:`Profile`, forward and backward, with theory.

    Args:
        profile: one scheme's profile (:func:`variance_profiles`).
        forward: layers ``(first, last)`` of the forward window.
        backward: layers ``(first, last)`` of the backward window, from the top down.

    Returns:
        A :class:`Factors`.
    """
    return Factors(
        per_layer_factor(profile.q, *forward),
        per_layer_factor(profile.q_theory, *forward),
        per_layer_factor(profile.g2, *backward),
        per_layer_factor(profile.g2_theory, *backward),
    )


class TanhFixedPoint(NamedTuple):
    r"""Result of :func:`tanh_fixed_points`, one entry per :math:`\sigma_w^2`."""

    q_star: np.ndarray  #: the fixed point :math:`q^*` of the variance map
    chi: np.ndarray  #: :math:`\chi` at :math:`q^*`
    saturated: (
        np.ndarray
    )  #: fraction of units with :math:`\tanh'(z) < 0.04` at :math:`q^*`


def tanh_fixed_points(sigma_w2: ArrayLike) -> TanhFixedPoint:
    r"""Mean-field fixed point of a tanh network (no biases) and its saturated fraction.

    A unit counts as saturated where :math:`\tanh'(z) < 0.04` (1/25 of its peak), i.e.
    :math:`|z| > \operatorname{artanh}\sqrt{0.96} \approx 2.29`; at the fixed point
    :math:`z \sim \mathcal N(0, q^*)`, so the fraction is
    :math:`2\,\Phi(-2.29/\sqrt{q^*})`.

    Args:
        sigma_w2: :math:`\sigma_w^2` values, each > 0.

    Returns:
        A :class:`TanhFixedPoint`.
    """
    sigma_w2 = jnp.asarray(sigma_w2, jnp.float32)
    fixed = meanfield.mean_field(sigma_w2, 0.0, "tanh")
    z_sat = float(np.arctanh(np.sqrt(0.96)))
    saturated = 2 * jax.scipy.stats.norm.sf(z_sat / jnp.sqrt(fixed.q_star))
    return TanhFixedPoint(*map(np.asarray, (fixed.q_star, fixed.chi, saturated)))


# --- histograms ------------------------------------------------------------------------


class HistogramSummary(NamedTuple):
    """Summary of per-layer snapshots, one row per network (:func:`histogram_summary`)."""

    act_std: np.ndarray  #: ``(networks, depth)`` standard deviation of :math:`h_l`
    delta_median: np.ndarray  #: ``(networks, depth)`` median :math:`|\delta_l|`
    saturated: np.ndarray  #: ``(networks,)`` fraction with :math:`|h| > \sqrt{0.96}`


def layer_snapshots(
    params: MLP, xs: ArrayLike, ys: ArrayLike, activation: str = "tanh"
) -> LayerSnapshot:
    """:func:`layer_snapshot` of every network of a stack, stacked (NumPy).

    Returns:
        A :class:`LayerSnapshot` of arrays ``(networks, depth, batch, width)``.
    """
    n = params.first.w.shape[0]
    snaps = [
        layer_snapshot(jax.tree.map(lambda a, i=i: a[i], params), xs, ys, activation)
        for i in range(n)
    ]
    post = np.stack([np.asarray(s.post) for s in snaps])
    delta = np.stack([np.asarray(s.delta) for s in snaps])
    return LayerSnapshot(post, delta)


def histogram_summary(
    snaps: LayerSnapshot, *, from_layer: int = 10
) -> HistogramSummary:
    r"""Spread of the activations, size of :math:`\delta` and saturation, per network.

    A tanh unit counts as saturated where :math:`|h| > \sqrt{0.96}`, i.e.
    :math:`\tanh'(z) = 1 - h^2 < 0.04`, counted over layers ``from_layer`` to the last.

    Args:
        snaps: stacked snapshots (:func:`layer_snapshots`).
        from_layer: first layer (1-based) counted for saturation.

    Returns:
        A :class:`HistogramSummary`.
    """
    post, delta = np.asarray(snaps.post), np.asarray(snaps.delta)
    _checks.in_range("from_layer", from_layer, 1, post.shape[1])
    sat = (np.abs(post[:, from_layer - 1 :]) > np.sqrt(0.96)).mean(axis=(1, 2, 3))
    return HistogramSummary(
        post.std(axis=(2, 3)), np.median(np.abs(delta), axis=(2, 3)), sat
    )


# --- training from several initialisations --------------------------------------------------


def unit_spread(params: Any, grads: Any, updates: Any, trace: Trace) -> Array:
    r"""A ``record`` hook: :math:`\max_{l, x, i} |h_{l,i}(x) - h_{l,0}(x)|`, zero iff every
    unit of every layer computes the same function (on the minibatch)."""
    return jnp.max(jnp.abs(trace.post - trace.post[..., :1]))


# --- orthogonal against Gaussian ------------------------------------------------------------


class Spectra(NamedTuple):
    r"""Result of :func:`product_spectra`: :math:`\log_{10}` singular values, largest first."""

    gaussian: np.ndarray  #: ``(n,)`` of the Gaussian product, by repeated QR
    orthogonal: np.ndarray  #: ``(n,)`` of the orthogonal product
    theory: np.ndarray  #: ``(n,)`` mean of the Gaussian ones (Lyapunov exponents)
    float64_decades: float  #: what a float64 SVD of the formed Gaussian product reports


def product_spectra(key: Array, *, depth: int = 30, n: int = 64) -> Spectra:
    r"""Singular values of a product of ``depth`` square Gaussian or orthogonal weights.

    Both stacks are drawn from the same ``depth`` keys (LeCun normal,
    :math:`\operatorname{Var}(w) = 1/n`, and ``orthogonal()``). The Gaussian product's
    spectrum is followed by repeated QR (:func:`gradcourse.randmat.lyapunov_spectrum`), so
    it has no floating-point floor; the theory is ``depth`` times the Lyapunov exponents
    :math:`\tfrac12[\psi(\tfrac{n-i+1}{2}) - \log\tfrac n2]`
    (:func:`gradcourse.randmat.gaussian_lyapunov`). For contrast the product is also formed
    in float64 and its SVD taken, which stops at float64's rounding floor.

    Args:
        key: PRNG key.
        depth: number of factors, >= 1.
        n: width, >= 1.

    Returns:
        A :class:`Spectra`.

    References:
        Saxe et al., `Exact solutions to the nonlinear dynamics of learning in deep linear
        neural networks <https://arxiv.org/abs/1312.6120>`_, 2014.
    """
    _checks.positive_int("depth", depth)
    _checks.positive_int("n", n)
    gauss, orth = _weight_stacks(key, depth, n)
    lsv = [
        np.sort(np.asarray(randmat.lyapunov_spectrum(w)[-1]))[::-1] / np.log(10)
        for w in (gauss, orth)
    ]
    theory = depth * np.asarray(randmat.gaussian_lyapunov(n)) / np.log(10)
    product = np.linalg.multi_dot(np.asarray(gauss, np.float64)[::-1])
    sv64 = np.linalg.svd(product, compute_uv=False)
    return Spectra(*lsv, theory, float(np.log10(sv64[0] / sv64[-1])))


@jax.jit(static_argnums=(1, 2))
def _weight_stacks(key, depth, n):
    keys = jax.random.split(key, depth)
    return [
        jax.vmap(lambda k, init=init: init(k, (n, n)))(keys)
        for init in (lecun_normal(), orthogonal())
    ]
