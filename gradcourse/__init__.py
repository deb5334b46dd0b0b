"""gradcourse: the JAX package behind the course on vanishing and exploding gradients.

Chapters import it as ``import gradcourse as gc`` and call ``gc.activations.sigmoid``,
``gc.networks.forward``, ``gc.probes.grad_norms`` and so on, so a reader always sees
which code is library code. Submodules are imported on first use.
"""

from __future__ import annotations

from ._glue import glue
from ._lazy import lazy_submodules
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
    "diagnosis",
    "experiments",
    "failure_modes",
    "initializers",
    "jacobians",
    "leaky_nets",
    "meanfield",
    "quadrature",
    "randmat",
    "correlation",
    "ensemble",
    "moments",
    "health",
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
    "runs",
    "residual",
    "shattering",
    "train",
    "zoo",
)

__all__ = [*_SUBMODULES, "COMPILE_FAST_XLA_FLAGS", "default_cache_dir", "glue", "setup"]


__getattr__, __dir__ = lazy_submodules(__name__, _SUBMODULES, globals())
