"""The experiments the chapters run: floor 8, composed from the package below.

One module per chapter (``gc.experiments.tanh``, ...), imported on first use. Each function is
an experiment a chapter calls in one line; its docstring says what it measures, and a test runs
it on other seeds. Chapters hold no ``jax.jit`` plumbing: that lives here or further down.
"""

from __future__ import annotations

import pkgutil

from gradcourse._lazy import lazy_submodules

# Every module in this folder is an experiment module (no list to keep in step).
_SUBMODULES: tuple[str, ...] = tuple(
    sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
)

__all__ = list(_SUBMODULES)


__getattr__, __dir__ = lazy_submodules(__name__, _SUBMODULES, globals())
