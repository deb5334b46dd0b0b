"""What each module makes public, as CONTRIBUTING states it.

The public modules of floors 1 to 7 and every ``plotting`` module list their names in
``__all__``. An experiment module (``gc.experiments.<chapter>``) has no ``__all__``: what
it defines without a leading underscore is its API, and ``book/api.md`` documents it; it
lists ``__all__`` only to re-export names from a shared private experiment module.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import gradcourse as gc
import gradcourse.experiments
import gradcourse.plotting

LISTED = [f"gradcourse.{name}" for name in gc._SUBMODULES if name != "experiments"] + [
    f"gradcourse.plotting.{m.name}" for m in pkgutil.iter_modules(gc.plotting.__path__)
]
EXPERIMENTS = [f"gradcourse.experiments.{name}" for name in gc.experiments._SUBMODULES]


def _defined_here(module: ModuleType) -> dict[str, object]:
    """The public functions and classes whose home is ``module``."""
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    }


@pytest.mark.parametrize("name", LISTED)
def test_listed_module_names_what_it_has(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_module_api_is_what_it_defines(name):
    module = importlib.import_module(name)
    own = _defined_here(module)
    assert own, f"{name} defines no public function or class"
    undocumented = [n for n, obj in own.items() if not inspect.getdoc(obj)]
    assert not undocumented, f"{name}: no docstring on {undocumented}"
    if hasattr(module, "__all__"):
        shared = [
            n
            for n in module.__all__
            if getattr(getattr(module, n), "__module__", "").startswith(
                "gradcourse.experiments._"
            )
        ]
        assert shared, f"{name} lists __all__ but re-exports nothing shared"
        assert set(own) <= set(module.__all__), f"{name}: __all__ leaves out its own"


def test_a_module_without_a_re_export_lists_no_all():
    with_all = [
        n for n in EXPERIMENTS if hasattr(importlib.import_module(n), "__all__")
    ]
    assert sorted(with_all) == [
        "gradcourse.experiments.batch_normalization",
        "gradcourse.experiments.initialization",
        "gradcourse.experiments.jacobian_products",
    ]
