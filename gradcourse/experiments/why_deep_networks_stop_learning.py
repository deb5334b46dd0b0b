r"""Experiments of the chapter "Why deep networks stop learning".

Why does a deep sigmoid network fail to learn the digits? Not because its lower layers
compute "random features": a linear read-out fitted to one layer of random sigmoid
features learns the task (:func:`readout_accuracy`). It fails because the forward signal
collapses: with LeCun weights every sigmoid layer shrinks the differences between inputs
by about the gradient's factor per layer, so by layer ten every input gives nearly the
same activation vector (:func:`input_spread`), and the read-out has nothing to tell the
classes apart by (Poole et al., 2016; Schoenholz et al., 2017).

References:
    Schoenholz et al., `Deep Information Propagation <https://arxiv.org/abs/1611.01232>`_,
    2017.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.networks import MLP

__all__ = ["input_spread", "readout_accuracy", "sigmoid_layers"]


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
