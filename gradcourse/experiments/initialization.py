"""Experiments of the initialisation chapter: per-seed fluctuation and per-layer snapshots.

``layer_mean_squares`` measures the mean square of every layer's pre-activations for many
seeds at once: at finite width the product of per-layer factors is random, log-normal
(Hanin & Rolnick, 2018). ``layer_snapshot`` returns every layer's activations and
back-propagated signals per example, the raw material of the histograms practitioners plot.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from .. import _checks
from ..activations import resolve
from ..networks import LOSSES, MLP, forward_batch, forward_with_trace, init_mlp


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
