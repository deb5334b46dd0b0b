"""The package is layered: a module imports only from modules on a lower floor.

An ``ast`` walk over every ``gradcourse/*.py`` and ``gradcourse/experiments/*.py``
collects what each module imports from the package (top-level and function-level
imports, absolute and relative) and checks it against :data:`FLOORS`. A module may import
only from a strictly lower floor, or from a module on its own floor when the pair is in
:data:`SAME_FLOOR` with the reason. ``plotting`` stands apart: it imports nothing from the
package, and only ``_setup`` (plot style) and the experiments may import it. The map is
the one ``book/api.md`` describes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "gradcourse"

FLOORS: dict[str, int] = {
    # 0: private helpers
    **dict.fromkeys(("_checks", "_linalg", "_glue", "_setup", "_lazy"), 0),
    # the package entry point re-exports gc.setup and gc.glue from floor 0 (submodules
    # load lazily, by name, on first use)
    "__init__": 1,
    # 1: elementwise functions, their registry, initialisers, pure transforms, data
    **dict.fromkeys(
        ("activations", "leaky", "gated", "registry", "initializers", "normalization"),
        1,
    ),
    **dict.fromkeys(("optim", "clipping", "data", "quadrature"), 1),
    # 2: the one scanned network, the mean-field recursions, recurrent cells
    **dict.fromkeys(("networks", "meanfield", "recurrent"), 2),
    # 3: variants of the network (residual, normalised, one per activation) and what is
    #    derived from it or from the recursions: Jacobians, moments, correlations,
    #    random-matrix chains
    **dict.fromkeys(("residual", "norm_mlp", "ensemble", "jacobians", "randmat"), 3),
    **dict.fromkeys(("moments", "correlation"), 3),
    # 4: the probes (the one gradient-norm probe, the one per-layer norm, input
    #    gradients), which read plain and residual networks alike
    **dict.fromkeys(("probes", "shattering"), 4),
    # 5: what is measured with the probes: the monitor and its diagnosis, dead units,
    #    the autoencoder's profile, Jacobian spectra
    **dict.fromkeys(("health", "diagnosis", "rectifiers", "autoencoder", "spectra"), 5),
    # 6: the one training loop
    "train": 6,
    # 7: compositions that train (a chapter's study of a whole family)
    **dict.fromkeys(("leaky_nets", "pretraining", "runs", "zoo", "failure_modes"), 7),
    # 8: the chapters' experiments
    "experiments": 8,
}

#: ``(importer, imported)`` pairs on one floor that are allowed, with the reason.
SAME_FLOOR: dict[tuple[str, str], str] = {
    (
        "gated",
        "activations",
    ): "a gate is built from the classics (relu6, softplus, tanh')",
    ("registry", "activations"): "the registry records every activation function",
    ("registry", "leaky"): "the registry records every activation function",
    ("registry", "gated"): "the registry records every activation function",
    ("initializers", "registry"): "he_normal and gain read an activation's gain",
    ("diagnosis", "health"): "the diagnosis reads the monitor's statistics",
    ("rectifiers", "health"): "a dead unit is defined once, in health",
    ("failure_modes", "runs"): "the failure gallery is a set of runs",
}

#: Modules that may import ``plotting``, which computes nothing and stands apart.
PLOTTING_USERS = ("_setup", "experiments")


def _module_name(path: Path) -> str:
    if path.parent.name == "plotting":
        return "plotting"
    if path.parent.name == "experiments":
        return "experiments" if path.stem == "__init__" else f"experiments.{path.stem}"
    return path.stem


def imported_modules(name: str, source: str) -> set[str]:
    """The package modules (first component below ``gradcourse``) that ``source``,
    the text of module ``name``, imports anywhere in its body."""
    depth = 2 if name.startswith("experiments") else 1  # folders below gradcourse/
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            dotted = [a.name.split(".") for a in node.names]
            found.update(p[1] for p in dotted if p[0] == "gradcourse" and len(p) > 1)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against gradcourse/ or experiments/
                if node.level > depth:
                    raise ValueError(f"{name}: relative import above the package")
                base = ["gradcourse", "experiments"][: depth - node.level + 1]
            else:
                base = []
            parts = base + (node.module.split(".") if node.module else [])
            if not parts or parts[0] != "gradcourse":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # ``from gradcourse import x, y``: the names are modules
                found.update(a.name for a in node.names)
    if name.startswith("experiments"):
        found.discard("experiments")  # one experiment may use another's composition
    return found


def _floor(name: str) -> int:
    return FLOORS["experiments" if name.startswith("experiments") else name]


def violations(name: str, source: str) -> list[str]:
    """Every import of module ``name`` (given its source) that breaks the layering."""
    bad = []
    for dep in sorted(imported_modules(name, source)):
        owner = "experiments" if name.startswith("experiments") else name
        if dep == "plotting" or owner == "plotting":
            if owner == "plotting" or owner not in PLOTTING_USERS:
                bad.append(f"{name} imports {dep} (plotting stands apart)")
            continue
        if dep not in FLOORS:
            bad.append(f"{name} imports {dep}, which has no floor in FLOORS")
        elif _floor(dep) > _floor(name):
            bad.append(
                f"{name} (floor {_floor(name)}) imports {dep} (floor {_floor(dep)})"
            )
        elif _floor(dep) == _floor(name) and (owner, dep) not in SAME_FLOOR:
            bad.append(f"{name} imports {dep} on its own floor {_floor(name)}")
    return bad


SOURCES = sorted(PACKAGE.glob("*.py")) + sorted(PACKAGE.glob("experiments/*.py"))
PLOTTING = sorted(PACKAGE.glob("plotting/*.py"))


def test_every_module_has_a_floor():
    names = {_module_name(p) for p in SOURCES} - {"plotting"}
    missing = sorted(
        n for n in names if not n.startswith("experiments") and n not in FLOORS
    )
    assert not missing, f"add these modules to FLOORS (and book/api.md): {missing}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module_name(p))
def test_module_imports_only_from_lower_floors(path):
    assert violations(_module_name(path), path.read_text()) == []


def plotting_imports(source: str) -> list[str]:
    """What a module of the ``plotting`` package imports from gradcourse outside it."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if a.name.split(".")[0] == "gradcourse"]
        elif isinstance(node, ast.ImportFrom):
            outside = node.level > 1 or (
                node.level == 0 and (node.module or "").split(".")[0] == "gradcourse"
            )
            bad += [f"{'.' * node.level}{node.module or ''}"] if outside else []
    return bad


@pytest.mark.parametrize("path", PLOTTING, ids=lambda p: f"plotting.{p.stem}")
def test_plotting_stands_apart(path):
    assert plotting_imports(path.read_text()) == []


@pytest.mark.parametrize(
    "source", ["from ..networks import MLP\n", "import gradcourse.probes\n",
               "from gradcourse import train\n"],
)  # fmt: skip
def test_plotting_importing_the_package_is_rejected(source):
    assert plotting_imports(source) != []
    assert plotting_imports("from .core import seed_band\n") == []


def test_same_floor_pairs_are_on_one_floor_and_used():
    used = {
        (_module_name(p), dep)
        for p in SOURCES
        if _module_name(p) != "plotting"
        for dep in imported_modules(_module_name(p), p.read_text())
    }
    for importer, imported in SAME_FLOOR:
        assert FLOORS[importer] == FLOORS[imported], (importer, imported)
        assert (importer, imported) in used, f"unused exception {(importer, imported)}"


# Negative controls: the walk sees every form of import, and the check rejects them.
@pytest.mark.parametrize(
    "source",
    [
        "from gradcourse.train import fit\n",
        "import gradcourse.train\n",
        "from gradcourse import train\n",
        "def f():\n    from gradcourse.train import fit\n    return fit\n",
        "from .train import fit\n",
        "from . import train\n",
    ],
)
def test_upward_import_is_rejected(source):
    assert violations("networks", source) == [
        "networks (floor 2) imports train (floor 6)"
    ]


def test_same_floor_import_needs_a_listed_reason():
    assert violations("optim", "from gradcourse.clipping import clip\n") == [
        "optim imports clipping on its own floor 1"
    ]
    assert violations("registry", "from gradcourse.activations import relu\n") == []


def test_experiment_relative_imports_resolve_to_the_package():
    source = "from ..networks import MLP\nfrom .. import train\nfrom . import tanh\n"
    assert imported_modules("experiments.x", source) == {"networks", "train"}
    assert violations("experiments.x", "from ..plotting import f\n") == []
    assert violations("probes", "from gradcourse.plotting import f\n") == [
        "probes imports plotting (plotting stands apart)"
    ]
    assert violations("networks", "from gradcourse.nowhere import f\n") == [
        "networks imports nowhere, which has no floor in FLOORS"
    ]
