r"""Experiments of the chapter "Why deep networks stop learning".

Why does a deep sigmoid network fail to learn the digits? Not because its lower layers
compute "random features": a linear read-out fitted to one layer of random sigmoid
features learns the task (:func:`readout_accuracy`). It fails because the forward signal
collapses: with LeCun weights every sigmoid layer shrinks the differences between inputs
by about the gradient's factor per layer, so by layer ten every input gives nearly the
same activation vector (:func:`input_spread`), and the read-out has nothing to tell the
classes apart by (Poole et al., 2016; Schoenholz et al., 2017); :func:`forward_collapse`
measures both for several networks.

The chapter's other experiments: backpropagation as a chain of local derivatives
(:func:`chain_local_derivatives`, :func:`backprop_by_hand`, teaching versions checked
against ``jax.grad``), the per-layer gradient norms of stacks of networks with scaled
weights (:func:`probe_scaled`: sigmoid vanishes, tanh with :math:`\sigma_w = 3` explodes),
the first update of an optimiser (:func:`first_updates`: SGD copies the gradient's
profile, Adam flattens it) and how far each layer moves in training
(:func:`layer_movement`).

References:
    Schoenholz et al., `Deep Information Propagation <https://arxiv.org/abs/1611.01232>`_,
    2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.activations import sigmoid, sigmoid_grad
from gradcourse.data import Split
from gradcourse.networks import MLP, Dense, forward_batch, init_mlp, mlp_model
from gradcourse.probes import GradNorms, grad_norms
from gradcourse.train import accuracy, fit


def sigmoid_chain(x: ArrayLike, w: ArrayLike) -> Array:
    r"""A chain of scalar sigmoid units, :math:`h_l = \sigma(w_l h_{l-1})`, :math:`h_0 = x`.

    Args:
        x: the input :math:`h_0`, a scalar.
        w: ``(L,)`` weights :math:`w_1, \dots, w_L`.

    Returns:
        :math:`h_L`.
    """
    for w_l in w:
        x = sigmoid(w_l * x)
    return x


@jax.jit
def chain_local_derivatives(x: ArrayLike, w: ArrayLike) -> Array:
    r"""The local derivatives :math:`\partial h_l/\partial h_{l-1} = \sigma'(z_l)\,w_l` of
    :func:`sigmoid_chain`, one per layer.

    Their product is :math:`\partial h_L/\partial x` (the chain rule), which the chapter
    checks against ``jax.grad(sigmoid_chain)``.

    Args:
        x: the input :math:`h_0`, a scalar.
        w: ``(L,)`` weights.

    Returns:
        ``(L,)`` local derivatives, layer 1 first.
    """
    zs = []
    for w_l in w:
        zs.append(w_l * x)
        x = sigmoid(zs[-1])
    return jnp.stack([sigmoid_grad(z) * w_l for z, w_l in zip(zs, w, strict=True)])


@jax.jit
def backprop_by_hand(params: MLP, xs: Array, ys: Array) -> tuple[MLP, Array]:
    r"""Backpropagation through a sigmoid MLP written out layer by layer (teaching version).

    From the gradient of the batch-mean cross-entropy with respect to the logits,
    :math:`(\operatorname{softmax}(f) - \operatorname{onehot}(y))/B`, the recursion

    .. math::

        \delta_l = \phi'(z_l) \odot W_{l+1}^\top \delta_{l+1}, \qquad
        \frac{\partial\mathcal L}{\partial W_l} = \delta_l\, h_{l-1}^\top

    runs from the top layer down in a Python loop. A test checks it against ``jax.grad``
    and :func:`gradcourse.probes.grad_norms`.

    Args:
        params: a sigmoid :class:`~gradcourse.networks.MLP` with 10 outputs.
        xs: inputs ``(batch, in_dim)``.
        ys: integer labels ``(batch,)``.

    Returns:
        ``(grads, dh)``: the gradient as an :class:`~gradcourse.networks.MLP`, and
        ``(depth,)`` norms :math:`\lVert\partial\mathcal L/\partial h_l\rVert`.
    """
    logits, trace = forward_batch(params, xs, "sigmoid")
    d_out = (jax.nn.softmax(logits) - jax.nn.one_hot(ys, 10)) / xs.shape[0]
    weights = [params.first.w, *params.hidden.w]  # W_1 .. W_L, each (out, in)
    inputs = [xs, *[trace.post[:, i] for i in range(params.depth - 1)]]  # h_0..h_{L-1}
    g_h = d_out @ params.readout.w  # dL/dh_L, one row per example
    dw, db, dh = [], [], []
    for i in reversed(range(params.depth)):  # layer l = i + 1, from the top down
        dh.insert(0, jnp.linalg.norm(g_h))
        delta = g_h * sigmoid_grad(trace.pre[:, i])  # delta_l
        dw.insert(0, delta.T @ inputs[i])  # sum over examples of delta_l h_{l-1}^T
        db.insert(0, delta.sum(axis=0))
        g_h = delta @ weights[i]  # W_l^T delta_l: dL/dh_{l-1}
    readout = Dense(d_out.T @ trace.post[:, -1], d_out.sum(axis=0))
    grads = MLP(
        Dense(dw[0], db[0]), Dense(jnp.stack(dw[1:]), jnp.stack(db[1:])), readout
    )
    return grads, jnp.stack(dh)


def init_network(key: Array, *, width: int = 64, depth: int = 20) -> MLP:
    """One LeCun-initialised network with 64 inputs and 10 outputs (compiled once per size).

    Args:
        key: PRNG key.
        width: units per hidden layer, >= 1.
        depth: hidden layers, >= 1.

    Returns:
        ``gc.networks.init_mlp(key, 64, width, depth, 10)``.
    """
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    return _init_one(key, width, depth)


def init_networks(keys: Array, *, width: int = 64, depth: int = 20) -> MLP:
    """One LeCun-initialised network (64 inputs, 10 outputs) per key, stacked on axis 0.

    Args:
        keys: ``(seeds,)`` PRNG keys.
        width: units per hidden layer, >= 1.
        depth: hidden layers, >= 1.

    Returns:
        An :class:`~gradcourse.networks.MLP` whose leaves have a leading seed axis.
    """
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    return _init_networks(keys, width, depth)


@jax.jit(static_argnums=(1, 2))
def _init_networks(keys: Array, width: int, depth: int) -> MLP:
    return jax.vmap(lambda k: _init_one(k, width, depth))(keys)


@jax.jit(static_argnums=(1, 2))
def _init_one(key: Array, width: int, depth: int) -> MLP:
    return init_mlp(key, 64, width, depth, 10)


def probe_scaled(
    nets: MLP, xs: ArrayLike, ys: ArrayLike, activation: str, sigma_w: float = 1.0
) -> GradNorms:
    r"""Per-layer gradient norms of every network of a stack, all weights times
    :math:`\sigma_w`.

    LeCun weights times :math:`\sigma_w` have :math:`\operatorname{Var}(w) =
    \sigma_w^2/n_{\text{in}}`; each network is probed by
    :func:`gradcourse.probes.grad_norms` (vmapped).

    Args:
        nets: networks with a leading seed axis (:func:`init_networks`).
        xs, ys: the batch.
        activation: registry name.
        sigma_w: weight gain, > 0.

    Returns:
        A :class:`~gradcourse.probes.GradNorms` of NumPy arrays with a leading seed axis.
    """
    _checks.positive("sigma_w", sigma_w)
    norms = _probe_scaled(nets, jnp.asarray(xs), jnp.asarray(ys), activation, sigma_w)
    return jax.device_get(norms)


@jax.jit(static_argnames="activation")
def _probe_scaled(nets, xs, ys, activation, sigma_w):
    scaled = MLP(*(Dense(sigma_w * d.w, d.b) for d in nets))
    return jax.vmap(grad_norms, (0, None, None, None))(scaled, xs, ys, activation)


def first_update(
    optimizer: optax.GradientTransformation, grads: Any, params: Any
) -> Any:
    """The first update an optimiser makes from a fresh state, for the gradient ``grads``.

    Args:
        optimizer: an optax transformation (compiled once per optimizer object).
        grads: the gradient, a pytree like ``params``.
        params: the parameters.

    Returns:
        The update, a pytree like ``params``.
    """
    return _first_update(optimizer, grads, params)


def first_updates(
    optimizers: dict[str, optax.GradientTransformation], grads: Any, params: Any
) -> dict[str, Any]:
    """:func:`first_update` of each optimiser of a dictionary, by name."""
    return {name: first_update(opt, grads, params) for name, opt in optimizers.items()}


@jax.jit(static_argnums=0)
def _first_update(optimizer, grads, params):
    return optimizer.update(grads, optimizer.init(params), params)[0]


def relative_change(start: MLP, end: MLP) -> np.ndarray:
    r""":math:`\lVert W_l^{\text{end}} - W_l^{\text{start}}\rVert_F /
    \lVert W_l^{\text{start}}\rVert_F` for each layer, then the read-out (in NumPy).

    Args:
        start, end: two :class:`~gradcourse.networks.MLP` of the same shape.

    Returns:
        ``(depth + 1,)`` relative changes.
    """
    start, end = jax.tree.map(np.asarray, (start, end))
    pairs = [
        (start.first.w, end.first.w),
        *zip(start.hidden.w, end.hidden.w, strict=True),
    ]
    pairs.append((start.readout.w, end.readout.w))
    return np.array([np.linalg.norm(e - s) / np.linalg.norm(s) for s, e in pairs])


class Movement(NamedTuple):
    """Result of :func:`layer_movement`."""

    start: MLP  #: the initial network
    moved: (
        np.ndarray
    )  #: ``(depth + 1,)`` relative weight change per layer, then read-out
    accuracy: float  #: test accuracy after training


#: The chapter's optimiser, SGD with learning rate 0.5.
SGD = optax.sgd(0.5)


def layer_movement(
    key: Array,
    split: Split,
    *,
    depth: int,
    steps: int = 300,
    optimizer: optax.GradientTransformation = SGD,
) -> Movement:
    r"""Train a sigmoid network of width 64 and measure how far each layer moved.

    The network is the first ``depth`` layers and the read-out of a 10-layer network drawn
    by ``init_mlp(k_init, 64, 64, 10, 10)`` (the same distribution as a ``depth``-layer
    draw, one compiled initialiser), with ``k_init, k_fit = split(key)``. It is trained by
    :func:`gradcourse.train.fit` on the training digits (minibatches of 128 drawn from
    ``k_fit``), and each layer's :func:`relative_change` is returned with the test
    accuracy.

    Args:
        key: PRNG key.
        split: the digits (:func:`gradcourse.data.digits`).
        depth: hidden layers, 1 to 10.
        steps: optimiser steps, >= 1.
        optimizer: the optimiser (:data:`SGD` by default; ``fit`` compiles its loop
            once per optimizer object).

    Returns:
        A :class:`Movement`.
    """
    _checks.in_range("depth", depth, 1, 10)
    _checks.positive_int("steps", steps)
    k_init, k_fit = jax.random.split(key)
    start = _init_one(k_init, 64, 10)
    start = start._replace(hidden=jax.tree.map(lambda a: a[: depth - 1], start.hidden))
    model = mlp_model("sigmoid")
    end, _ = fit(
        k_fit,
        start,
        *split.train,
        model=model,
        optimizer=optimizer,
        steps=steps,
    )
    acc = accuracy(end, *split.test, model)
    return Movement(start, relative_change(start, end), acc)


def sigmoid_layers(params: MLP, xs: ArrayLike) -> list[np.ndarray]:
    r"""The activations :math:`h_1, \dots, h_L` of a sigmoid network, in float64 NumPy.

    The same forward pass as ``gc.networks.forward_batch(params, xs, "sigmoid")``
    (a test checks it), in float64 and with nothing to compile: the differences between
    inputs that :func:`input_spread` measures deep in the network are only a few float32
    rounding steps of the mean.

    Args:
        params: an :class:`~gradcourse.networks.MLP` (one network, no seed axis).
        xs: inputs ``(batch, in_dim)``.

    Returns:
        ``depth`` arrays of shape ``(batch, width)``.

    Raises:
        ValueError: if ``xs`` is not 2-D.
    """
    h = np.asarray(xs, dtype=np.float64)
    _checks.ndim("xs", h, 2)
    p = jax.tree.map(lambda a: np.asarray(a, dtype=np.float64), params)
    posts = []
    for w, b in [(p.first.w, p.first.b), *zip(p.hidden.w, p.hidden.b, strict=True)]:
        h = 1.0 / (1.0 + np.exp(-(h @ w.T + b)))
        posts.append(h)
    return posts


def input_spread(params: MLP, xs: ArrayLike) -> np.ndarray:
    r"""How much a sigmoid network's activations differ across inputs, per layer.

    For layer :math:`l` and unit :math:`i`, the standard deviation of
    :math:`h_{l,i}(x)` over the inputs divided by its mean, averaged over units:

    .. math::

        s_l = \frac1n \sum_i
        \frac{\operatorname{std}_x h_{l,i}(x)}{\lvert \operatorname{mean}_x h_{l,i}(x)\rvert}.

    A value of :math:`10^{-6}` means every input gives the same activation vector to six
    digits: the layer has all but forgotten the input.

    Args:
        params: an :class:`~gradcourse.networks.MLP` (one network, no seed axis).
        xs: inputs ``(batch, in_dim)``, at least two examples.

    Returns:
        ``(depth,)`` relative spreads :math:`s_1, \dots, s_L`.

    Raises:
        ValueError: if ``xs`` is not 2-D with at least two rows.
    """
    if np.shape(xs)[0] < 2:
        raise ValueError(f"xs must hold at least 2 examples, got {np.shape(xs)[0]}")
    return np.array(
        [
            np.mean(h.std(axis=0) / np.abs(h.mean(axis=0)))
            for h in sigmoid_layers(params, xs)
        ]
    )


def readout_accuracy(
    params: MLP,
    layer: int,
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_test: ArrayLike,
    y_test: ArrayLike,
    *,
    ridge: float = 1e-3,
) -> float:
    r"""Test accuracy of a linear read-out fitted to one layer of a sigmoid network.

    The network is left as it is (at initialisation: random features). A linear
    read-out :math:`B` with a bias column is fitted to the one-hot labels :math:`Y` by
    ridge least squares on the layer's activations :math:`H`,

    .. math::

        B = (H^\top H + \lambda I)^{-1} H^\top Y ,

    and each test example is assigned the class of its largest output. Closed form in
    float64 NumPy: the best a linear read-out of these features can do, with no
    optimiser involved.

    Args:
        params: an :class:`~gradcourse.networks.MLP` (one network, no seed axis).
        layer: which hidden layer's activations to read, 1 to depth.
        x_train, y_train, x_test, y_test: the data (integer labels).
        ridge: :math:`\lambda > 0`.

    Returns:
        The test accuracy.

    Raises:
        ValueError: for a ``layer`` outside [1, depth] or a bad ``ridge``.
    """
    _checks.positive_int("layer", layer)
    _checks.positive("ridge", ridge)
    depth = 1 + int(np.shape(params.hidden.w)[0])
    if layer > depth:
        raise ValueError(f"layer must be in [1, {depth}] (the depth), got {layer}")

    def features(xs: ArrayLike) -> np.ndarray:
        h = sigmoid_layers(params, xs)[layer - 1]
        return np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)

    h_train, h_test = features(x_train), features(x_test)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    targets = np.eye(int(y_train.max()) + 1)[y_train]
    gram = h_train.T @ h_train + ridge * np.eye(h_train.shape[1])
    b = np.linalg.solve(gram, h_train.T @ targets)
    return float(np.mean(np.argmax(h_test @ b, axis=1) == y_test))


class Collapse(NamedTuple):
    """Result of :func:`forward_collapse`, one row per network."""

    spread: np.ndarray  #: ``(networks, depth)`` :func:`input_spread` per layer
    readout: np.ndarray  #: ``(networks, len(layers))`` :func:`readout_accuracy`


def forward_collapse(
    nets: Sequence[MLP], split: Split, *, layers: Sequence[int] = (1, 10)
) -> Collapse:
    """:func:`input_spread` on the test digits and :func:`readout_accuracy` at ``layers``,
    for each of several sigmoid networks.

    Args:
        nets: networks (each without a seed axis).
        split: the digits: read-outs are fitted on the training set, scored on the test set.
        layers: the hidden layers to fit a read-out to, each in [1, depth].

    Returns:
        A :class:`Collapse`.
    """
    data = (split.x_train, split.y_train, *split.test)
    spread = np.stack([input_spread(p, split.x_test) for p in nets])
    readout = np.array(
        [[readout_accuracy(p, layer, *data) for layer in layers] for p in nets]
    )
    return Collapse(spread, readout)
