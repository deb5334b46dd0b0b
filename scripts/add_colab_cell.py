"""Give every chapter a first cell that installs gradcourse where it is missing (Colab).

    .venv/bin/python scripts/add_colab_cell.py book/*.ipynb

Colab ignores environment.yml, so a chapter opened there from the launch button needs to
install the package itself. The cell does nothing where gradcourse is importable (the
repository's .venv, Binder). It installs with --no-deps: a hosted notebook already has
jax, optax and scikit-learn, and forcing this repository's exact pins onto it would fight
its preinstalled versions. Idempotent: a chapter that already has the cell is left alone.
Re-execute the chapters afterwards (`make execute`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

MARKER = "# Colab / hosted notebooks:"
SOURCE = f"""{MARKER} install gradcourse if it is missing (a no-op in the repository).
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("gradcourse") is None:
    url = "git+https://github.com/gradcourse/gradcourse"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", url], check=True)"""


def add(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    if any(c.cell_type == "code" and c.source.startswith(MARKER) for c in nb.cells):
        return False
    cell = nbformat.v4.new_code_cell(SOURCE)
    cell.metadata["tags"] = ["hide-input"]
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code, cell)
    nbformat.write(nb, path)
    return True


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {'added' if add(Path(name)) else 'already there'}")
