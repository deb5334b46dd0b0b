"""Checks of the committed chapters that nbval does not make.

nbval re-runs every code cell and compares outputs; these tests check the rest of the
contract: every cell was executed and stored, nothing stored is an error or stderr, the
prose states no number that a cell did not compute (glue), every chapter has its overview
and at least three exercises with solutions, and randomness comes from explicit keys.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def _cells(path, kind):
    cells = json.loads(path.read_text())["cells"]
    return [c for c in cells if c["cell_type"] == kind]


def _src(cell):
    return "".join(cell["source"])


def _prose_without_math_and_code(text):
    """Markdown with code, math, roles, directive options, links and labels removed."""
    text = re.sub(
        r"(`{3,}|:{3,})[\s\S]*?\1", lambda m: _keep_directive_body(m.group(0)), text
    )
    text = re.sub(r"\$\$[\s\S]*?\$\$", " ", text)
    text = re.sub(r"\\begin\{(\w+\*?)\}[\s\S]*?\\end\{\1\}", " ", text)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)  # roles: {glue:text}`k`, {cite}`k`
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"^\s*:\w[\w-]*:.*$", " ", text, flags=re.M)  # directive options
    text = re.sub(r"\(\w[\w-]*\)=", " ", text)  # MyST targets
    text = re.sub(r"https?://\S+", " ", text)
    return text


def _keep_directive_body(block):
    # Keep the prose inside {exercise}/{solution}/{note}/... directives, drop code blocks.
    first = block.split("\n", 1)[0]
    if re.match(r"^(`{3,}|:{3,})\{(?!code-cell|math|code|literalinclude)", first):
        body = block.split("\n", 1)[1] if "\n" in block else ""
        body = body.rsplit("\n", 1)[0]
        return _prose_without_math_and_code(body)
    return " "


@pytest.fixture(params=CHAPTERS, ids=lambda p: p.name)
def chapter(request):
    return request.param


def test_there_are_chapters():
    assert len(CHAPTERS) >= 3


def test_every_code_cell_is_executed_without_errors_or_stderr(chapter):
    for i, cell in enumerate(_cells(chapter, "code")):
        if not _src(cell).strip():
            continue
        assert cell.get("execution_count") is not None, (
            f"code cell {i} was never executed"
        )
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"code cell {i} stores an error"
            assert out.get("name") != "stderr", f"code cell {i} stores stderr output"


def test_prose_states_no_number_that_is_not_glued(chapter):
    offenders = []
    for cell in _cells(chapter, "markdown"):
        prose = _prose_without_math_and_code(_src(cell))
        for m in re.finditer(
            r"(?<![\w.])\d+\.\d+(?![\w.])|\d+(\.\d+)?\s?%|\d[eE]-?\d", prose
        ):
            offenders.append(
                prose[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ")
            )
    assert not offenders, "numbers typed into the prose (glue them):\n" + "\n".join(
        offenders
    )


def _glued_keys(chapter) -> set[str]:
    """The keys the executed chapter really glued (from its outputs; see _glued_values), so
    keys built with f-strings are checked too."""
    return {name for _, name, _ in _glued_values(chapter)}


def test_glue_references_are_defined(chapter):
    glued = _glued_keys(chapter)
    for cell in _cells(chapter, "markdown"):
        for key in re.findall(r"\{glue(?::\w+)?\}`([^`:]+)", _src(cell)):
            if "::" in key:  # a key glued in another document
                continue
            assert key.strip() in glued, f"glue key {key!r} is used but never glued"


def test_glued_keys_are_found_in_outputs(chapter):
    """Negative control for the test above: every key a cell glues with a literal name is
    among the recorded keys (so an empty record cannot pass the reference check)."""
    literal = set()
    for cell in _cells(chapter, "code"):
        literal |= set(re.findall(r"glue\(\s*[\"']([^\"']+)[\"']", _src(cell)))
    assert literal <= _glued_keys(chapter)


def test_overview_and_exercises_with_solutions(chapter):
    text = "\n".join(_src(c) for c in _cells(chapter, "markdown"))
    assert re.search(r"^## Overview", text, re.M), "no '## Overview' section"
    assert re.search(r"learning objectives|you will", text, re.I), (
        "no learning objectives"
    )
    exercises = re.findall(r"^[`:]{3,}\{exercise\}(.*)$\n:label: (\S+)", text, re.M)
    solutions = re.findall(r"^[`:]{3,}\{solution\} (\S+)", text, re.M)
    assert len(exercises) >= 3, "fewer than 3 exercises"
    labels = [label for _, label in exercises]
    assert sorted(labels) == sorted(solutions), (
        "every exercise needs exactly one solution"
    )
    assert any("predict" in title.lower() for title, _ in exercises), (
        'no "predict, then run" exercise'
    )


def test_randomness_comes_from_explicit_keys(chapter):
    code = "\n".join(_src(c) for c in _cells(chapter, "code"))
    assert not re.search(
        r"np\.random\.|numpy\.random|^import random|^from random", code, re.M
    )
    assert re.search(r"jax\.random\.(key|PRNGKey)\(", code), "no root key"


def test_exercise_labels_are_unique_across_the_book():
    seen = {}
    for path in CHAPTERS:
        text = "\n".join(_src(c) for c in _cells(path, "markdown"))
        for label in re.findall(r"^:label: (\S+)", text, re.M):
            assert label not in seen, f"{label} in {path.name} and {seen[label]}"
            seen[label] = path.name


def test_first_cells_install_for_colab_and_set_up(chapter):

    code = [_src(c) for c in _cells(chapter, "code")]
    assert code[0].startswith("# Colab / hosted notebooks:"), (
        "no Colab install cell first"
    )
    imports = code[1]
    # gc.setup(): flags, compilation cache and plot style in one call, before any JAX
    # operation; no XLA boilerplate in a chapter.
    assert "gc.setup()" in imports, "the imports cell does not call gc.setup()"
    assert "XLA_FLAGS" not in imports and "import os" not in imports
    jax_ops = re.search(r"^(?!import|from|gc\.setup|#|\s*$).*jax\.", imports, re.M)
    assert not jax_ops or imports.index("gc.setup()") < jax_ops.start()


def _glued_values(path):
    """(code cell, glue name, stored text) for every glued value in a committed chapter."""
    for i, cell in enumerate(_cells(path, "code")):
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            for mime, value in out.get("data", {}).items():
                if mime.endswith("text/plain"):
                    yield i, name, "".join(value)


def test_no_glued_value_is_nan_or_inf(chapter):
    from gradcourse._glue import _non_finite

    bad = [f"cell {i}: {name} = {text}" for i, name, text in _glued_values(chapter)
           if _non_finite(text)]  # fmt: skip
    assert not bad, "glued values that are not finite numbers:\n" + "\n".join(bad)


def test_glued_values_are_found():
    # myst-nb stores glue as display data with metadata.scrapbook.name and MIME types under
    # application/papermill.record/: make sure the check above sees them.
    found = [v for path in CHAPTERS for v in _glued_values(path)]
    assert len(found) > 50
    assert all(isinstance(text, str) for _, _, text in found)


def test_wider_tolerance_only_where_claims_are_asserted(chapter):
    # A cell tagged nbval-rtol-X prints statistics of trained networks that move more than
    # round-off between machines (CONTRIBUTING.md); it must assert what the prose claims.
    for i, cell in enumerate(_cells(chapter, "code")):
        for tag in cell.get("metadata", {}).get("tags", []):
            if m := re.fullmatch(r"nbval-rtol-(\d+(?:\.\d+)?)", tag):
                where = f"code cell {i}: {tag}"
                assert float(m.group(1)) <= 0.5, f"{where} is not a tolerance"
                assert "assert " in _src(cell), f"{where} without an assert"
