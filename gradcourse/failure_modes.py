r"""A gallery of gradient failures, each reproduced by one call.

:data:`FAILURE_MODES` maps a symptom to a small :class:`~gradcourse.runs.Config` that
produces it on the bundled digits (64 inputs, 10 classes) and to the fix that removes
it; :func:`reproduce` trains that configuration with :func:`gradcourse.runs.run`, which
records :func:`gradcourse.health.step_health` at every step and returns the run with its
:func:`gradcourse.diagnosis.diagnose` verdict. :func:`gallery` trains several entries
with :func:`gradcourse.runs.run_many`, one :func:`gradcourse.train.fit_seeds` program per
shape: the last three entries below share depth 6, so :func:`gallery` trains its four
entries (or their four fixes) with two compiled loops, not four.

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

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from jax import Array

from gradcourse import _checks
from gradcourse.runs import Config, Run, run, run_many

__all__ = ["FAILURE_MODES", "FailureMode", "gallery", "reproduce"]


class FailureMode(NamedTuple):
    """One gallery entry: what you see, why, and the change that removes it.

    Attributes:
        symptom: what a run of ``config`` shows.
        cause: why.
        fix: the change, in words.
        config: the :class:`~gradcourse.runs.Config` that fails.
        change: the fields of ``config`` that the fix sets, and their new values.
    """

    symptom: str
    cause: str
    fix: str
    config: Config
    change: Mapping[str, object]

    @property
    def fixed(self) -> Config:
        """The fixed configuration, ``config`` with ``change`` applied."""
        return self.config._replace(**self.change)


#: The gallery, by symptom name.
FAILURE_MODES: Mapping[str, FailureMode] = MappingProxyType(
    {
        "stuck_at_ln10": FailureMode(
            "the loss stays at ln 10, the loss of a uniform guess over 10 classes",
            "20 sigmoid layers: each multiplies the back-propagated signal by at most "
            "1/4, and the forward signal forgets the input",
            "zero-centred tanh, whose slope at 0 is 1 (same depth, same init)",
            Config("sigmoid", 20, "lecun", "sgd", 0.1, batch_size=64),
            {"activation": "tanh"},
        ),
        "nan_after_k": FailureMode(
            "the loss is NaN after a few steps",
            "SGD at 1.0 with momentum 0.9 on a ReLU net: steps overshoot, the weights "
            "grow, and an activation overflows float32",
            "a learning rate of 0.01 (same momentum)",
            Config("relu", 6, "he", "sgd", 1.0, momentum=0.9),
            {"learning_rate": 0.01},
        ),
        "most_dead": FailureMode(
            "most ReLU units of a layer output 0 for every example",
            "Adam at 0.05 moves every weight by about 0.05 per step and pushes units "
            "into z < 0 for all inputs, where their gradient is exactly 0",
            "Adam at 1e-3",
            Config("relu", 6, "he", "adam", 0.05),
            {"learning_rate": 1e-3},
        ),
        "top_saturated": FailureMode(
            "the top hidden layer's sigmoid outputs sink to 0 and the loss stalls "
            "near ln 10",
            "sigmoid units have mean 1/2 and the 'standard' init; training drives the "
            "top layer into the flat tail at 0 (Glorot & Bengio, 2010)",
            "tanh with Glorot's normalised initialisation (same optimizer)",
            Config("sigmoid", 6, "standard", "sgd", 0.3, momentum=0.9),
            {"activation": "tanh", "init": "glorot"},
        ),
    }
)


def reproduce(name: str, key: Array, *, fixed: bool = False) -> Run:
    """Reproduce the failure ``name`` of :data:`FAILURE_MODES` (or its fix).

    Args:
        name: a key of :data:`FAILURE_MODES`.
        key: PRNG key.
        fixed: run the fixed configuration instead.

    Returns:
        The :class:`~gradcourse.runs.Run`.

    Raises:
        ValueError: if ``name`` is not in the gallery.

    Examples:
        >>> sorted(FAILURE_MODES)[:2]
        ['most_dead', 'nan_after_k']
    """
    _checks.one_of("name", name, tuple(FAILURE_MODES))
    mode = FAILURE_MODES[name]
    return run(key, mode.fixed if fixed else mode.config)


def gallery(
    key: Array, names: Sequence[str] | None = None, *, fixed: bool = False
) -> dict[str, Run]:
    """:func:`reproduce` for several gallery entries at once (:func:`gradcourse.runs.run_many`).

    Args:
        key: PRNG key, used for every entry as :func:`reproduce` uses it.
        names: keys of :data:`FAILURE_MODES`; default all.
        fixed: run the fixed configurations instead.

    Returns:
        ``{name: Run}``, equal to ``{name: reproduce(name, key, fixed=fixed)}``.

    Raises:
        ValueError: for an unknown name or an empty ``names``.
    """
    names = tuple(FAILURE_MODES) if names is None else tuple(names)
    if not names:
        raise ValueError("names must list at least one gallery entry, got ()")
    for name in names:
        _checks.one_of("name", name, tuple(FAILURE_MODES))
    modes = [FAILURE_MODES[n] for n in names]
    runs = run_many(key, [m.fixed if fixed else m.config for m in modes])
    return dict(zip(names, runs, strict=True))
