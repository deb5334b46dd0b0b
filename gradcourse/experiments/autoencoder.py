"""The autoencoder case study's experiments: baselines, the failure, pre-training, remedies.

Every method trains the same deep autoencoder (:class:`Study` ``.sizes`` and its mirror) on
the bundled digits scaled to [0, 1], for the same number of steps, on several seeds. Runs
that share an optimiser share one compiled loop: :func:`compare` trains every SGD method
(the activation and normalisation travel as data, :class:`gradcourse.autoencoder.Variants`)
and the Adam runs of the aside in one :func:`gradcourse.train.fit_seeds` call: each run
applies the SGD or the Adam update, chosen by a flag that travels with its parameters.
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

from gradcourse import _checks, pretraining, probes, train
from gradcourse import autoencoder as ae
from gradcourse.data import Split
from gradcourse.networks import Dense

#: The SGD methods of :func:`compare`: (label, activation, normalize, initialisation).
METHODS = (
    ("sigmoid, tiny weights", "sigmoid", False, "tiny"),
    ("sigmoid, Xavier", "sigmoid", False, "xavier"),
    ("sigmoid, pre-trained", "sigmoid", False, "pretrained"),
    ("tanh, Xavier", "tanh", False, "xavier"),
    ("ReLU, He", "relu", False, "he"),
)

#: The Adam runs of :func:`compare`: (label, initialisation), sigmoid throughout.
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
        adam_learning_rate: Adam's step size (:data:`ADAM_METHODS`).
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
        params: :class:`gradcourse.autoencoder.Weights`, leading axis
            ``methods * seeds`` (method-major).
        tags: ``(methods * seeds, variants)`` one-hot variant of each run, the third
            argument of ``model`` (a setting beside the weights, not a parameter).
        test_error: ``(methods, seeds)`` test reconstruction error (per pixel).
        loss: ``(methods, seeds, steps)`` training loss curves.
        profile: ``(methods, seeds, 2K)`` per-layer weight-gradient norms at the first
            step (the start of training, or of fine-tuning).
        model: the ``model`` callable that reconstructs with ``params``.
        test_outputs: ``(methods, seeds, n_test, 64)`` reconstructions of the test set.
    """

    labels: tuple[str, ...]
    params: ae.Weights
    tags: np.ndarray
    test_error: np.ndarray
    loss: np.ndarray
    profile: np.ndarray
    model: ae.Variants
    test_outputs: np.ndarray


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


@optax.inject_hyperparams
def _sgd_or_adam(
    learning_rate: float, momentum: float, adam_learning_rate: float, adam: float = 0.0
) -> optax.GradientTransformation:
    """SGD with momentum where ``adam`` is 0, Adam where it is 1.

    Both optimisers' states follow the gradients (neither depends on the parameters) and
    ``adam`` picks the update applied, so each run is exactly an SGD or an Adam run.
    ``adam`` is an injected hyper-parameter (``optax.inject_hyperparams``), set per run
    by ``fit_seeds(..., hyperparams={"adam": flags})``: a setting in the optimiser's
    state, not in the parameters.
    """
    sgd = optax.sgd(learning_rate, momentum=momentum)
    adam_opt = optax.adam(adam_learning_rate)

    def init(params: ae.Weights) -> tuple:
        return sgd.init(params), adam_opt.init(params)

    def update(
        grads: ae.Weights, state: tuple, params: ae.Weights
    ) -> tuple[ae.Weights, tuple]:
        u_sgd, s_sgd = sgd.update(grads, state[0], params)
        u_adam, s_adam = adam_opt.update(grads, state[1], params)
        pick = lambda a, b: a + adam * (b - a)  # noqa: E731
        return jax.tree.map(pick, u_sgd, u_adam), (s_sgd, s_adam)

    return optax.GradientTransformation(init, update)


@functools.partial(jax.jit, static_argnums=0)
def _evaluate(
    model: ae.Variants, params: ae.Weights, tags: Array, xs: Array
) -> tuple[Array, Array]:
    # Every run's reconstructions of xs and their errors: one program for both.
    outputs = jax.vmap(lambda p, t: model(p, xs, t)[0])(params, tags)
    return outputs, ae.reconstruction_error(xs, outputs)


def _stack(weights: list[ae.Weights]) -> ae.Weights:
    # Host-side concatenation (NumPy): no XLA program per leaf shape.
    return jax.tree.map(lambda *a: np.concatenate([np.asarray(x) for x in a]), *weights)


def _runs(labels, final, tags, history, errors, outputs, model) -> Runs:
    m = len(labels)
    shape = lambda a: np.asarray(a).reshape(m, -1, *np.shape(a)[1:])  # noqa: E731
    return Runs(
        tuple(labels),
        final,
        tags,
        shape(errors),
        shape(history.loss),
        shape(history.grad_norms[:, 0]),
        model,
        shape(outputs),
    )


def compare(key: Array, data: Split, study: Study = Study()) -> tuple[Runs, Runs]:
    r"""Train every SGD method of :data:`METHODS` and every Adam run of
    :data:`ADAM_METHODS` on ``study.seeds`` seeds.

    The pre-trained method first runs :func:`gradcourse.pretraining.pretrain` (shallow
    sigmoid autoencoders, same SGD, ``study.pretrain_steps`` each, each level starting
    from the Xavier method's initial weights of its layers). Then every run trains for
    ``study.steps`` steps in one :func:`gradcourse.train.fit_seeds` call: the SGD
    methods with SGD and momentum, the Adam runs (from the same starts as the SGD runs
    with the same initialisation) with Adam (``study.adam_learning_rate``, optax's
    default :math:`\varepsilon = 10^{-8}`).

    Returns:
        ``(sgd_runs, adam_runs)``: :class:`Runs` in the order of :data:`METHODS` and
        of :data:`ADAM_METHODS`.
    """
    config = study.config
    kinds = list(dict.fromkeys((a, n) for _, a, n, _ in METHODS))  # unique, in order
    model = ae.Variants(
        tuple(dataclasses.replace(config, activation=a, normalize=n) for a, n in kinds)
    )
    sgd = optax.sgd(study.learning_rate, momentum=study.momentum)
    k_init, k_pre, k_fit = jax.random.split(key, 3)
    seeds = jax.random.split(k_init, study.seeds)
    start = {i: _starts(seeds, config, i, study.tiny) for i in ("tiny", "xavier", "he")}
    start["pretrained"], _ = pretraining.pretrain(
        jax.random.split(k_pre, study.seeds),
        config,
        data.x_train,
        optimizer=sgd,
        steps=study.pretrain_steps,
        batch_size=study.batch_size,
        starts=start["xavier"],
    )
    inits = [init for *_, init in METHODS] + [init for _, init in ADAM_METHODS]
    kind = [kinds.index((a, n)) for _, a, n, _ in METHODS]
    kind += [kinds.index(("sigmoid", False))] * len(ADAM_METHODS)
    weights = _stack([start[i] for i in inits])
    tags = np.repeat(np.eye(len(kinds), dtype=np.float32)[kind], study.seeds, axis=0)
    n_sgd = len(METHODS) * study.seeds
    flags = (np.arange(len(inits) * study.seeds) >= n_sgd).astype(np.float32)
    optimizer = _sgd_or_adam(
        study.learning_rate, study.momentum, study.adam_learning_rate, adam=0.0
    )
    final, history = train.fit_seeds(
        jax.random.split(k_fit, len(flags)),
        weights,
        data.x_train,
        data.x_train,
        per_run=tags,
        hyperparams={"adam": flags},
        model=model,
        optimizer=optimizer,
        steps=study.steps,
        batch_size=study.batch_size,
        kind="mse",
        layer_norms=probes.layer_grad_norms,
    )
    outputs, errors = (
        np.asarray(a) for a in _evaluate(model, final, tags, data.x_test)
    )
    # Rows are cut on the host (NumPy): no XLA program per leaf shape.
    final, history = jax.tree.map(np.asarray, (final, history))
    part = lambda tree, rows: jax.tree.map(lambda a: a[rows], tree)  # noqa: E731
    sgd_rows, adam_rows = slice(0, n_sgd), slice(n_sgd, None)
    return (
        _runs(
            [m[0] for m in METHODS],
            part(final, sgd_rows),
            tags[sgd_rows],
            part(history, sgd_rows),
            errors[sgd_rows],
            outputs[sgd_rows],
            model,
        ),
        _runs(
            [m[0] for m in ADAM_METHODS],
            part(final, adam_rows),
            tags[adam_rows],
            part(history, adam_rows),
            errors[adam_rows],
            outputs[adam_rows],
            model,
        ),
    )


def reconstructions(runs: Runs, count: int, seed: int = 0) -> np.ndarray:
    """``(methods, count, 64)`` reconstructions of the first ``count`` test images by
    each method's run ``seed`` (computed with the test errors, no new program).

    Raises:
        ValueError: if ``count`` or ``seed`` is out of range.
    """
    methods, seeds, n_test = runs.test_outputs.shape[:3]
    _checks.in_range("count", count, 1, n_test)
    _checks.in_range("seed", seed, 0, seeds - 1)
    return runs.test_outputs[:, seed, :count]


def xavier_weights(key: Array, study: Study = Study()) -> ae.Weights:
    """:func:`gradcourse.autoencoder.init` ``(key, study.config)`` (Glorot normal weights,
    zero biases), drawn by :func:`gradcourse.autoencoder.init_seeds` as one compiled
    program (``init`` draws layer by layer, one small program per layer shape)."""
    weights = ae.init_seeds(key[None], study.config)
    return jax.tree.map(lambda a: np.asarray(a)[0], weights)


def summary(runs: Runs) -> dict[str, tuple[float, float, float]]:
    """``{method: (median, min, max)}`` of the test reconstruction error over seeds."""
    return {
        label: (float(np.median(e)), float(e.min()), float(e.max()))
        for label, e in zip(runs.labels, runs.test_error, strict=True)
    }
