r"""A gallery of gradient failures, each reproduced by one call.

:data:`FAILURE_MODES` maps a symptom to a small :class:`Config` that produces it on the
bundled digits (64 inputs, 10 classes) and to the fix that removes it; :func:`reproduce`
trains that configuration with :func:`gradcourse.train.fit`, records
:func:`gradcourse.monitor.health` at every step and returns the run with its
:func:`gradcourse.monitor.diagnose` verdict.

=================  ==============================================  ===================
symptom            cause                                           fix
=================  ==============================================  ===================
``stuck_at_ln10``  20 sigmoid layers: the gradient shrinks by at    tanh (zero-centred,
                   least 4x per layer                               slope 1 at 0)
``nan_after_k``    SGD at 1.0 with momentum 0.9 on a ReLU net:      learning rate 0.01
                   the weights grow until activations overflow
``most_dead``      ReLU trained by Adam at 0.05: units pushed to    Adam at 1e-3
                   z < 0 for every input
``top_saturated``  sigmoid with the "standard" init: the top        tanh with Glorot's
                   layer sinks to 0 (Glorot & Bengio, 2010)         normalised init
=================  ==============================================  ===================

References:
    Glorot & Bengio, `Understanding the difficulty of training deep feedforward neural
    networks <https://proceedings.mlr.press/v9/glorot10a.html>`_, 2010;
    Pascanu, Mikolov & Bengio, `On the difficulty of training recurrent neural networks
    <https://proceedings.mlr.press/v28/pascanu13.html>`_, 2013.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import jax
import optax
from jax import Array

from gradcourse import _checks, monitor, train
from gradcourse.activations import REGISTRY
from gradcourse.data import digits
from gradcourse.networks import init_mlp

__all__ = ["Config", "FailureMode", "FAILURE_MODES", "INITS", "Run", "reproduce", "run"]

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


class FailureMode(NamedTuple):
    """One gallery entry: what you see, why, and the change that removes it."""

    symptom: str
    cause: str
    fix: str
    config: Config
    fixed: Config


#: The gallery, by symptom name.
FAILURE_MODES: Mapping[str, FailureMode] = MappingProxyType(
    {
        "stuck_at_ln10": FailureMode(
            "the loss stays at ln 10, the loss of a uniform guess over 10 classes",
            "20 sigmoid layers: each multiplies the back-propagated signal by at most "
            "1/4, and the forward signal forgets the input",
            "zero-centred tanh, whose slope at 0 is 1 (same depth, same init)",
            Config("sigmoid", 20, "lecun", "sgd", 0.1),
            Config("tanh", 20, "lecun", "sgd", 0.1),
        ),
        "nan_after_k": FailureMode(
            "the loss is NaN after a few steps",
            "SGD at 1.0 with momentum 0.9 on a ReLU net: steps overshoot, the weights "
            "grow, and an activation overflows float32",
            "a learning rate of 0.01 (same momentum)",
            Config("relu", 10, "he", "sgd", 1.0, momentum=0.9, steps=60),
            Config("relu", 10, "he", "sgd", 0.01, momentum=0.9, steps=60),
        ),
        "most_dead": FailureMode(
            "most ReLU units of a layer output 0 for every example",
            "Adam at 0.05 moves every weight by about 0.05 per step and pushes units "
            "into z < 0 for all inputs, where their gradient is exactly 0",
            "Adam at 1e-3",
            Config("relu", 6, "he", "adam", 0.05),
            Config("relu", 6, "he", "adam", 1e-3),
        ),
        "top_saturated": FailureMode(
            "the top hidden layer's sigmoid outputs sink to 0 and the loss stalls "
            "near ln 10",
            "sigmoid units have mean 1/2 and the 'standard' init; training drives the "
            "top layer into the flat tail at 0 (Glorot & Bengio, 2010)",
            "tanh with Glorot's normalised initialisation (same optimizer)",
            Config("sigmoid", 5, "standard", "sgd", 0.3, momentum=0.9),
            Config("tanh", 5, "glorot", "sgd", 0.3, momentum=0.9),
        ),
    }
)


class Run(NamedTuple):
    """Result of :func:`run` and :func:`reproduce`."""

    config: Config
    params: Any
    history: train.History
    diagnosis: monitor.Diagnosis


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


def _optimizer(config: Config) -> optax.GradientTransformation:
    return _cached_optimizer(
        config.optimizer, config.learning_rate, config.momentum, config.clip
    )


@functools.lru_cache(maxsize=64)
def _cached_optimizer(
    name: str, learning_rate: float, momentum: float, clip: float | None
) -> optax.GradientTransformation:
    """One object per setting, so that ``train.fit`` reuses its compiled loop."""
    if name == "adam":
        opt = optax.adam(learning_rate)
    else:
        opt = optax.sgd(learning_rate, momentum=momentum or None)
    if clip is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip), opt)
    return opt


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


def run(key: Array, config: Config) -> Run:
    """Train ``config`` on the digits and diagnose it.

    Args:
        key: PRNG key (split for the data shuffle, the initialisation and the batches).
        config: the run.

    Returns:
        A :class:`Run`; a run that hits NaN/Inf returns normally, with
        ``history.nonfinite`` and ``diagnosis.origin`` set.

    Raises:
        ValueError: for an invalid ``config``.
    """
    _validate(config)
    k_data, k_init, k_fit = jax.random.split(key, 3)
    data = digits(k_data)
    params = init_mlp(k_init, data.x_train.shape[1], config.width, config.depth, 10,
                      w_init=INITS[config.init])  # fmt: skip
    saturation = config.activation if config.activation in monitor.ASYMPTOTES else None
    params, history = train.fit(
        k_fit, params, data.x_train, data.y_train,
        model=train.mlp_model(_activation(config.activation)),
        optimizer=_optimizer(config), steps=config.steps,
        batch_size=config.batch_size, record=monitor.recorder(saturation),
        on_nonfinite="return",
    )  # fmt: skip
    return Run(config, params, history, monitor.diagnose(history))


def reproduce(name: str, key: Array, *, fixed: bool = False) -> Run:
    """Reproduce the failure ``name`` of :data:`FAILURE_MODES` (or its fix).

    Args:
        name: a key of :data:`FAILURE_MODES`.
        key: PRNG key.
        fixed: run the fixed configuration instead.

    Returns:
        The :class:`Run`.

    Raises:
        ValueError: if ``name`` is not in the gallery.

    Examples:
        >>> sorted(FAILURE_MODES)[:2]
        ['most_dead', 'nan_after_k']
    """
    _checks.one_of("name", name, tuple(FAILURE_MODES))
    mode = FAILURE_MODES[name]
    return run(key, mode.fixed if fixed else mode.config)
