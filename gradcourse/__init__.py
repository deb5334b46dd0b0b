"""gradcourse: the JAX package behind the course on vanishing and exploding gradients.

Chapters import it as ``import gradcourse as gc`` and call ``gc.activations.sigmoid``,
``gc.networks.mlp_forward``, ``gc.probes.grad_norms`` and so on, so a reader always sees
which code is library code. Submodules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: The XLA flags every chapter sets in its first cell (before JAX's first operation):
#: compile quickly rather than optimise hard. A chapter compiles dozens of small programs
#: and runs each briefly, so on a CPU this takes about 40% off its run time
#: (``benchmarks/bench_chapters.py``); the test suite runs with the same flags.
COMPILE_FAST_XLA_FLAGS = (
    "--xla_cpu_use_fusion_emitters=false --xla_backend_optimization_level=1"
)

# One concept per module; imports only point down (see STYLE.md, "A house that reads well").
_SUBMODULES = (
    "activations",
    "clipping",
    "data",
    "failure_modes",
    "initializers",
    "jacobians",
    "meanfield",
    "moments",
    "monitor",
    "networks",
    "normalization",
    "optim",
    "plotting",
    "probes",
    "rectifiers",
    "residual",
    "train",
    "zoo",
)

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'gradcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
