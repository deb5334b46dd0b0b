r"""Greedy layer-wise pre-training of a deep autoencoder.

Level :math:`k` of an autoencoder with widths :math:`(n_0, \dots, n_K)` is a shallow
autoencoder :math:`n_k \to n_{k+1} \to n_k` (:func:`shallow`), trained on the codes that
the trained levels below give for the data. :func:`stack` unrolls the levels into the deep
network, encoders bottom up and decoders top down, which is then fine-tuned end to end.
:func:`pretrain` does it with shallow autoencoders (Bengio et al., 2007),
:func:`rbm_pretrain` with restricted Boltzmann machines as in Hinton & Salakhutdinov
(2006).

References:
    Hinton & Salakhutdinov (2006) and Bengio, Lamblin, Popovici & Larochelle (2007), as
    linked in :mod:`gradcourse.autoencoder`.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks
from gradcourse.autoencoder import (
    Autoencoder,
    Initializer,
    Weights,
    forward,
    init_seeds,
)
from gradcourse.networks import Dense
from gradcourse.train import History, fit_seeds

__all__ = [
    "RBMSchedule",
    "level_start",
    "pretrain",
    "rbm_pretrain",
    "shallow",
    "stack",
]


def shallow(config: Autoencoder, level: int) -> Autoencoder:
    """The shallow autoencoder :math:`n_k \\to n_{k+1} \\to n_k` that pre-trains
    ``level`` k (0-based) of ``config``: its hidden layer is the deep network's layer
    k + 1 (linear only at the code), and it reconstructs its input with the deep
    network's output activation at level 0 and the hidden activation above.

    Raises:
        ValueError: if ``level`` is not in ``[0, K - 1]``.
    """
    top = len(config.sizes) - 2
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= top:
        raise ValueError(f"level must be an integer in [0, {top}], got {level!r}")
    return dataclasses.replace(
        config,
        sizes=config.sizes[level : level + 2],
        output=config.output if level == 0 else config.activation,
        linear_code=config.linear_code and level == top,
    )


def stack(levels: tuple[Weights, ...] | list[Weights]) -> Weights:
    """Unroll shallow autoencoders (level 0 first) into one deep autoencoder: their
    encoders bottom up, then their decoders top down (Hinton & Salakhutdinov, 2006).
    Leaves may carry a leading seed axis."""
    return Weights(
        tuple(w.encoder[0] for w in levels),
        tuple(w.decoder[0] for w in reversed(levels)),
    )


def _codes(config: Autoencoder, weights: Weights, xs: Array) -> Array:
    """The hidden layer of a shallow autoencoder on ``xs``: the next level's input."""
    _, trace = forward(config, weights, xs)
    return trace.post[:, 0, : config.sizes[1]]


@jax.jit
def _split_keys(keys: Array) -> tuple[Array, Array]:
    pair = jax.vmap(jax.random.split)(keys)
    return pair[:, 0], pair[:, 1]


@jax.jit
def _level_keys(keys: Array, level: int | Array) -> Array:
    return jax.vmap(lambda k: jax.random.fold_in(k, level))(keys)


def level_start(deep: Weights, level: int) -> Weights:
    """The starting weights of :func:`shallow` level k cut out of ``deep``, weights drawn
    for the whole deep network: its encoder layer k and its mirror decoder layer (the
    same shapes, so the same fan-in and fan-out). Leaves may carry a leading seed axis.
    """
    return Weights((deep.encoder[level],), (deep.decoder[-1 - level],))


@functools.partial(jax.jit, static_argnums=0)
def _next_inputs(config: Autoencoder, params: Weights, inputs: Array) -> Array:
    """Each run's codes of its own level: the next level's inputs, ``(seeds, n, n_k)``."""
    in_axis = None if inputs.ndim == 2 else 0
    return jax.vmap(functools.partial(_codes, config), in_axes=(0, in_axis))(
        params, inputs
    )


def pretrain(
    keys: Array,
    config: Autoencoder,
    xs: ArrayLike,
    *,
    optimizer: optax.GradientTransformation,
    steps: int,
    batch_size: int = 128,
    w_init: Initializer | None = None,
    starts: Weights | None = None,
) -> tuple[Weights, tuple[History, ...]]:
    r"""Greedy layer-wise pre-training with shallow autoencoders, one set per key.

    Level k trains :func:`shallow` ``(config, k)`` with :func:`gradcourse.train.fit_seeds`
    (minibatch key ``fold_in(k_fit, k)`` of ``k_init, k_fit = split(key)``, start
    :func:`level_start` of ``init(k_init, config, w_init)``)
    on the codes that level k - 1's trained encoder gives for ``xs`` (level 0 on ``xs``
    itself), minimising the squared reconstruction error; :func:`stack` then unrolls the
    levels into ``config``'s deep autoencoder, ready to be fine-tuned.

    Args:
        keys: ``(seeds,)`` PRNG keys; one independent pre-training per key.
        config: the deep architecture.
        xs: training inputs ``(n, n_0)``.
        optimizer, steps, batch_size: for every level's :func:`gradcourse.train.fit_seeds`.
        w_init: initialiser of the levels' weights (default Glorot normal), drawn once
            for the deep network and cut into levels with :func:`level_start`.
        starts: deep initial weights with a leading seed axis to cut the levels'
            starts from instead (then ``w_init`` is unused).

    Returns:
        ``(weights, histories)``: the stacked
        :class:`~gradcourse.autoencoder.Weights` with a leading seed axis, and each
        level's :class:`gradcourse.train.History`.

    References:
        Bengio, Lamblin, Popovici & Larochelle, `Greedy layer-wise training of deep
        networks <https://papers.nips.cc/paper/3048>`__, 2007.
    """
    keys = jnp.asarray(keys)
    _checks.ndim("keys", keys, 1)
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    k_init, k_fit = _split_keys(keys)
    if starts is None:
        starts = init_seeds(k_init, config, w_init)  # every level's start, one program
    inputs, levels, histories = xs, [], []
    for level in range(len(config.sizes) - 1):
        small = shallow(config, level)
        params, history = fit_seeds(
            _level_keys(k_fit, level),
            level_start(starts, level),
            inputs,
            inputs,
            model=small,
            optimizer=optimizer,
            steps=steps,
            batch_size=batch_size,
            kind="mse",
        )
        inputs = _next_inputs(small, params, inputs)
        levels.append(params)
        histories.append(history)
    return stack(levels), tuple(histories)


@dataclasses.dataclass(frozen=True)
class RBMSchedule:
    """How :func:`rbm_pretrain` trains the RBM of every level: scikit-learn's
    ``BernoulliRBM(n_iter=..., learning_rate=..., batch_size=...)``.

    Attributes:
        n_iter: passes over the level's inputs, an integer >= 1.
        learning_rate: contrastive-divergence step size, > 0.
        batch_size: examples per step, an integer >= 1.

    Raises:
        ValueError: for a field outside its range.
    """

    n_iter: int = 10
    learning_rate: float = 0.1
    batch_size: int = 32

    def __post_init__(self) -> None:
        _checks.positive_int("n_iter", self.n_iter)
        _checks.positive("learning_rate", self.learning_rate)
        _checks.positive_int("batch_size", self.batch_size)


def rbm_pretrain(
    seed: int, config: Autoencoder, xs: ArrayLike, schedule: RBMSchedule | None = None
) -> Weights:
    """Hinton & Salakhutdinov's (2006) recipe: a stack of restricted Boltzmann machines
    trained greedily with contrastive divergence (scikit-learn's ``BernoulliRBM``,
    persistent CD), unrolled into a deep autoencoder with tied weights (each decoder
    weight is the transpose of its encoder weight, with the RBM's visible biases).

    The visible units are binary (Bernoulli), so the inputs of every level must lie in
    [0, 1]; the original's code level uses Gaussian hidden units, which ``BernoulliRBM``
    does not have, so here the code layer is an RBM too (a linear code layer is then
    fine-tuned from it). Runs on the host with NumPy (no JAX); one seed per call. On a
    data set as small as the bundled digits, scikit-learn's RBMs learn small weights and
    the unrolled network is a poor start for fine-tuning (the case study's exercise
    measures it); the 2006 recipe trained each RBM much longer on 60,000 images.

    Args:
        seed: integer seed of scikit-learn's random state.
        config: the deep architecture (sigmoid ``activation``).
        xs: training inputs ``(n, n_0)`` in [0, 1].
        schedule: every level's ``BernoulliRBM`` settings (default
            :class:`RBMSchedule` ``()``).

    Returns:
        The unrolled :class:`~gradcourse.autoencoder.Weights` (no seed axis).

    Raises:
        ValueError: if ``xs`` leaves [0, 1] or ``config.activation`` is not sigmoid.

    References:
        Hinton, Osindero & Teh, `A fast learning algorithm for deep belief nets
        <https://doi.org/10.1162/neco.2006.18.7.1527>`_, 2006.
    """
    from sklearn.neural_network import BernoulliRBM

    xs = np.asarray(xs, np.float64)
    _checks.ndim("xs", xs, 2)
    if xs.min() < 0 or xs.max() > 1:
        raise ValueError(f"xs must lie in [0, 1], got [{xs.min()}, {xs.max()}]")
    _checks.one_of("config.activation", config.activation, ("sigmoid",))
    schedule = RBMSchedule() if schedule is None else schedule
    inputs, enc, dec = xs, [], []
    for n_hidden in config.sizes[1:]:
        rbm = BernoulliRBM(
            n_components=n_hidden,
            learning_rate=schedule.learning_rate,
            batch_size=schedule.batch_size,
            n_iter=schedule.n_iter,
            random_state=seed,
        ).fit(inputs)
        w = rbm.components_.astype(np.float32)  # (hidden, visible)
        enc.append(
            Dense(jnp.asarray(w), jnp.asarray(rbm.intercept_hidden_, jnp.float32))
        )
        dec.append(
            Dense(jnp.asarray(w.T), jnp.asarray(rbm.intercept_visible_, jnp.float32))
        )
        inputs = rbm.transform(inputs)
    return Weights(tuple(enc), tuple(reversed(dec)))
