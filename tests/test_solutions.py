"""Every exercise solution's code runs.

A solution gives its code in fenced ``python`` blocks inside a ``{solution}`` directive, which
nbval never executes. ``test_solutions_run`` runs each chapter's code cells in one IPython
shell, in a fresh process (as the chapter's kernel would), then each solution's code blocks
after them, each solution from the namespace the chapter left (so one solution's assignments
cannot break the next). A solution that raises fails the test, with its label and traceback.

The chapter is executed again for this, so the persistent compilation cache (``gc.setup()``)
makes the second run of a chapter cheap after nbval's; the cost that remains is the
solutions' own work, which each chapter keeps to a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))

# A directive fence (3+ backticks or colons) opening {solution}, up to the same fence alone.
_SOLUTION = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{solution\}[ \t]*(?P<label>\S*)[^\n]*\n"
    r"(?P<body>[\s\S]*?)^(?P=fence)[ \t]*$",
    re.M,
)
# A python code block inside it: ```python ... ``` (three backticks exactly).
_PYTHON = re.compile(
    r"^```(?:python|python3|ipython3)[ \t]*\n(?P<code>[\s\S]*?)^```[ \t]*$", re.M
)


def solution_code(path: Path) -> list[tuple[str, str]]:
    """(label, code) of every solution with python code in the chapter at ``path``, in order.

    A solution with several code blocks gives them joined, in order, as one program.
    """
    cells = json.loads(path.read_text())["cells"]
    found = []
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        for m in _SOLUTION.finditer("".join(cell["source"])):
            blocks = [b.group("code") for b in _PYTHON.finditer(m.group("body"))]
            if blocks:
                found.append((m.group("label"), "\n".join(blocks)))
    return found


def test_solution_code_parses_the_forms_the_chapters_use():
    markdown = (
        "````{solution} a-ex-one\n:class: dropdown\nText.\n```python\nx = 1\n```\n"
        "More.\n```python\ny = x + 1\n```\n````\n\n"
        "```{solution} a-ex-two\n:class: dropdown\nNo code.\n```\n"
    )
    nb = {"cells": [{"cell_type": "markdown", "source": [markdown]}]}
    path = ROOT / "_build" / "test_solution_parse.ipynb"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(nb))
    try:
        assert solution_code(path) == [("a-ex-one", "x = 1\n\ny = x + 1\n")]
    finally:
        path.unlink()


def test_every_chapter_has_solution_code():
    """At least one solution per chapter has code, so the test below checks something."""
    empty = [p.name for p in CHAPTERS if not solution_code(p)]
    assert not empty, f"chapters without any solution code: {empty}"


# Runs in a fresh interpreter: the chapter's cells, then each solution from a copy of the
# namespace they left. Prints one line per solution that raised, with its traceback.
_RUNNER = r"""
import json, sys, traceback
import matplotlib
matplotlib.use("Agg")
from IPython.core.interactiveshell import InteractiveShell
import gradcourse as gc

gc.setup()
import matplotlib.pyplot as plt
plt.show = lambda *a, **k: plt.close("all")
path, solutions = sys.argv[1], json.loads(sys.stdin.read())
cells = json.load(open(path))["cells"]
shell = InteractiveShell.instance()


def run(code):
    result = shell.run_cell(code, silent=True)
    plt.close("all")
    return result.error_before_exec or result.error_in_exec


def report(failures):
    print("\n=== RESULT ===\n" + json.dumps(failures))
    sys.exit(1 if failures else 0)


for i, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
    error = run("".join(cell["source"]))
    if error is not None:
        report({f"chapter code cell {i}": "".join(traceback.format_exception(error))})
chapter_ns = dict(shell.user_ns)
failures = {}
for label, code in solutions:
    shell.user_ns.clear()
    shell.user_ns.update(chapter_ns)
    print(f"=== solution {label} ===", flush=True)
    error = run(code)
    if error is not None:
        failures[label] = "".join(traceback.format_exception(error))[-2500:]
report(failures)
"""


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_solutions_run(path):
    """Each solution's code runs without error after the chapter's cells."""
    solutions = solution_code(path)
    env = {**os.environ, "MPLBACKEND": "Agg", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path)],
        input=json.dumps(solutions),
        capture_output=True,
        text=True,
        cwd=path.parent,
        env=env,
        timeout=900,
    )
    _, marker, result = proc.stdout.rpartition("=== RESULT ===")
    assert marker, (
        f"{path.name}: the runner died\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    )
    failures = json.loads(result)
    assert not failures, (
        f"{path.name}: solutions that raised: {sorted(failures)}\n"
        + "\n".join(f"--- {label}\n{tb}" for label, tb in failures.items())
    )
