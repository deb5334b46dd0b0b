"""Submodules imported on first use, for ``gradcourse`` and ``gradcourse.experiments``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def lazy_submodules(
    package: str, names: Iterable[str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` (PEP 562) of a package whose
    submodules ``names`` are imported when first used (``gc.probes`` imports probes.py).

    Args:
        package: the package's ``__name__``.
        names: its submodules.
        namespace: the package's ``globals()``; an imported submodule is stored there, so
            the next access does not go through ``__getattr__``.
    """
    names = tuple(names)

    def __getattr__(name: str) -> Any:
        if name in names:
            module = importlib.import_module(f".{name}", package)
            namespace[name] = module
            return module
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*namespace, *names])

    return __getattr__, __dir__
