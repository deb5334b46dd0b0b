r"""Experiments of the chapter on the leaky, parametric and randomised rectifiers.

* :func:`slope_flow`: with He's gain :math:`\sqrt 2` a negative slope :math:`a` makes the
  gradient grow by :math:`(1 + a^2)^{1/2}` per layer towards the input; the matched gain
  :math:`\sqrt{2/(1+a^2)}` (He et al. 2015) removes the growth.
* :func:`kill_and_recover`: units killed by one too-large step come back during
  training only if the negative side has a slope (Maas et al. 2013).
* :func:`prelu_run`: PReLU's learned slopes, unconstrained, a few turning negative.
* :func:`rrelu_conventions`: RReLU's mean training slope against its test slope under
  the paper's and PyTorch's conventions (Xu et al. 2015).

References:
    Maas et al., `Rectifier nonlinearities improve neural network acoustic models
    <https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf>`_, 2013;
    He et al., `Delving deep into rectifiers <https://arxiv.org/abs/1502.01852>`_, 2015;
    Xu et al., `Empirical evaluation of rectified activations in convolutional network
    <https://arxiv.org/abs/1505.00853>`_, 2015.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks, leaky, leaky_nets, networks
from gradcourse.data import Split

from ._common import Schedule, Sizes


class SlopeFlow(NamedTuple):
    r"""Result of :func:`slope_flow`, ``(slopes, seeds)`` each.

    Attributes:
        fixed: :math:`\lVert\partial L/\partial H_1\rVert / \lVert\partial L/\partial
            H_L\rVert` at He's gain :math:`\sqrt 2` for every slope.
        matched: the same ratio at the matched gain :math:`\sqrt{2/(1+a^2)}`.
    """

    fixed: np.ndarray
    matched: np.ndarray


#: :func:`slope_flow`'s default: three networks of 50 layers of 64 units.
SLOPE_FLOW = Sizes(depth=50, width=64, seeds=3)


def slope_flow(
    key: Array,
    xs: ArrayLike,
    ys: ArrayLike,
    slopes: ArrayLike,
    sizes: Sizes = SLOPE_FLOW,
) -> SlopeFlow:
    r"""First-to-last gradient ratio of leaky-ReLU networks, at He's gain and matched.

    Every slope :math:`a` runs twice through
    :func:`gradcourse.leaky_nets.slope_grad_norms` (one compiled program): with gain
    :math:`\sqrt 2`, where mean-field theory predicts the ratio
    :math:`(1 + a^2)^{(L-1)/2}`, and with :math:`\sqrt{2/(1+a^2)}`, where it predicts 1.

    Args:
        key: PRNG key for the weights (the same draws for every slope and gain).
        xs: inputs ``(batch, in_dim)``; ys: labels ``(batch,)``.
        slopes: negative slopes ``(k,)`` in ``[0, 1]``.
        sizes: the networks' depth and width, and how many per slope and gain.

    Returns:
        a :class:`SlopeFlow`.

    Raises:
        ValueError: for a slope outside ``[0, 1]``.
    """
    slopes = jnp.asarray(slopes)
    _checks.ndim("slopes", slopes, 1)
    for a in np.asarray(slopes):
        _checks.in_range("slopes", float(a), 0.0, 1.0)
    he_gain = jnp.full(slopes.shape, np.sqrt(2.0))
    matched = jnp.sqrt(2.0 / (1.0 + slopes**2))
    norms = leaky_nets.slope_grad_norms(
        key,
        xs,
        ys,
        negative_slopes=jnp.concatenate([slopes, slopes]),
        gains=jnp.concatenate([he_gain, matched]),
        width=sizes.width,
        depth=sizes.depth,
        seeds=sizes.seeds,
    )
    ratios = np.asarray(norms[..., 0] / norms[..., -1])  # (2 * slopes, seeds)
    return SlopeFlow(ratios[: len(slopes)], ratios[len(slopes) :])


@dataclasses.dataclass(frozen=True)
class KillSetup:
    """The kill-and-recover experiment: one large step, then ordinary training.

    Attributes:
        kill_lr: the rate of the one full-batch step that kills units.
        recovery: the recovery steps (how many, their rate) and the number of networks;
            every step is full-batch, so its ``batch_size`` must be ``None``.
        n_train: training examples used (the first ones of the split).
        width: network width.
        depth: network depth.
    """

    kill_lr: float = 5.0
    recovery: Schedule = Schedule(steps=200, learning_rate=0.1, seeds=4)
    n_train: int = 256
    width: int = 32
    depth: int = 5


class Killed(NamedTuple):
    """Result of :func:`kill_and_recover`, ``(slopes, seeds)`` each.

    Attributes:
        killed: fraction of units off after the large step (mean over layers).
        recovered: the same after the recovery steps.
        accuracy: test accuracy after the recovery steps.
    """

    killed: np.ndarray
    recovered: np.ndarray
    accuracy: np.ndarray


def kill_and_recover(
    key: Array, split: Split, slopes: ArrayLike, setup: KillSetup = KillSetup()
) -> Killed:
    """Kill ReLU units with one large step, then train on with each negative slope.

    A composition of :func:`gradcourse.leaky_nets.kill_and_recover` on the first
    ``setup.n_train`` training examples, evaluated on the test set; a unit is off when
    its pre-activation is :math:`\\le 0` on every evaluation input.

    Args:
        key: PRNG key.
        split: the data (:func:`gradcourse.data.digits`).
        slopes: negative slopes used during recovery ``(k,)``.
        setup: a :class:`KillSetup`.

    Returns:
        a :class:`Killed`, fractions averaged over layers.

    Raises:
        ValueError: for a bad setup.
    """
    if not isinstance(setup, KillSetup):
        raise ValueError(f"setup must be a KillSetup, got {type(setup).__name__}")
    for name in ("n_train", "width", "depth"):
        _checks.positive_int(name, getattr(setup, name))
    _checks.positive("kill_lr", setup.kill_lr)
    if setup.recovery.batch_size is not None:
        raise ValueError(
            "recovery.batch_size must be None (full-batch steps), got "
            f"{setup.recovery.batch_size!r}"
        )
    rec = leaky_nets.kill_and_recover(
        key,
        split.x_train[: setup.n_train],
        split.y_train[: setup.n_train],
        *split.test,
        negative_slopes=jnp.asarray(slopes),
        kill_lr=setup.kill_lr,
        lr=setup.recovery.learning_rate,
        steps=setup.recovery.steps,
        width=setup.width,
        depth=setup.depth,
        seeds=setup.recovery.seeds,
    )
    killed = np.asarray(rec.killed).mean(-1)  # (slopes, seeds), mean over layers
    recovered = np.asarray(rec.recovered).mean(-1)
    return Killed(killed, recovered, np.asarray(rec.accuracy))


class PReLUResult(NamedTuple):
    """Result of :func:`prelu_run`.

    Attributes:
        alpha: ``(seeds, depth, width)`` learned slopes.
        alpha_mean: ``(seeds, steps, depth)`` each layer's mean slope before each step.
        accuracy: ``(seeds,)`` test accuracy.
    """

    alpha: np.ndarray
    alpha_mean: np.ndarray
    accuracy: np.ndarray


@jax.jit
def _accuracy(params: networks.PReLUNet, xs: Array, ys: Array) -> Array:
    """Test accuracy of each seed's network: one compiled program for all seeds."""

    def one(p: networks.PReLUNet) -> Array:
        return jnp.mean(jnp.argmax(networks.prelu_model(p, xs)[0], -1) == ys)

    return jax.vmap(one)(params)


#: :func:`prelu_run`'s default: four networks, 200 Adam steps of 0.01 on minibatches of 128.
PRELU = Schedule(steps=200, learning_rate=1e-2, seeds=4, batch_size=128)


def prelu_run(
    key_init: Array,
    key_batches: Array,
    split: Split,
    schedule: Schedule = PRELU,
    *,
    width: int = 64,
    depth: int = 4,
) -> PReLUResult:
    r"""Train PReLU classifiers (slopes start at 0.25) with Adam and read the slopes.

    He et al. (2015) learn one slope per unit with the weights, without constraint;
    :func:`gradcourse.leaky_nets.train_prelu` trains ``schedule.seeds`` networks on the
    same minibatches.

    Args:
        key_init: PRNG key for the networks (split into ``schedule.seeds``).
        key_batches: PRNG key for the minibatches.
        split: the data (:func:`gradcourse.data.digits`).
        schedule: the networks, Adam's steps and step size, and the minibatch size
            (:data:`PRELU` by default).
        width, depth: network size, each >= 1.

    Returns:
        a :class:`PReLUResult`.

    Raises:
        ValueError: for a bad size or a schedule without a minibatch size.
    """
    _checks.positive_int("width", width)
    _checks.positive_int("depth", depth)
    _checks.positive_int("schedule.batch_size", schedule.batch_size)
    in_dim, out_dim = split.x_train.shape[1], int(jnp.max(split.y_train)) + 1
    nets = jax.vmap(lambda k: leaky_nets.init_prelu(k, in_dim, width, depth, out_dim))(
        jax.random.split(key_init, schedule.seeds)
    )
    run = leaky_nets.train_prelu(
        key_batches,
        nets,
        *split.train,
        optimizer=optax.adam(schedule.learning_rate),
        steps=schedule.steps,
        batch_size=schedule.batch_size,
    )
    acc = _accuracy(run.params, jnp.asarray(split.x_test), jnp.asarray(split.y_test))
    return PReLUResult(
        np.asarray(run.params.alpha), np.asarray(run.alpha), np.asarray(acc)
    )


def rrelu_conventions(key: Array, n: int = 200_000) -> dict[str, tuple[float, ...]]:
    r"""RReLU's mean training slope and its test slope, per convention.

    Draws ``n`` training slopes (:func:`gradcourse.leaky.rrelu_slopes`): PyTorch's
    :math:`a \sim U(1/8, 1/3)` with test slope :math:`11/48`, and the paper's :math:`1/a`
    with :math:`a \sim U(3, 8)` and test slope :math:`2/11`, whose mean training slope is
    :math:`\ln(8/3)/5`, not :math:`2/11`.

    Args:
        key: PRNG key for the draws (the same for both conventions).
        n: draws, >= 1.

    Returns:
        ``{convention: (mean training slope, test slope, min draw, max draw)}``.

    Raises:
        ValueError: for a bad ``n``.
    """
    _checks.positive_int("n", n)
    rows = {}
    for conv in ("paper", "pytorch"):
        draws = leaky.rrelu_slopes(key, (n,), convention=conv)
        rows[conv] = (
            float(draws.mean()),
            leaky.rrelu_eval_slope(convention=conv),
            float(draws.min()),
            float(draws.max()),
        )
    return rows
