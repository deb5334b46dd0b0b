"""The student edition: the book's notebooks with every solution taken out.

    .venv/bin/python scripts/student_edition.py [--out _build/student]

One source serves both editions. The instructor's notebooks in ``book/`` mark solutions in
two ways, and this script removes both:

* narrative solutions are sphinx-exercise ``{solution}`` directive blocks in markdown
  cells; the whole block is cut out of the cell (not hidden: it is not in the file);
* code exercises are code cells whose solution lines sit between ``# BEGIN SOLUTION`` and
  ``# END SOLUTION``; those lines become ``# YOUR CODE HERE`` and
  ``raise NotImplementedError(...)`` (nbgrader's and Neuromatch's stub). Such a cell, and
  every cell tagged ``public-check`` (its output would show the solution's result), loses
  its outputs. A cell tagged ``solution``, or a markdown cell that holds nothing but
  solution blocks, is dropped whole.

Every other cell keeps its stored outputs and figures from the instructor run. The script
writes

* ``<out>/notebooks/<chapter>.ipynb``: the student notebooks, to hand out or publish;
* ``<out>/src/``: a complete book source tree built from them (``_config.yml`` with the
  ``student_edition`` settings of the root ``_config.yml``, a ``_toc.yml`` without the
  instructor-only pages, the pages, the package for ``literalinclude``), which
  ``make student`` builds into ``<out>/html``. Publish ``<out>/src`` as the student
  repository: its launch buttons point there.

The removed text is kept only in memory (:func:`student_notebook` returns it so that
tests can re-insert it and get the source back); nothing of it is written.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STUB = "# YOUR CODE HERE"
PUBLIC_CHECK_TAG = "public-check"
SOLUTION_CELL_TAG = "solution"
AUTOGRADED_TAG = "autograded"
# Pages of the instructor's book that the student edition leaves out.
INSTRUCTOR_ONLY = ("book/instructor", "book/status")
#: The local Sphinx extensions in scripts/ that _config.yml loads.
LOCAL_EXTENSIONS = ("sphinx_ext", "execution_status", "page_fixes")
# Strings that never appear anywhere in a correct student edition.
MARKERS = (BEGIN, END, "{solution}")

_BEGIN_RE = re.compile(r"^([ \t]*)# BEGIN SOLUTION[ \t]*$")
_END_RE = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
_OPEN_RE = re.compile(r"^ {0,3}(`{3,}|:{3,})\{solution\}")


class MarkupError(ValueError):
    """A solution marker that is not closed, or closed without being opened."""


def exercise_label(cell: Any) -> str:
    """The exercise label of an autograded cell (``metadata.gradcourse.exercise``)."""
    return cell.get("metadata", {}).get("gradcourse", {}).get("exercise", "exercise")


def stub_code(
    source: str, label: str = "exercise"
) -> tuple[str, list[tuple[int, str]]]:
    """Replace each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region by a stub.

    Returns:
        The stubbed source and, per region, ``(line index of its stub in the stubbed
        source, the removed lines including both markers)``.
    """
    lines = source.split("\n")
    out: list[str] = []
    removed: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        m = _BEGIN_RE.match(lines[i])
        if _END_RE.match(lines[i]):
            raise MarkupError(f"{END!r} without {BEGIN!r} in cell of {label}")
        if not m:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not _END_RE.match(lines[j]):
            if _BEGIN_RE.match(lines[j]):
                raise MarkupError(f"nested {BEGIN!r} in cell of {label}")
            j += 1
        if j == len(lines):
            raise MarkupError(f"{BEGIN!r} without {END!r} in cell of {label}")
        indent = m.group(1)
        removed.append((len(out), "\n".join(lines[i : j + 1])))
        out += [
            f"{indent}{STUB}",
            f'{indent}raise NotImplementedError("Exercise {label}")',
        ]
        i = j + 1
    return "\n".join(out), removed


def unstub_code(source: str, removed: list[tuple[int, str]]) -> str:
    """Inverse of :func:`stub_code`: put each removed region back in place of its stub."""
    lines = source.split("\n")
    for index, text in reversed(removed):
        lines[index : index + 2] = text.split("\n")
    return "\n".join(lines)


def strip_solution_blocks(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Cut every ``{solution}`` directive block (backtick or colon fence) out of markdown.

    A block runs from its opening fence to the first line that closes it: the same fence
    character, at least as many, and nothing else (CommonMark's rule, which MyST follows).
    The blank line before a block goes with it.

    Returns:
        The text without the blocks, and ``(offset in the returned text, removed text)``.
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    removed: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        m = _OPEN_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence = m.group(1)
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j].rstrip("\n")):
            j += 1
        if j == len(lines):
            raise MarkupError(f"unclosed {{solution}} block: {lines[i].strip()!r}")
        block = "".join(lines[i : j + 1])
        if out and out[-1].strip() == "":  # the blank line before the block
            block = out.pop() + block
        removed.append((len("".join(out)), block))
        i = j + 1
    return "".join(out), removed


def restore_solution_blocks(text: str, removed: list[tuple[int, str]]) -> str:
    """Inverse of :func:`strip_solution_blocks`."""
    for offset, block in reversed(removed):
        text = text[:offset] + block + text[offset:]
    return text


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def student_notebook(nb: Any) -> tuple[Any, list[dict[str, Any]]]:
    """The student version of a notebook, and what was removed (for the round trip).

    Returns:
        ``(student notebook, removals)``; each removal is a dict with ``kind``
        (``"code"``, ``"markdown"`` or ``"cell"``), ``index`` (the cell's index in the
        source notebook) and ``removed``.
    """
    student = copy.deepcopy(nb)
    cells = []
    removals: list[dict[str, Any]] = []
    for index, cell in enumerate(student.cells):
        tags = _tags(cell)
        if SOLUTION_CELL_TAG in tags:
            removals.append({"kind": "cell", "index": index, "removed": cell})
            continue
        if cell.cell_type == "code":
            source, regions = stub_code(cell.source, exercise_label(cell))
            if regions:
                removals.append({"kind": "code", "index": index, "removed": regions})
                cell.source = source
            if regions or PUBLIC_CHECK_TAG in tags:
                cell.outputs = []
                cell.execution_count = None
        elif cell.cell_type == "markdown":
            source, blocks = strip_solution_blocks(cell.source)
            if blocks and not source.strip():  # a cell that held only solutions
                removals.append({"kind": "cell", "index": index, "removed": cell})
                continue
            if blocks:
                removals.append({"kind": "markdown", "index": index, "removed": blocks})
                cell.source = source
        cells.append(cell)
    student.cells = cells
    leftovers = [m for m in MARKERS if m in nbformat.writes(student)]
    if leftovers:
        raise MarkupError(f"solution markers left in the student notebook: {leftovers}")
    return student, removals


def reinsert(student: Any, removals: list[dict[str, Any]]) -> Any:
    """Put the removed solutions back into a student notebook (sources, not outputs)."""
    nb = copy.deepcopy(student)
    for r in sorted(
        (r for r in removals if r["kind"] == "cell"), key=lambda r: r["index"]
    ):
        nb.cells.insert(r["index"], copy.deepcopy(r["removed"]))
    for r in removals:
        cell = nb.cells[r["index"]]
        if r["kind"] == "code":
            cell.source = unstub_code(cell.source, r["removed"])
        elif r["kind"] == "markdown":
            cell.source = restore_solution_blocks(cell.source, r["removed"])
    return nb


def toc_files(toc: dict[str, Any]) -> list[str]:
    """Every ``file:`` entry of a ``_toc.yml`` (and its root), in order."""
    files = [toc["root"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def _without_instructor_pages(node: Any) -> Any:
    if isinstance(node, list):
        kept = [_without_instructor_pages(n) for n in node]
        return [
            n
            for n in kept
            if not (isinstance(n, dict) and n.get("file") in INSTRUCTOR_ONLY)
        ]
    if isinstance(node, dict):
        return {k: _without_instructor_pages(v) for k, v in node.items()}
    return node


def student_config(config: dict[str, Any]) -> dict[str, Any]:
    """The student site's ``_config.yml``: no execution, hidden solutions, student links.

    ``student_edition`` in the root ``_config.yml`` is the one place that says where the
    student edition is published (``repository_url``, ``branch``, ``path_to_book``);
    with an empty ``repository_url`` the launch, repository and edit buttons are off.
    """
    config = copy.deepcopy(config)
    settings = config.pop("student_edition", {}) or {}
    config["title"] = f"{config.get('title', '')} (student edition)"
    # Keep the instructor run's outputs (solution cells are already cleared).
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    html = config.setdefault("html", {})
    html["use_edit_page_button"] = False
    url = settings.get("repository_url", "")
    if url:
        config["repository"] = {
            "url": url,
            "branch": settings.get("branch", "main"),
            "path_to_book": settings.get("path_to_book", ""),
        }
    else:
        config.pop("repository", None)
        config["launch_buttons"] = {"notebook_interface": "classic", "thebe": False}
        html["use_repository_button"] = False
        html["use_issues_button"] = False
        html["extra_footer"] = (
            html.get("extra_footer", "")
            + "\nLaunch buttons are off: this edition is not published online.\n"
        )
    return config


def build(out: Path, root: Path = ROOT) -> list[Path]:
    """Write ``out/notebooks`` and the book tree ``out/src``; return the notebooks."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    config = yaml.safe_load((root / "_config.yml").read_text())
    notebooks, src = out / "notebooks", out / "src"
    for folder in (notebooks, src):
        if folder.exists():
            shutil.rmtree(folder)
    notebooks.mkdir(parents=True)
    written = []
    for name in toc_files(toc):
        if name in INSTRUCTOR_ONLY:
            continue
        path = next(
            p for p in (root / f"{name}.ipynb", root / f"{name}.md") if p.exists()
        )
        target = src / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            student, _ = student_notebook(nbformat.read(path, as_version=4))
            nbformat.write(student, target)
            nbformat.write(student, notebooks / path.name)
            written.append(notebooks / path.name)
        else:
            text, _ = strip_solution_blocks(path.read_text())
            target.write_text(text)
    (src / "_toc.yml").write_text(
        yaml.safe_dump(_without_instructor_pages(toc), sort_keys=False)
    )
    (src / "_config.yml").write_text(
        yaml.safe_dump(student_config(config), sort_keys=False)
    )
    # The bibliography, the local Sphinx extensions the config loads, and the site's assets.
    extras = ["references.bib", *(f"scripts/{m}.py" for m in LOCAL_EXTENSIONS)]
    extras += [str(p.relative_to(root)) for p in sorted((root / "_static").glob("*"))]
    for extra in extras:
        (src / extra).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / extra, src / extra)
    shutil.copytree(
        root / "gradcourse",
        src / "gradcourse",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student")
    args = parser.parse_args(argv)
    written = build(args.out)
    print(
        f"{len(written)} student notebooks in {args.out / 'notebooks'}; book source in "
        f"{args.out / 'src'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
