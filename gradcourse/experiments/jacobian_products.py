r"""Experiments of the chapter on Jacobian products.

The gradient of a deep network is a product of layer Jacobians
:math:`J_k = \operatorname{diag}(\phi'(z_k))\,W_k` (:func:`product_error`,
:func:`product_formula_grads`). Its size is a product too: one unit per layer gives a
random walk of logs (:func:`scalar_chains`); Gaussian matrices give a log-norm that drifts
linearly and spreads like :math:`\sqrt L` (:func:`random_chains`; Furstenberg & Kesten,
1960), and spectra that widen with depth unless the weights are orthogonal
(:func:`depth_spectra`; Pennington et al., 2017). For wide networks the mean-field
:math:`\chi = \sigma_w^2\,\mathbb E[\phi'(z)^2]` predicts the per-layer change of the
squared gradient (:func:`measured_chi`) and the slope of the correlation map at
:math:`c = 1` (:func:`pair_correlations`; Poole et al., 2016; Schoenholz et al., 2017).

References:
    Poole et al., `Exponential expressivity in deep neural networks through transient
    chaos <https://arxiv.org/abs/1606.05340>`_, 2016; Schoenholz et al., `Deep
    Information Propagation <https://arxiv.org/abs/1611.01232>`_, 2017; Pennington,
    Schoenholz & Ganguli, `Resurrecting the sigmoid in deep learning through dynamical
    isometry <https://arxiv.org/abs/1711.04735>`_, 2017.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import (
    _checks,
    jacobians,
    meanfield,
    networks,
    randmat,
    registry,
)
from gradcourse.networks import MLP, ActivationLike
from gradcourse.spectra import log_spectra_seeds

from ._order_and_chaos import correlated_pair, measured_chi, pair_correlations

__all__ = [
    "Setting",
    "correlated_pair",
    "depth_spectra",
    "log_spread",
    "measured_chi",
    "pair_correlations",
    "autodiff_grads",
    "product_error",
    "product_formula_grads",
    "random_chains",
    "scalar_chains",
    "spectra_settings",
]


# --- the gradient is a product ------------------------------------------------------


def product_error(net: MLP, x: ArrayLike, activation: ActivationLike = "tanh") -> float:
    r"""Relative gap between the product of layer Jacobians and the end-to-end Jacobian.

    .. math::

        \frac{\max\lvert J_L \cdots J_1 - \partial h_L/\partial x \rvert}
             {\max\lvert \partial h_L/\partial x \rvert},

    the product from :func:`gradcourse.jacobians.jacobian_products`, the end-to-end
    Jacobian from one :func:`jax.jacfwd` (:func:`gradcourse.jacobians.input_output_jacobian`).

    Args:
        net: one network.
        x: one input ``(in_dim,)``.
        activation: registry name or elementwise function.

    Returns:
        The relative gap (float32 round-off, about 1e-7).
    """
    prods = jacobians.jacobian_products(jacobians.layer_jacobians(net, x, activation))
    end_to_end = np.asarray(jacobians.input_output_jacobian(net, x, activation))
    gap = np.max(np.abs(np.asarray(prods)[-1] - end_to_end))
    return float(gap / np.max(np.abs(end_to_end)))


@functools.partial(jax.jit, static_argnames=("activation",))
def _product_formula_grads(
    net: MLP, x: Array, jacs: jacobians.LayerJacobians, label: Array, activation: str
) -> Array:
    out, trace = networks.forward_with_trace(net, x, activation)
    n_out = net.readout.w.shape[0]
    delta_top = net.readout.w.T @ (jax.nn.softmax(out) - jax.nn.one_hot(label, n_out))
    deltas = jacobians.backprop_signals(jacs, delta_top)  # (depth, width)
    slopes = registry.get(activation).grad(trace.pre)
    h_prev = trace.post[:-1]  # h_1 .. h_{L-1} feed layers 2 .. L
    return (slopes[1:] * deltas[1:])[:, :, None] * h_prev[:, None, :]


def product_formula_grads(
    net: MLP,
    x: ArrayLike,
    jacs: jacobians.LayerJacobians,
    label: int,
    activation: str = "tanh",
) -> np.ndarray:
    r""":math:`\partial\mathcal L/\partial W_l` for layers 2..L from the product formula.

    For the cross-entropy of one example with label :math:`y`,
    :math:`g_L = W_{\text{out}}^\top(\operatorname{softmax}(f) - e_y)` is carried back
    through the transposed factors (:func:`gradcourse.jacobians.backprop_signals`),
    :math:`\delta_l = \phi'(z_l) \odot (J_{l+1}^\top \cdots J_L^\top g_L)`, and each
    weight gradient is the outer product :math:`\delta_l\, h_{l-1}^\top`.

    Args:
        net: one network.
        x: one input ``(in_dim,)``.
        jacs: its layer Jacobians at ``x`` (:func:`gradcourse.jacobians.layer_jacobians`).
        label: the class, in ``[0, out_dim)``.
        activation: a registered activation name (its ``grad`` gives the slopes).

    Returns:
        ``(depth - 1, width, width)`` weight gradients of layers 2..L.

    Raises:
        ValueError: for a ``label`` outside the classes.
    """
    _check_label(label, net)
    return np.asarray(
        _product_formula_grads(
            net, jnp.asarray(x), jacs, jnp.asarray(label), activation
        )
    )


@functools.partial(jax.jit, static_argnames=("activation",))
def _autodiff_grads(net: MLP, x: Array, label: Array, activation: str) -> Array:
    def one_loss(p: MLP) -> Array:
        return -jax.nn.log_softmax(networks.forward(p, x, activation))[label]

    return jax.grad(one_loss)(net).hidden.w


def autodiff_grads(
    net: MLP, x: ArrayLike, label: int, activation: str = "tanh"
) -> np.ndarray:
    """The same weight gradients as :func:`product_formula_grads`, by :func:`jax.grad` of
    the example's cross-entropy.

    Args:
        net, x, label, activation: as in :func:`product_formula_grads`, which also needs
            the layer Jacobians.

    Returns:
        What :func:`product_formula_grads` returns, up to float32 round-off.

    Raises:
        ValueError: for a ``label`` outside the classes.
    """
    _check_label(label, net)
    return np.asarray(
        _autodiff_grads(net, jnp.asarray(x), jnp.asarray(label), activation)
    )


def _check_label(label: int, net: MLP) -> None:
    n_out = int(net.readout.w.shape[0])
    if isinstance(label, bool) or not isinstance(label, int | np.integer):
        raise ValueError(f"label must be an integer in [0, {n_out}), got {label!r}")
    if not 0 <= label < n_out:
        raise ValueError(f"label must be an integer in [0, {n_out}), got {label!r}")


# --- scalar chains and random matrix chains -----------------------------------------


def _scalar_chain(w: Array, activation: str) -> Array:
    act = registry.get(activation)

    def layer(h: Array, w_k: Array) -> tuple[Array, Array]:  # z_k = w_k h_{k-1}
        z = w_k * h
        return act.fn(z), jnp.log10(jnp.abs(w_k * act.grad(z)))

    _, logs = jax.lax.scan(layer, jnp.ones(w.shape[0]), w.T)  # one layer per step
    return jnp.cumsum(logs, axis=0).T  # (seeds, depth)


@functools.partial(jax.jit, static_argnames=("names", "seeds", "depth"))
def _scalar_chains(
    key: Array, names: tuple[str, ...], seeds: int, depth: int
) -> dict[str, Array]:
    w = jax.random.normal(key, (seeds, depth))  # w_k ~ N(0, 1)
    return {a: _scalar_chain(w, a) for a in names}


def scalar_chains(
    key: Array,
    names: Sequence[str] = ("sigmoid", "tanh"),
    *,
    seeds: int = 20,
    depth: int = 30,
) -> dict[str, np.ndarray]:
    r"""Log-size of the gradient through chains of single units, after each layer.

    With one unit per layer, :math:`h_k = \phi(w_k h_{k-1})` from :math:`h_0 = 1` with
    :math:`w_k \sim \mathcal N(0, 1)` and no biases, every Jacobian is a number and

    .. math::

        \log_{10}\Bigl\lvert \prod_{k \le l} w_k\,\phi'(z_k) \Bigr\rvert
        = \sum_{k \le l} \log_{10}\lvert w_k\,\phi'(z_k)\rvert ,

    a random walk over depth. Every activation sees the same weights.

    Args:
        key: PRNG key for the weights.
        names: registered activation names.
        seeds: chains, >= 1.
        depth: layers, >= 1.

    Returns:
        ``{name: (seeds, depth)}`` cumulative log10 sizes.

    Raises:
        ValueError: for a bad ``seeds``, ``depth`` or name.
    """
    _checks.positive_int("seeds", seeds)
    _checks.positive_int("depth", depth)
    names = tuple(names)
    for name in names:
        registry.get(name)  # raises ValueError for an unknown name
    chains = _scalar_chains(key, names, seeds, depth)
    return {a: np.asarray(v) for a, v in chains.items()}


@functools.partial(jax.jit, static_argnames=("n", "depth", "n_chains"))
def _random_chains(
    key: Array, n: int, depth: int, n_chains: int
) -> tuple[Array, Array]:
    u = np.full(n, 1 / np.sqrt(n), np.float32)

    def chain(k: Array, kind: str) -> Array:
        return randmat.chain_log_norms(randmat.random_chain(k, n, depth, kind=kind), u)

    g = jax.vmap(lambda k: chain(k, "gaussian"))(jax.random.split(key, n_chains))
    o = jax.vmap(lambda k: chain(k, "orthogonal"))(
        jax.random.split(jax.random.fold_in(key, 1), n_chains)
    )
    return g, o


def random_chains(
    key: Array, n: int = 32, depth: int = 200, n_chains: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    r"""Log-norms :math:`\log\lVert W_l \cdots W_1 u\rVert` of Gaussian and orthogonal chains.

    :math:`W_k` has entries :math:`\mathcal N(0, 1/n)` (or is Haar orthogonal) and
    :math:`u = (1, \dots, 1)/\sqrt n`. For Gaussian factors the log-norm is a sum of
    independent :math:`\tfrac12\log(\chi^2_n/n)`, so it drifts at the rate :math:`\mu` and
    spreads like :math:`\sqrt{l}\,s` (:func:`gradcourse.randmat.gaussian_log_growth`);
    orthogonal factors keep it at zero.

    Args:
        key: PRNG key.
        n: matrix size, >= 1.
        depth: matrices per chain, >= 1.
        n_chains: chains of each kind, >= 1.

    Returns:
        ``(gaussian, orthogonal)``, each ``(n_chains, depth)``.

    Raises:
        ValueError: for a bad size.
    """
    for name, value in [("n", n), ("depth", depth), ("n_chains", n_chains)]:
        _checks.positive_int(name, value)
    g, o = _random_chains(key, n, depth, n_chains)
    return np.asarray(g), np.asarray(o)


# --- spectra of the input-output Jacobian -------------------------------------------


def _linear(z: ArrayLike) -> Array:
    return jnp.asarray(z)


@dataclass(frozen=True)
class Setting:
    """One network of the spectra experiment.

    Attributes:
        activation: for the network (a registry name or an elementwise function).
        meanfield: for :func:`gradcourse.meanfield.mean_field` (a name, or a pair
            ``(phi, phi')``).
        sigma_w2: weight variance.
        sigma_b2: bias variance.
    """

    activation: ActivationLike
    meanfield: Any
    sigma_w2: float
    sigma_b2: float


def spectra_settings(sigma_b2_tanh: float = 1e-4) -> dict[str, Setting]:
    r"""The four networks whose Jacobian spectra the chapter compares, set at :math:`\chi = 1`.

    Linear units at :math:`\sigma_w^2 = 1`; tanh at its critical
    :math:`\sigma_w^2` for a small bias variance (so :math:`q^*` is small); ReLU at
    :math:`\sigma_w^2 = 2` (He); the sigmoid at :math:`\sigma_w^2 = 16`, which would offset
    its maximum slope of 1/4 (it has no critical point at moderate weights).

    Args:
        sigma_b2_tanh: the tanh network's bias variance, > 0.

    Returns:
        ``{"linear", "tanh", "relu", "sigmoid"}`` to :class:`Setting`.

    Raises:
        ValueError: for a bad ``sigma_b2_tanh``.
    """
    sb2 = _checks.positive("sigma_b2_tanh", sigma_b2_tanh)
    sw2_tanh = float(meanfield.critical_sigma_w2(sb2))
    return {
        "linear": Setting(_linear, (_linear, jnp.ones_like), 1.0, 0.0),
        "tanh": Setting("tanh", "tanh", sw2_tanh, sb2),
        "relu": Setting("relu", "relu", 2.0, 0.0),
        "sigmoid": Setting("sigmoid", "sigmoid", 16.0, 0.0),
    }


def depth_spectra(
    key_inputs: Array,
    seed_keys: Array,
    settings: dict[str, Setting],
    *,
    width: int = 64,
    depth: int = 48,
    layers: Sequence[int] = (4, 16, 48),
    inputs: int = 2,
) -> dict[tuple[str, str], np.ndarray]:
    r"""Log10 singular values of :math:`\partial h_l/\partial x` for each setting and weights.

    Inputs are unit Gaussians scaled so that the first layer's pre-activations have the
    variance :math:`q^*` of mean-field theory (at least 1e-3). The spectra are Lyapunov
    estimates (:func:`gradcourse.spectra.log_spectra_seeds`: re-orthonormalised after
    every layer, so there is no float32 floor), for Gaussian and orthogonal weights.

    Args:
        key_inputs: PRNG key for the inputs.
        seed_keys: ``(seeds,)`` PRNG keys, one network each (the same for every setting).
        settings: from :func:`spectra_settings`.
        width, depth: network size (input size = width).
        layers: depths at which to read the spectrum.
        inputs: inputs per network, >= 1.

    Returns:
        ``{(name, weights): (seeds, inputs, len(layers), width)}`` log10 singular values.

    Raises:
        ValueError: for a bad size (from the package functions).
    """
    _checks.positive_int("inputs", inputs)
    _checks.positive_int("width", width)
    xs_unit = np.asarray(jax.random.normal(key_inputs, (inputs, width)))
    spectra = {}
    for name, s in settings.items():
        q_star = float(meanfield.mean_field(s.sigma_w2, s.sigma_b2, s.meanfield).q_star)
        q0 = max(q_star - s.sigma_b2, 1e-3) / s.sigma_w2  # so that q_1 = q*
        xs = xs_unit * np.sqrt(q0)
        for weights in jacobians.WEIGHTS:
            family = jacobians.RandomMLP(
                width, depth, s.activation, s.sigma_w2, s.sigma_b2, weights
            )
            log_s = log_spectra_seeds(seed_keys, xs, family, layers=tuple(layers))
            spectra[name, weights] = np.asarray(log_s) / np.log(10)
    return spectra


def log_spread(log10_s: ArrayLike) -> float:
    """Decades between the 90th and 10th percentile of log10 singular values."""
    return float(np.percentile(log10_s, 90) - np.percentile(log10_s, 10))
