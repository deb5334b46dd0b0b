"""The hidden checks (grading/) and the grader (scripts/grade.py) on fixture submissions.

The fixtures are built from the student edition of one small chapter section (imports and
the autograded exercises), so a submission runs in seconds. Time limits are short and can
be raised on a slow machine with GC_GRADE_CELL_TIMEOUT / GC_GRADE_HARD_LIMIT.
"""

import csv
import hashlib
import inspect
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import nbformat
import numpy as np
import pytest

import gradcourse as gc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import grade  # noqa: E402
import student_edition as se  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
FIXTURE_CHAPTER = "sigmoid"
CELL_TIMEOUT = float(os.environ.get("GC_GRADE_CELL_TIMEOUT", "15"))
HARD_LIMIT = float(os.environ.get("GC_GRADE_HARD_LIMIT", "120"))


def _exercises(path):
    """(label, solution source) of each autograded cell of a source notebook."""
    nb = nbformat.read(path, as_version=4)
    return [
        (c.metadata["gradcourse"]["exercise"], c.source)
        for c in nb.cells
        if se.AUTOGRADED_TAG in c.metadata.get("tags", [])
    ]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_autograded_exercise_has_a_hidden_check(path):
    labels = [label for label, _ in _exercises(path)]
    checks = grade.load_checks(path.stem)
    assert len(labels) >= 2 and sorted(labels) == sorted(checks)
    assert all(spec["points"] >= 1 for spec in checks.values())


def _wrong(fn):
    """The same answer, slightly off (a float 1% too large, another string)."""

    def perturb(value):
        if isinstance(value, str):
            return "healthy" if value != "healthy" else "vanishing"
        return jax.tree.map(lambda v: v * 1.01 + 1e-3, value)

    return lambda *args, **kwargs: perturb(fn(*args, **kwargs))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_hidden_checks_pass_the_solution_and_fail_wrong_answers(path):
    checks = grade.load_checks(path.stem)
    for label, source in _exercises(path):
        check = checks[label]["check"]
        names = list(inspect.signature(check).parameters)
        solved = {"jax": jax, "jnp": jnp, "np": np, "gc": gc}
        exec(source, solved)
        check(*[solved[n] for n in names])  # the solution passes
        with pytest.raises(AssertionError):
            check(*[_wrong(solved[n]) for n in names])
        stubbed = {"jax": jax, "jnp": jnp, "np": np, "gc": gc}
        exec(se.stub_code(source, label)[0], stubbed)
        with pytest.raises(NotImplementedError):
            check(*[stubbed[n] for n in names])


def _small_student_notebook():
    """Imports and the autograded section of the fixture chapter's student edition."""
    student, removals = se.student_notebook(
        nbformat.read(ROOT / "book" / f"{FIXTURE_CHAPTER}.ipynb", as_version=4)
    )
    solved = se.reinsert(student, removals)
    start = next(
        i
        for i, c in enumerate(student.cells)
        if "autograded-intro" in c.metadata.get("tags", [])
    )
    code = [i for i, c in enumerate(student.cells) if c.cell_type == "code"]
    keep = [code[1], *range(start, len(student.cells))]  # the imports, the exercises

    def cut(nb):
        out = nbformat.v4.new_notebook(metadata=nb.metadata)
        out.cells = [nb.cells[i] for i in keep]
        return out

    return cut(student), cut(solved)


def _with_cell(nb, where, source):
    nb = nbformat.from_dict(nb)
    index = next(
        i
        for i, c in enumerate(nb.cells)
        if se.AUTOGRADED_TAG in c.metadata.get("tags", [])
    )
    if where == "replace-first-exercise":
        nb.cells[index].source = source
    else:
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def write_fixtures(subs):
    """Eight fixture students in ``subs``: one per way a submission can go."""
    blank, solved = _small_student_notebook()
    first = next(
        c for c in solved.cells if se.AUTOGRADED_TAG in c.metadata.get("tags", [])
    )
    raising = first.source.replace("# BEGIN SOLUTION", 'raise ValueError("oops")', 1)
    # Writes to its own folder, to guessed relative paths and to $SUBMISSIONS.
    attack = (
        "import glob, os\n"
        "targets = glob.glob('*.ipynb') + ['../complete/sigmoid.ipynb', 'sigmoid.ipynb']\n"
        "root = os.environ.get('SUBMISSIONS')\n"
        "if root:\n"
        "    targets += glob.glob(os.path.join(root, '*', '*.ipynb'))\n"
        "for path in targets:\n"
        "    try:\n"
        "        with open(path, 'w') as f:\n"
        "            f.write('overwritten by a student')\n"
        "    except OSError:\n"
        "        pass"
    )
    submissions = {
        "complete": solved,
        "unanswered": blank,
        "raises": _with_cell(solved, "replace-first-exercise", raising),
        "loops": _with_cell(solved, "replace-first-exercise", "while True:\n    pass"),
        "writes": _with_cell(solved, "before", attack),
        "dies": _with_cell(solved, "before", "import os\n\nos._exit(1)"),
    }
    for student, nb in submissions.items():
        (subs / student).mkdir()
        nbformat.write(nb, subs / student / f"{FIXTURE_CHAPTER}.ipynb")
    (subs / "malformed").mkdir()
    (subs / "malformed" / f"{FIXTURE_CHAPTER}.ipynb").write_text('{"cells": [ not json')
    (subs / "absent").mkdir()
    (subs / "absent" / "notes.txt").write_text("forgot to hand in")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the fixture students once; return (rows, report folder, hashes)."""
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("grades")
    write_fixtures(subs)
    hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*.*")}
    os.environ["SUBMISSIONS"] = str(subs)  # what `make grade SUBMISSIONS=...` exports
    try:
        rows = grade.grade(
            subs, out, [FIXTURE_CHAPTER], grade.Limits(CELL_TIMEOUT, HARD_LIMIT), jobs=2
        )
    finally:
        del os.environ["SUBMISSIONS"]
    return rows, out, hashes


def _by_student(rows):
    table = {}
    for r in rows:
        table.setdefault(r["student"], []).append(r)
    return table


def test_grader_statuses_and_points(graded):
    rows, _, _ = graded
    table = _by_student(rows)
    labels = list(grade.load_checks(FIXTURE_CHAPTER))
    assert sorted(table) == sorted(
        [
            "complete",
            "unanswered",
            "raises",
            "loops",
            "writes",
            "dies",
            "malformed",
            "absent",
        ]
    )
    for student, student_rows in table.items():
        assert [r["exercise"] for r in student_rows] == labels, student
    status = {s: [r["status"] for r in rs] for s, rs in table.items()}
    assert status["complete"] == ["passed", "passed"]
    assert sum(r["points"] for r in table["complete"]) == sum(
        r["max_points"] for r in table["complete"]
    )
    assert status["unanswered"] == ["unanswered", "unanswered"]
    assert sum(r["points"] for r in table["unanswered"]) == 0
    assert status["raises"] == ["error", "passed"]
    assert "ValueError: oops" in table["raises"][0]["message"]
    assert status["loops"] == ["timeout", "passed"]
    assert "stopped" in table["loops"][0]["message"]
    assert status["writes"] == ["passed", "passed"]
    assert status["dies"] == ["error", "error"]
    assert "kernel died" in table["dies"][0]["message"]
    assert status["malformed"] == ["malformed", "malformed"]
    assert "not a readable notebook" in table["malformed"][0]["message"]
    assert status["absent"] == ["missing", "missing"]


def test_grader_writes_the_csv_and_the_report(graded):
    rows, out, _ = graded
    with open(out / "grades.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == grade.COLUMNS
        written = list(reader)
    assert len(written) == len(rows)
    assert {r["status"] for r in written} <= set(grade.STATUSES)
    page = (out / "index.html").read_text()
    for student in ("complete", "loops", "malformed"):
        assert student in page
    assert (out / "executed" / "complete" / f"{FIXTURE_CHAPTER}.ipynb").exists()


def test_grader_never_modifies_a_submission(graded):
    _, _, hashes = graded
    for path, digest in hashes.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
