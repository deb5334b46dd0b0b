r"""Small training runs on the bundled digits, described by a :class:`Config`, and many
of them in one compiled program.

:func:`run` trains one configuration (activation, depth, initialiser, optimizer, learning
rate, momentum, clipping) with :func:`gradcourse.train.fit`'s loop, records
:func:`gradcourse.health.step_health` at every step and returns the run with its
:func:`gradcourse.diagnosis.diagnose` verdict. :func:`run_many` and :func:`run_seeds`
train configurations of one shape in a single :func:`gradcourse.train.fit_seeds`
program: the activation and saturation indices travel as ``per_run``, the optimizer
settings as ``optax.inject_hyperparams`` hyper-parameters, so one compiled loop serves
every configuration of a group. :mod:`gradcourse.failure_modes` builds its gallery on it.

References:
    Glorot & Bengio, `Understanding the difficulty of training deep feedforward neural
    networks <https://proceedings.mlr.press/v9/glorot10a.html>`_, 2010.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from gradcourse import _checks, diagnosis, health, train
from gradcourse.data import digits
from gradcourse.networks import MLP, Trace, forward_batch, init_mlp
from gradcourse.registry import REGISTRY

__all__ = ["Config", "INITS", "Run", "run", "run_many", "run_seeds"]


#: Weight initialisers by name, all for ``(out, in)`` weights. ``"standard"`` is the
#: :math:`U[-1/\sqrt{n}, 1/\sqrt{n}]` of Glorot & Bengio (variance :math:`1/(3n)`),
#: ``"glorot"`` their normalised :math:`U[\pm\sqrt{6/(n_{in}+n_{out})}]`, ``"he"`` is
#: :math:`N(0, 2/n)`, ``"lecun"`` :math:`N(0, 1/n)`.
INITS: Mapping[str, Callable[..., Array]] = MappingProxyType(
    {
        "standard": jax.nn.initializers.variance_scaling(
            1 / 3, "fan_in", "uniform", in_axis=-1, out_axis=-2
        ),
        "glorot": jax.nn.initializers.glorot_uniform(in_axis=-1, out_axis=-2),
        "he": jax.nn.initializers.he_normal(in_axis=-1, out_axis=-2),
        "lecun": jax.nn.initializers.variance_scaling(
            1.0, "fan_in", "normal", in_axis=-1, out_axis=-2
        ),
    }
)

_OPTIMIZERS = ("sgd", "adam")


class Config(NamedTuple):
    """A small training run on the digits.

    Attributes:
        activation: ``"sigmoid"``, ``"tanh"``, ``"relu"`` (a registry name, or a
            ``jax.nn`` function name).
        depth: hidden layers.
        init: a key of :data:`INITS`.
        optimizer: ``"sgd"`` or ``"adam"``.
        learning_rate: step size.
        momentum: SGD momentum (0 for none; ignored by Adam).
        clip: global-norm clipping bound applied before the optimizer, or None.
        steps: training steps.
        width: units per hidden layer.
        batch_size: examples per step.
    """

    activation: str
    depth: int
    init: str
    optimizer: str
    learning_rate: float
    momentum: float = 0.0
    clip: float | None = None
    steps: int = 200
    width: int = 64
    batch_size: int = 128


class Run(NamedTuple):
    """Result of :func:`run`, :func:`run_many`,
    :func:`gradcourse.failure_modes.reproduce` and :func:`gradcourse.failure_modes.gallery`.

    Attributes:
        config: the configuration trained.
        params: the final :class:`~gradcourse.networks.MLP`.
        history: the :class:`gradcourse.train.History`, with :class:`Health
            <gradcourse.health.Health>` records and ``nonfinite`` set.
        diagnosis: :func:`gradcourse.diagnosis.diagnose` of the history.
    """

    config: Config
    params: Any
    history: train.History
    diagnosis: diagnosis.Diagnosis


def _activation(name: str) -> Callable[[Array], Array]:
    if name in REGISTRY:
        return REGISTRY[name].fn
    fn = getattr(jax.nn, name, None)
    if not callable(fn):
        raise ValueError(
            f"config.activation must be one of {list(REGISTRY)} or a jax.nn function, "
            f"got {name!r}"
        )
    return fn


def _validate(config: Config) -> None:
    if not isinstance(config, Config):
        raise ValueError(f"config must be a Config, got {type(config).__name__}")
    for name in ("depth", "steps", "width", "batch_size"):
        _checks.positive_int(f"config.{name}", getattr(config, name))
    _checks.one_of("config.init", config.init, tuple(INITS))
    _checks.one_of("config.optimizer", config.optimizer, _OPTIMIZERS)
    _checks.positive("config.learning_rate", config.learning_rate)
    _checks.in_range("config.momentum", config.momentum, 0.0, 1.0, closed="left")
    if config.clip is not None:
        _checks.positive("config.clip", config.clip)
    _activation(config.activation)


# ----- several configurations, one compiled program -----------------------------------
#
# Runs whose configurations differ only in activation, initialisation and optimizer
# settings have the same shapes, so they can share one vmapped training loop
# (train.fit_seeds) if those settings are data rather than Python constants. They travel
# beside the parameters: the activation and saturation indices as fit_seeds' per_run
# (read by the model and the recorder), the learning rate, momentum, Adam-or-SGD flag and
# clipping bound as the hyperparams of an optax.inject_hyperparams optimizer. The model,
# optimizer and recorder are frozen dataclasses, equal (and one compiled loop) for equal
# groups.


class _Settings(NamedTuple):
    """One run's per-run settings: ``activation`` indexes the group's activation names,
    ``saturation`` the group's saturating activations (-1: none)."""

    activation: Array
    saturation: Array


def _settings(
    configs: Sequence[Config], activations: tuple[str, ...], sats: tuple[str, ...]
) -> tuple[_Settings, dict[str, np.ndarray]]:
    per_run = _Settings(
        np.array([activations.index(c.activation) for c in configs], np.int32),
        np.array([sats.index(c.activation) if c.activation in sats else -1
                  for c in configs], np.int32),
    )  # fmt: skip
    hyperparams = {
        "learning_rate": [c.learning_rate for c in configs],
        "momentum": [c.momentum for c in configs],
        "adam": [float(c.optimizer == "adam") for c in configs],
        "clip": [np.inf if c.clip is None else c.clip for c in configs],
    }
    return per_run, {k: np.array(v, np.float32) for k, v in hyperparams.items()}


@dataclasses.dataclass(frozen=True)
class _Model:
    """``model(mlp, xs, settings)``: activation ``settings.activation`` of the group's.

    ``lax.select_n`` picks one function's output exactly, and the other functions
    receive a zero cotangent, so values and gradients equal those of the chosen
    function alone.
    """

    activations: tuple[str, ...]

    def __call__(
        self, params: MLP, xs: Array, settings: _Settings
    ) -> tuple[Array, Trace]:
        fns = tuple(_activation(a) for a in self.activations)

        def phi(z: Array) -> Array:
            if len(fns) == 1:
                return fns[0](z)
            return jax.lax.select_n(settings.activation, *(f(z) for f in fns))

        return forward_batch(params, xs, phi)


class _Features(NamedTuple):
    """Which optimizer parts a group needs (the others are left out of its program)."""

    sgd: bool
    adam: bool
    momentum: bool
    clip: bool


def _features(configs: Sequence[Config]) -> _Features:
    return _Features(
        any(c.optimizer == "sgd" for c in configs),
        any(c.optimizer == "adam" for c in configs),
        any(c.momentum > 0 for c in configs),
        any(c.clip is not None for c in configs),
    )


def _chain(
    learning_rate: Array, momentum: Array, adam: Array, clip: Array, features: _Features
) -> optax.GradientTransformation:
    """``chain(clip_by_global_norm(clip), sgd(lr, momentum) or adam(lr))`` with the
    settings as arrays: each part is the optax transformation itself, selected per run
    with ``where``, so a run's updates equal those of its own optax optimizer."""

    def pick(flag: Array, a: Any, b: Any) -> Any:
        return jax.tree.map(lambda x, y: jnp.where(flag, x, y), a, b)

    def init(params: MLP) -> tuple:
        trace = optax.trace(0.0).init(params) if features.momentum else None
        adam_state = optax.scale_by_adam().init(params) if features.adam else None
        return trace, adam_state

    def update(g: MLP, state: tuple, params: MLP | None = None) -> tuple[MLP, tuple]:
        del params
        trace_state, adam_state = state
        if features.clip:  # max_norm = inf would turn an infinite norm into NaN
            clipped, _ = optax.clip_by_global_norm(clip).update(g, optax.EmptyState())
            g = pick(jnp.isfinite(clip), clipped, g)
        direction = g
        if features.momentum:
            traced, trace_state = optax.trace(momentum).update(g, trace_state)
            direction = pick(momentum > 0, traced, g)
        if features.adam:
            adam_dir, adam_state = optax.scale_by_adam().update(g, adam_state)
            direction = adam_dir if not features.sgd else pick(adam > 0, adam_dir,
                                                               direction)  # fmt: skip
        updates = jax.tree.map(lambda d: (-learning_rate) * d, direction)
        return updates, (trace_state, adam_state)

    return optax.GradientTransformation(init, update)


@dataclasses.dataclass(frozen=True)
class _Optimizer:
    """:func:`_chain` under ``optax.inject_hyperparams``, so that ``fit_seeds`` sets each
    run's learning rate, momentum, Adam flag and clipping bound in its state. A frozen
    dataclass, equal for equal ``features``: one compiled loop per set of parts."""

    features: _Features

    def _inner(self) -> optax.GradientTransformation:
        make = optax.inject_hyperparams(_chain, static_args=("features",))
        return make(0.0, 0.0, 0.0, np.inf, features=self.features)

    def init(self, params: MLP) -> Any:
        return self._inner().init(params)

    def update(self, grads: MLP, state: Any, params: MLP | None = None) -> tuple:
        return self._inner().update(grads, state, params)


@dataclasses.dataclass(frozen=True)
class _Recorder:
    """:func:`gradcourse.health.step_health`, saturation measured against each run's own
    activation's asymptotes, among ``asymptotes`` (NaN for an activation without)."""

    asymptotes: tuple[str, ...]

    def __call__(self, params: MLP, grads: MLP, updates: MLP, trace: Trace,
                 settings: _Settings) -> health.Health:  # fmt: skip
        h = health.step_health(params, grads, updates, trace)
        if not self.asymptotes:
            return h
        options = [health.saturated_fraction(trace.post, a) for a in self.asymptotes]
        sat = jnp.stack([*options, h.saturated])
        which = jnp.where(settings.saturation < 0, len(options), settings.saturation)
        return h._replace(saturated=sat[which])


#: Input features of the bundled digits (8 x 8 pixels).
_DIGITS_FEATURES = 64


@functools.partial(jax.jit, static_argnames=("inits", "width", "depth"))
def _init_group(
    key: Array, inits: tuple[str, ...], width: int, depth: int
) -> tuple[Array, MLP, Array]:
    """``key`` split into the data key, the stacked initial networks (run ``r`` drawn by
    ``INITS[inits[r]]``, so runs with the same initialiser start from the same weights)
    and the runs' minibatch keys (all the same), in one program: eager splits and
    stacks would each be a compilation of their own."""
    k_data, k_init, k_fit = jax.random.split(key, 3)
    drawn = {name: init_mlp(k_init, _DIGITS_FEATURES, width, depth, 10,
                            w_init=INITS[name])
             for name in dict.fromkeys(inits)}  # fmt: skip
    mlps = jax.tree.map(lambda *ws: jnp.stack(ws), *(drawn[n] for n in inits))
    return k_data, mlps, jnp.stack([k_fit] * len(inits))


def _slice(tree: Any, r: int) -> Any:
    return jax.tree.map(lambda a: a[r], tree)


def _train_group(
    configs: list[Config], data: Any, mlps: MLP, fit_keys: Array
) -> list[Run]:
    c0 = configs[0]
    activations = tuple(dict.fromkeys(c.activation for c in configs))
    sats = tuple(a for a in activations if a in health.ASYMPTOTES)
    per_run, hyperparams = _settings(configs, activations, sats)
    final, history = train.fit_seeds(
        fit_keys, mlps, data.x_train, data.y_train,
        model=_Model(activations), optimizer=_Optimizer(_features(configs)),
        steps=c0.steps, batch_size=c0.batch_size, record=_Recorder(sats),
        on_nonfinite="return", per_run=per_run, hyperparams=hyperparams,
    )  # fmt: skip
    # Slice on the host: indexing device arrays would compile one program per shape.
    origins = history.nonfinite
    arrays = jax.device_get(history._replace(nonfinite=None))
    final_mlp = jax.device_get(final)
    runs = []
    for r, config in enumerate(configs):
        hist = _slice(arrays, r)._replace(nonfinite=origins[r])
        runs.append(Run(config, _slice(final_mlp, r), hist, diagnosis.diagnose(hist)))
    return runs


def _grouped(configs: Sequence[Config]) -> tuple[list[Config], dict[tuple, list[int]]]:
    """Validate ``configs`` and group their indices by network shape and training length
    (the configurations one compiled training program can run together)."""
    configs = list(configs)
    if not configs:
        raise ValueError("configs must hold at least one Config, got none")
    for config in configs:
        _validate(config)
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault((c.depth, c.width, c.steps, c.batch_size), []).append(i)
    return configs, groups


def run_many(key: Array, configs: Sequence[Config]) -> tuple[Run, ...]:
    r"""Train several configurations on the digits, sharing compiled programs.

    Every run uses ``key`` exactly as :func:`run` does: the same data split, the same
    minibatches, and the same initial weights for runs with the same initialiser, so
    ``run_many(key, cs)[i]`` is ``run(key, cs[i])`` (a test checks it). Configurations
    that agree in ``depth``, ``width``, ``steps`` and ``batch_size`` form one group and
    are trained by one :func:`gradcourse.train.fit_seeds` call, with activation,
    initialisation, optimizer, learning rate, momentum and clipping bound carried as
    data: one compiled training loop per group instead of one per configuration.

    Args:
        key: PRNG key (split for the data shuffle, the initialisation and the batches).
        configs: the runs, at least one.

    Returns:
        One :class:`Run` per configuration, in order; a run that hits NaN/Inf returns
        normally, with ``history.nonfinite`` and ``diagnosis.origin`` set.

    Raises:
        ValueError: for an empty ``configs`` or an invalid configuration.
    """
    configs, groups = _grouped(configs)
    runs: list[Run | None] = [None] * len(configs)
    data = None
    for members in groups.values():
        group = [configs[i] for i in members]
        inits = tuple(c.init for c in group)
        k_data, mlps, fit_keys = _init_group(key, inits, group[0].width, group[0].depth)
        data = digits(k_data) if data is None else data  # the same split for all
        for i, r in zip(
            members, _train_group(group, data, mlps, fit_keys), strict=True
        ):
            runs[i] = r
    return tuple(runs)  # type: ignore[arg-type]


@functools.partial(jax.jit, static_argnames=("inits", "width", "depth", "seeds"))
def _init_seeds(
    key: Array, inits: tuple[str, ...], width: int, depth: int, seeds: int
) -> tuple[Array, MLP, Array]:
    """As :func:`_init_group` with ``seeds`` initialisations and minibatch streams: run
    ``r * seeds + s`` is configuration ``r`` from seed ``s``."""
    k_data, k_init, k_fit = jax.random.split(key, 3)
    init_keys, fit_keys = (
        jax.random.split(k_init, seeds),
        jax.random.split(k_fit, seeds),
    )
    drawn = {name: jax.vmap(lambda k, n=name: init_mlp(k, _DIGITS_FEATURES, width, depth,
                                                        10, w_init=INITS[n]))(init_keys)
             for name in dict.fromkeys(inits)}  # fmt: skip
    mlps = jax.tree.map(lambda *ws: jnp.concatenate(ws), *(drawn[n] for n in inits))
    return k_data, mlps, jnp.concatenate([fit_keys] * len(inits))


def run_seeds(
    key: Array, configs: Sequence[Config], seeds: int
) -> tuple[tuple[Run, ...], ...]:
    r"""Train every configuration from ``seeds`` initialisations, sharing compiled programs.

    A single run's outcome can flip with round-off (diverged or not, which of two wins);
    several seeds show whether it is a result. Seed ``s`` draws the initial weights and the
    minibatches from its own keys, the same for every configuration (so configurations
    with the same initialiser start from the same weights in each seed); all runs share the
    data split drawn from ``key``. Configurations of one shape and all their seeds train in
    one :func:`gradcourse.train.fit_seeds` program, as in :func:`run_many`.

    Args:
        key: PRNG key (split for the data shuffle, the initialisations and the batches).
        configs: the configurations, at least one.
        seeds: runs per configuration, at least 1.

    Returns:
        ``runs[i][s]``: the :class:`Run` of ``configs[i]`` from seed ``s``.

    Raises:
        ValueError: for an empty ``configs``, an invalid configuration or ``seeds < 1``.
    """
    seeds = _checks.positive_int("seeds", seeds)
    configs, groups = _grouped(configs)
    runs: list[tuple[Run, ...]] = [()] * len(configs)
    data = None
    for members in groups.values():
        group = [configs[i] for i in members]
        inits = tuple(c.init for c in group)
        k_data, mlps, fit_keys = _init_seeds(
            key, inits, group[0].width, group[0].depth, seeds
        )
        data = digits(k_data) if data is None else data
        trained = _train_group(
            [c for c in group for _ in range(seeds)], data, mlps, fit_keys
        )
        for j, i in enumerate(members):
            runs[i] = tuple(trained[j * seeds : (j + 1) * seeds])
    return tuple(runs)


def run(key: Array, config: Config) -> Run:
    """Train ``config`` on the digits and diagnose it: :func:`run_many` of one.

    Args:
        key: PRNG key (split for the data shuffle, the initialisation and the batches).
        config: the run.

    Returns:
        A :class:`Run`; a run that hits NaN/Inf returns normally, with
        ``history.nonfinite`` and ``diagnosis.origin`` set.

    Raises:
        ValueError: for an invalid ``config``.
    """
    return run_many(key, [config])[0]
