"""The settings the chapters' experiments share.

Every experiment that trains a set of networks fixes the same four things: how many
networks (one per seed), how many optimiser steps, how large a step, and how many examples
a step sees. :class:`Schedule` holds them once; a setup such as
:class:`gradcourse.experiments.activation_zoo.TrainSetup` holds a ``Schedule`` next to
what is its own (the networks' size, the activations, the task). Every experiment that
draws a set of networks fixes how many and how large: :class:`Sizes`. The chapter modules
import what they use, so a chapter writes ``gc.experiments.activation_zoo.Schedule(...)``.
"""

from __future__ import annotations

import dataclasses

from gradcourse import _checks

__all__ = ["Schedule", "Sizes"]


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How a set of networks is trained: ``seeds`` runs of ``steps`` optimiser steps.

    Attributes:
        steps: optimiser steps of each run, >= 1.
        learning_rate: the optimiser's step size, > 0.
        seeds: independent runs (networks), >= 1.
        batch_size: examples per step, >= 1; ``None`` for the full batch (every training
            example at every step).

    Raises:
        ValueError: naming the field, for a value outside its range.
    """

    steps: int
    learning_rate: float
    seeds: int
    batch_size: int | None = None

    def __post_init__(self) -> None:
        _checks.positive_int("steps", self.steps)
        _checks.positive("learning_rate", self.learning_rate)
        _checks.positive_int("seeds", self.seeds)
        if self.batch_size is not None:
            _checks.positive_int("batch_size", self.batch_size)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How many networks an experiment draws (one per seed) and how large each is.

    Attributes:
        depth: hidden layers, >= 1.
        width: units per hidden layer, >= 1.
        seeds: networks, >= 1.

    Raises:
        ValueError: naming the field, for a value that is not a positive integer.
    """

    depth: int
    width: int
    seeds: int

    def __post_init__(self) -> None:
        for name in ("depth", "width", "seeds"):
            _checks.positive_int(name, getattr(self, name))
