"""The student edition (scripts/student_edition.py): markup, stubs and the round trip.

Built in memory from book/*.ipynb, so these run without `make student`. The site itself
is checked for leaks by tests/test_leaks.py.
"""

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition as se  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def _read(path):
    return nbformat.read(path, as_version=4)


def _autograded(nb):
    return [c for c in nb.cells if se.AUTOGRADED_TAG in c.metadata.get("tags", [])]


@pytest.fixture(params=CHAPTERS, ids=lambda p: p.stem)
def chapter(request):
    return request.param


def test_round_trip_reinserting_solutions_gives_the_source(chapter):
    source = _read(chapter)
    student, removals = se.student_notebook(source)
    assert removals, "nothing was removed"
    back = se.reinsert(student, removals)
    assert [c.cell_type for c in back.cells] == [c.cell_type for c in source.cells]
    assert [c.source for c in back.cells] == [c.source for c in source.cells]
    assert [c.metadata for c in back.cells] == [c.metadata for c in source.cells]


def test_student_notebook_has_stubs_and_no_solution(chapter):
    source = _read(chapter)
    student, _ = se.student_notebook(source)
    text = nbformat.writes(student)
    for marker in se.MARKERS:
        assert marker not in text
    graded = _autograded(student)
    assert len(graded) >= 2, "at least two autograded exercises per chapter"
    for cell in graded:
        assert se.STUB in cell.source and "raise NotImplementedError" in cell.source
        assert cell.outputs == [] and cell.execution_count is None
    for cell in student.cells:
        if se.PUBLIC_CHECK_TAG in cell.metadata.get("tags", []):
            assert cell.outputs == []
    # Everything else keeps the instructor run's outputs (figures included).
    tags = [c.metadata.get("tags", []) for c in student.cells]
    kept = [
        c
        for c, t in zip(student.cells, tags, strict=True)
        if c.cell_type == "code"
        and not {se.AUTOGRADED_TAG, se.PUBLIC_CHECK_TAG} & set(t)
    ]
    assert any(c.outputs for c in kept)


def test_solution_blocks_with_nested_fences_are_cut_whole():
    text = (
        "Intro.\n\n````{exercise} E\n:label: x-ex-a\nDo it.\n````\n\n"
        "````{solution} x-ex-a\n:class: dropdown\nSecret words here.\n\n"
        "```python\nprint('secret code')\n```\n\n```\nstill secret\n```\n````\n\n"
        ":::{solution} x-ex-b\ncolon secret\n:::\nAfter.\n"
    )
    out, removed = se.strip_solution_blocks(text)
    assert "secret" not in out and "Secret" not in out
    assert "Intro." in out and "Do it." in out and "After." in out
    assert se.restore_solution_blocks(out, removed) == text


def test_code_stub_keeps_indentation_and_round_trips():
    source = (
        "def f(x):\n    '''Doc.'''\n"
        "    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n"
    )
    stub, removed = se.stub_code(source, "x-ex-a")
    assert "return 2 * x" not in stub
    assert (
        '    # YOUR CODE HERE\n    raise NotImplementedError("Exercise x-ex-a")' in stub
    )
    assert se.unstub_code(stub, removed) == source


@pytest.mark.parametrize(
    "source",
    [
        "# BEGIN SOLUTION\nx = 1\n",
        "x = 1\n# END SOLUTION\n",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION\n",
    ],
)
def test_broken_markers_are_refused(source):
    with pytest.raises(se.MarkupError):
        se.stub_code(source)


def test_unclosed_solution_block_is_refused():
    with pytest.raises(se.MarkupError):
        se.strip_solution_blocks("````{solution} x\nnever closed\n```\n")


def test_student_config_points_launch_buttons_at_the_student_repository():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    student = se.student_config(config)
    assert student["repository"]["url"] == config["student_edition"]["repository_url"]
    assert student["sphinx"]["config"]["hide_solutions"] is True
    assert student["execute"]["execute_notebooks"] == "off"
    off = se.student_config({**config, "student_edition": {"repository_url": ""}})
    assert "repository" not in off and "binderhub_url" not in off["launch_buttons"]


def test_instructor_pages_stay_out_of_the_student_toc():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    kept = se.toc_files(se._without_instructor_pages(toc))
    assert not set(kept) & set(se.INSTRUCTOR_ONLY)
    assert set(se.toc_files(toc)) - set(kept) <= set(se.INSTRUCTOR_ONLY)


def test_student_exercises_execute_with_only_not_implemented_errors():
    """Every chapter's autograded section, stubs in place, in one kernel.

    The rest of each student notebook is the instructor's, which nbval re-runs; the
    stubs are what differs. Each public check must stop at the stub (it cannot pass).
    """
    first = _read(CHAPTERS[0])
    imports = [c for c in first.cells if c.cell_type == "code"][1]
    nb = nbformat.v4.new_notebook(metadata=first.metadata)
    nb.cells.append(nbformat.v4.new_code_cell(imports.source))
    for path in CHAPTERS:
        student, _ = se.student_notebook(_read(path))
        start = next(
            i
            for i, c in enumerate(student.cells)
            if "autograded-intro" in c.metadata.get("tags", [])
        )
        nb.cells += [c for c in student.cells[start:] if c.cell_type == "code"]
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    assert not [o for o in nb.cells[0].outputs if o.output_type == "error"]
    for cell in nb.cells[1:]:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert all(e.ename == "NotImplementedError" for e in errors), [
            (e.ename, e.evalue) for e in errors
        ]
        if se.PUBLIC_CHECK_TAG in cell.metadata.get("tags", []):
            assert errors, f"a public check passes without an answer:\n{cell.source}"
