"""Give every chapter a first cell that installs gradcourse where it is missing (Colab).

    .venv/bin/python scripts/add_colab_cell.py book/*.ipynb

Colab ignores environment.yml, so a chapter opened there from the launch button needs to
install the package itself. A notebook in Colab runs alone: it cannot see the repository
it came from, nor the book's _config.yml, so the cell cannot read the repository's address
from the one place it is kept. It installs gradcourse by name and exact version from
PyPI instead (``gradcourse==<version in pyproject.toml>``), the release these chapters
were executed with, which the publish workflow uploads when a ``v<version>`` tag is pushed
(see the README). So no notebook spells the repository's address, and a chapter in Colab
runs the released code that matches it rather than whatever the branch holds that day.

The cell does nothing where gradcourse is importable (the repository's .venv, Binder). It
installs with --no-deps: a hosted notebook already has jax, optax and scikit-learn, and
forcing this repository's exact pins onto it would fight its preinstalled versions.

A chapter without the cell gets it as its first code cell; a chapter whose cell differs
(an older text, a new version) has that cell's source replaced and nothing else: the other
cells and every output stay byte for byte as they were, so the diff is that one cell.
Re-execute the chapters afterwards (`make execute`).
"""

from __future__ import annotations

import json
import sys
import tomllib
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Colab / hosted notebooks:"


def colab_source(version: str | None = None) -> str:
    """The cell's text, installing ``gradcourse==version`` (default: pyproject's version)."""
    if version is None:
        pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
        version = pyproject["project"]["version"]
    return f"""{MARKER} install gradcourse if it is missing (a no-op in the repository).
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("gradcourse") is None:
    # The release on PyPI that this chapter was executed with (see the README).
    package = "gradcourse=={version}"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", package]
    subprocess.run(pip, check=True)"""


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def add(path: Path) -> str:
    """Add or update the chapter's Colab cell; say which ('added', 'updated', 'up to date')."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)  # plain JSON keeps the file's key order and formatting
    source = colab_source()
    cells = nb["cells"]
    first = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    cell = cells[first]
    if "".join(cell["source"]).startswith(MARKER):
        if "".join(cell["source"]) == source:
            return "up to date"
        cell["source"] = _lines(source)
        what = "updated"
    else:
        cells.insert(first, _new_cell(source))
        what = "added"
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return what


def _new_cell(source: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": uuid.uuid4().hex[:8],
        "metadata": {"tags": ["hide-input"]},
        "outputs": [],
        "source": _lines(source),
    }


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {add(Path(name))}")
