"""gradcourse: the JAX package behind the course on vanishing and exploding gradients.

Chapters import it as ``import gradcourse as gc`` and call ``gc.activations.sigmoid``,
``gc.networks.mlp_forward``, ``gc.probes.grad_norms`` and so on, so a reader always sees
which code is library code. Submodules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._glue import glue
from ._setup import COMPILE_FAST_XLA_FLAGS, default_cache_dir, setup

__version__ = "0.1.0"

# One concept per module; imports only point down (see STYLE.md, "A house that reads well").
_SUBMODULES = (
    "activations",
    "gated",
    "leaky",
    "registry",
    "autoencoder",
    "clipping",
    "data",
    "experiments",
    "failure_modes",
    "initializers",
    "jacobians",
    "meanfield",
    "quadrature",
    "randmat",
    "correlation",
    "ensemble",
    "moments",
    "monitor",
    "networks",
    "norm_mlp",
    "normalization",
    "optim",
    "pretraining",
    "plotting",
    "probes",
    "recurrent",
    "spectra",
    "rectifiers",
    "residual",
    "train",
    "zoo",
)

__all__ = [*_SUBMODULES, "COMPILE_FAST_XLA_FLAGS", "default_cache_dir", "glue", "setup"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'gradcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
