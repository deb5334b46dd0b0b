"""The experiments the chapters run: floor 5, composed from the package below.

One module per chapter (``gc.experiments.recurrent``, ...). Each function is an experiment a
chapter calls in one line; its docstring says what it measures, and a test runs it on other
seeds. Chapters hold no ``jax.jit`` plumbing: that lives here or further down.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES: tuple[str, ...] = ("autoencoder",)

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'gradcourse.experiments' has no attribute {name!r}")
