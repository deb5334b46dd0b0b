"""The autoencoder case study's experiments: baselines, the failure, pre-training, remedies.

Every method trains the same deep autoencoder (:class:`Study` ``.sizes`` and its mirror) on
the bundled digits scaled to [0, 1], for the same number of steps, on several seeds. Runs
that share an optimiser share one compiled loop: :func:`compare` trains every SGD method
(the activation and normalisation travel as data, :class:`gradcourse.autoencoder.Variants`)
in one :func:`gradcourse.train.fit_seeds` call, and :func:`adam_aside` the Adam runs in
another.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from gradcourse import autoencoder as ae
from gradcourse import pretraining, train
from gradcourse.data import Split
from gradcourse.networks import Dense

__all__ = [
    "ADAM_METHODS",
    "METHODS",
    "Runs",
    "Study",
    "adam_aside",
    "baselines",
    "compare",
    "reconstructions",
    "summary",
]

#: The SGD methods of :func:`compare`: (label, activation, normalize, initialisation).
METHODS = (
    ("sigmoid, tiny weights", "sigmoid", False, "tiny"),
    ("sigmoid, Xavier", "sigmoid", False, "xavier"),
    ("sigmoid, pre-trained", "sigmoid", False, "pretrained"),
    ("tanh, Xavier", "tanh", False, "xavier"),
    ("ReLU, He", "relu", False, "he"),
)

#: The runs of :func:`adam_aside`: (label, initialisation), sigmoid throughout.
ADAM_METHODS = (("Adam, sigmoid, Xavier", "xavier"), ("Adam, sigmoid, tiny", "tiny"))


@dataclasses.dataclass(frozen=True)
class Study:
    """The case study's settings.

    Attributes:
        sizes: encoder widths from the 64 pixels to the code.
        seeds: independent runs per method.
        steps: fine-tuning / training steps of every method.
        pretrain_steps: steps of each level's shallow autoencoder.
        batch_size: examples per step.
        learning_rate: SGD's step size (every method of :func:`compare`).
        momentum: SGD's momentum.
        adam_learning_rate: Adam's step size in :func:`adam_aside`.
        tiny: standard deviation of the "small random weights".
    """

    sizes: tuple[int, ...] = (64, 48, 32, 24, 16, 8)
    seeds: int = 3
    steps: int = 1500
    pretrain_steps: int = 500
    batch_size: int = 64
    learning_rate: float = 0.1
    momentum: float = 0.9
    adam_learning_rate: float = 3e-3
    tiny: float = 0.01

    @property
    def config(self) -> ae.Autoencoder:
        """The sigmoid autoencoder (linear code, sigmoid output)."""
        return ae.Autoencoder(self.sizes)


class Runs(NamedTuple):
    """Trained runs, method by method.

    Attributes:
        labels: the methods' names.
        params: :class:`gradcourse.autoencoder.Tagged` weights, leading axis
            ``methods * seeds`` (method-major).
        test_error: ``(methods, seeds)`` test reconstruction error (per pixel).
        loss: ``(methods, seeds, steps)`` training loss curves.
        profile: ``(methods, seeds, 2K)`` per-layer weight-gradient norms at the first
            step (the start of training, or of fine-tuning).
        model: the ``model`` callable that reconstructs with ``params``.
    """

    labels: tuple[str, ...]
    params: ae.Tagged
    test_error: np.ndarray
    loss: np.ndarray
    profile: np.ndarray
    model: ae.Variants


def baselines(data: Split, code_size: int) -> dict[str, float]:
    """Test reconstruction error of the training mean image and of PCA with
    ``code_size`` components (the optimum of a linear autoencoder)."""
    mean = jnp.broadcast_to(data.x_train.mean(axis=0), data.x_test.shape)
    pca = ae.pca_reconstruct(data.x_train, data.x_test, code_size)
    return {
        "mean image": float(ae.reconstruction_error(data.x_test, mean)),
        "PCA": float(ae.reconstruction_error(data.x_test, pca)),
    }


@functools.partial(jax.jit, static_argnums=1)
def _normal(keys: Array, size: int) -> Array:
    # One draw site for every layer (each draw site is a compile of its own).
    return jax.vmap(lambda k: jax.random.normal(k, (size,)))(keys)


def _starts(keys: Array, config: ae.Autoencoder, name: str, tiny: float) -> ae.Weights:
    r"""Initial weights with a leading seed axis: zero-mean normal with standard
    deviation ``tiny`` ("tiny"), :math:`\sqrt{2/(n_{in} + n_{out})}` ("xavier", Glorot)
    or :math:`\sqrt{2/n_{in}}` ("he") per layer, zero biases. One compiled draw of
    standard normals per seed, cut into layers and scaled on the host; the methods of
    one call of :func:`compare` share their keys, so they start from the same
    directions at different scales."""
    std = {
        "tiny": lambda n_out, n_in: tiny,
        "xavier": lambda n_out, n_in: (2 / (n_in + n_out)) ** 0.5,
        "he": lambda n_out, n_in: (2 / n_in) ** 0.5,
    }[name]
    sizes = config.sizes
    shapes = [(sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)]
    shapes += [(n_in, n_out) for n_out, n_in in reversed(shapes)]
    z = np.asarray(_normal(keys, sum(a * b for a, b in shapes)))
    ends = np.cumsum([a * b for a, b in shapes])
    layers = [
        Dense(
            (block.reshape(-1, *shape) * np.float32(std(*shape))).astype(np.float32),
            np.zeros((len(z), shape[0]), np.float32),
        )
        for block, shape in zip(np.split(z, ends[:-1], axis=1), shapes, strict=True)
    ]
    half = len(layers) // 2
    return ae.Weights(tuple(layers[:half]), tuple(layers[half:]))


@functools.cache
def _optimizer(
    name: str, learning_rate: float, momentum: float
) -> optax.GradientTransformation:
    # One object per setting, so gradcourse.train.fit_seeds reuses its compiled loop.
    if name == "adam":
        return optax.adam(learning_rate)
    return optax.sgd(learning_rate, momentum=momentum)


def _train(
    keys: Array,
    params: ae.Tagged,
    data: Split,
    model: ae.Variants,
    study: Study,
    optimizer: optax.GradientTransformation,
) -> tuple[ae.Tagged, train.History, Array]:
    final, history = train.fit_seeds(
        keys,
        params,
        data.x_train,
        data.x_train,
        model=model,
        optimizer=optimizer,
        steps=study.steps,
        batch_size=study.batch_size,
        kind="mse",
        layer_norms=ae.tagged_layer_norms,
    )
    errors = _errors(model, final, data.x_test)
    return final, history, errors


@functools.partial(jax.jit, static_argnums=0)
def _errors(model: ae.Variants, params: ae.Tagged, xs: Array) -> Array:
    return jax.vmap(lambda p: ae.reconstruction_error(xs, model(p, xs)[0]))(params)


@functools.partial(jax.jit, static_argnums=0)
def _reconstruct(
    model: ae.Variants, params: ae.Tagged, pick: Array, xs: Array
) -> Array:
    chosen = jax.tree.map(lambda a: a[pick], params)
    return jax.vmap(lambda p: model(p, xs)[0])(chosen)


def _stack(weights: list[ae.Weights], tags: np.ndarray) -> ae.Tagged:
    # Host-side concatenation (NumPy): no XLA program per leaf shape.
    leaves = jax.tree.map(
        lambda *a: np.concatenate([np.asarray(x) for x in a]), *weights
    )
    return ae.Tagged(leaves, tags.astype(np.float32))


def _runs(labels, final, history, errors, model) -> Runs:
    m = len(labels)
    shape = lambda a: np.asarray(a).reshape(m, -1, *np.shape(a)[1:])  # noqa: E731
    return Runs(
        tuple(labels),
        final,
        shape(errors),
        shape(history.loss),
        shape(history.grad_norms[:, 0]),
        model,
    )


def compare(key: Array, data: Split, study: Study = Study()) -> Runs:
    """Train every SGD method of :data:`METHODS` on ``study.seeds`` seeds.

    The pre-trained method first runs :func:`gradcourse.pretraining.pretrain` (shallow
    sigmoid autoencoders, same SGD, ``study.pretrain_steps`` each, each level starting
    from the Xavier method's initial weights of its layers) and then fine-tunes
    the stacked network; all methods then train for ``study.steps`` SGD steps in one
    :func:`gradcourse.train.fit_seeds` call.

    Returns:
        The :class:`Runs`, in the order of :data:`METHODS`.
    """
    config = study.config
    kinds = list(dict.fromkeys((a, n) for _, a, n, _ in METHODS))  # unique, in order
    model = ae.Variants(
        tuple(dataclasses.replace(config, activation=a, normalize=n) for a, n in kinds)
    )
    sgd = _optimizer("sgd", study.learning_rate, study.momentum)
    k_init, k_pre, k_fit = jax.random.split(key, 3)
    seeds = jax.random.split(k_init, study.seeds)
    pre, _ = pretraining.pretrain(
        jax.random.split(k_pre, study.seeds),
        config,
        data.x_train,
        optimizer=sgd,
        steps=study.pretrain_steps,
        batch_size=study.batch_size,
        starts=_starts(seeds, config, "xavier", study.tiny),
    )
    weights = [
        pre if init == "pretrained" else _starts(seeds, config, init, study.tiny)
        for _, _, _, init in METHODS
    ]
    tags = np.eye(len(kinds))[[kinds.index((a, n)) for _, a, n, _ in METHODS]]
    params = _stack(weights, np.repeat(tags, study.seeds, axis=0))
    keys = jax.random.split(k_fit, len(METHODS) * study.seeds)
    final, history, errors = _train(keys, params, data, model, study, sgd)
    return _runs([m[0] for m in METHODS], final, history, errors, model)


def adam_aside(key: Array, data: Split, study: Study = Study()) -> Runs:
    """The sigmoid autoencoder from Xavier and from tiny weights, trained by Adam
    (``study.adam_learning_rate``, optax's default :math:`\\varepsilon = 10^{-8}`) for
    ``study.steps`` steps on ``study.seeds`` seeds, in one compiled loop."""
    config = study.config
    model = ae.Variants((config,))
    seeds = jax.random.split(key, study.seeds + 1)
    weights = [_starts(seeds[1:], config, i, study.tiny) for _, i in ADAM_METHODS]
    n = len(ADAM_METHODS) * study.seeds
    params = _stack(weights, np.ones((n, 1)))
    adam = _optimizer("adam", study.adam_learning_rate, 0.0)
    keys = jax.random.split(seeds[0], n)
    final, history, errors = _train(keys, params, data, model, study, adam)
    return _runs([m[0] for m in ADAM_METHODS], final, history, errors, model)


def reconstructions(runs: Runs, xs: Array, seed: int = 0) -> np.ndarray:
    """``(methods, n, 64)`` reconstructions of ``xs`` by each method's run ``seed``."""
    seeds = runs.test_error.shape[1]
    pick = np.arange(len(runs.labels)) * seeds + seed
    return np.asarray(_reconstruct(runs.model, runs.params, pick, xs))


def summary(runs: Runs) -> dict[str, tuple[float, float, float]]:
    """``{method: (median, min, max)}`` of the test reconstruction error over seeds."""
    return {
        label: (float(np.median(e)), float(e.min()), float(e.max()))
        for label, e in zip(runs.labels, runs.test_error, strict=True)
    }
