"""No solution anywhere in the student edition; the same check finds them in the sources.

Fingerprints of the solutions: every run of 8 consecutive words (math, markup and code
punctuation dropped) of each removed `{solution}` block and `# BEGIN SOLUTION` region that
does not also occur in public text (the student notebooks, the package, the pages), the
marker strings themselves, and the
SHA-256 of every image output of a cleared cell. The check reads every file under a
folder: HTML as text without tags, notebooks through their cells, everything else as
text, images by hash.

`make student` builds `_build/student`; `.ci/run` builds it and runs this file with
GC_REQUIRE_STUDENT_BUILD=1, so a missing build fails there instead of skipping. The
negative controls run the same check on the source notebooks (always) and on the
instructor build `_build/html` (when present): it must find the solutions there.
"""

import base64
import hashlib
import html
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition as se  # noqa: E402

STUDENT = ROOT / "_build" / "student"
INSTRUCTOR_HTML = ROOT / "_build" / "html"
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
SHINGLE = 8
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "{solution}")


def _words(text):
    # LaTeX commands and reST roles render differently in each format: drop them.
    text = re.sub(r"\\[A-Za-z]+|:[a-z]+:", " ", text)
    return re.findall(r"[a-z_][a-z0-9_]*|\d+", text.lower())


def _shingles(text):
    w = _words(text)
    if len(w) < SHINGLE:
        return {" ".join(w)} if len(w) >= 4 else set()
    return {" ".join(w[i : i + SHINGLE]) for i in range(len(w) - SHINGLE + 1)}


def _cell_texts(nb):
    for cell in nb.cells:
        yield cell.source
        for out in cell.get("outputs", []):
            if "text" in out:
                yield out.text
            yield from (
                v for k, v in out.get("data", {}).items() if k.startswith("text/")
            )


def fingerprints(paths=CHAPTERS):
    """(solution shingles, image hashes) of the source notebooks."""
    secret, public, images = set(), set(), set()
    for path in paths:
        source = nbformat.read(path, as_version=4)
        student, removals = se.student_notebook(source)
        for r in removals:
            parts = (
                [t for _, t in r["removed"]]
                if r["kind"] != "cell"
                else [r["removed"].source]
            )
            for text in parts:
                for line in ("BEGIN SOLUTION", "END SOLUTION"):
                    text = text.replace(f"# {line}", " ")
                secret |= _shingles(text)
        for text in _cell_texts(student):
            public |= _shingles(text)
        for src_cell, cell in zip(source.cells, student.cells, strict=False):
            if src_cell.get("outputs") and not cell.get("outputs"):
                for out in src_cell.outputs:
                    for key in ("image/png", "image/jpeg"):
                        if key in out.get("data", {}):
                            images.add(
                                hashlib.sha256(
                                    base64.b64decode(out.data[key])
                                ).hexdigest()
                            )
    # Text the student edition publishes anyway: the package (shown by literalinclude and
    # autodoc) and the pages. A phrase that is there is not a solution's secret.
    for path in [*(ROOT / "gradcourse").rglob("*.py"), *(ROOT / "book").glob("*.md")]:
        if str(path.relative_to(ROOT).with_suffix("")) not in se.INSTRUCTOR_ONLY:
            public |= _shingles(path.read_text())
    return secret - public, images


def _file_text(path):
    raw = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            return "\n".join(_cell_texts(nbformat.reads(raw.decode(), as_version=4)))
        except (ValueError, json.JSONDecodeError, UnicodeDecodeError):
            pass
    text = raw.decode("utf-8", errors="ignore")
    if path.suffix in (".html", ".htm"):
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def leaks(folder, secret, images):
    """Every (file, what) under ``folder`` that holds a solution fingerprint."""
    found = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() in images:
            found.append((path, "a solution's image"))
        if path.suffix in (
            ".png",
            ".jpg",
            ".jpeg",
            ".gif",
            ".woff",
            ".woff2",
            ".ttf",
            ".ico",
        ):
            continue
        text = _file_text(path)
        found += [
            (path, f"marker {m!r}")
            for m in MARKERS
            if m in raw.decode("utf-8", "ignore")
        ]
        hits = _shingles(text) & secret
        if hits:
            found.append(
                (path, f"{len(hits)} solution phrases, e.g. {sorted(hits)[0]!r}")
            )
    return found


@pytest.fixture(scope="module")
def prints():
    secret, images = fingerprints()
    assert len(secret) > 100, "too few fingerprints to mean anything"
    return secret, images


def test_check_finds_every_chapters_solutions_in_the_sources(prints):
    """Negative control: the source notebooks are full of solutions."""
    found = leaks(ROOT / "book", *prints)
    flagged = {path.name for path, _ in found}
    assert flagged >= {p.name for p in CHAPTERS}
    assert any("marker" in what for _, what in found)
    assert any("solution phrases" in what for _, what in found)


def test_check_finds_solutions_in_the_instructor_build(prints):
    """Negative control on a real build: `_build/html` (make book) holds solutions."""
    if not (INSTRUCTOR_HTML / "index.html").exists():
        pytest.skip("no instructor build (make book)")
    found = leaks(INSTRUCTOR_HTML, *prints)
    assert any(p.suffix == ".html" for p, _ in found), "pages"
    assert any("_sources" in p.parts for p, _ in found), "download sources"


def _student_build():
    if not (STUDENT / "html" / "index.html").exists():
        if os.environ.get("GC_REQUIRE_STUDENT_BUILD"):
            pytest.fail("no student build: run `make student` first")
        pytest.skip("no student build (make student)")
    return STUDENT


def test_student_edition_leaks_nothing(prints):
    found = leaks(_student_build(), *prints)
    assert not found, "\n".join(
        f"{p.relative_to(ROOT)}: {what}" for p, what in found[:20]
    )


def test_student_edition_is_complete():
    student = _student_build()
    names = {p.name for p in (student / "notebooks").glob("*.ipynb")}
    assert names == {p.name for p in CHAPTERS}
    sources = student / "html" / "_sources" / "book"
    assert {p.name for p in sources.glob("*.ipynb")} == names, "download buttons"
    assert (student / "html" / "searchindex.js").exists()
    assert not (student / "html" / ".doctrees").exists()
    assert not list((student / "html").rglob("instructor*.html"))


def test_student_launch_buttons_open_student_notebooks():
    import yaml

    student = _student_build()
    settings = yaml.safe_load((ROOT / "_config.yml").read_text())["student_edition"]
    repo = settings["repository_url"].removeprefix("https://github.com/")
    page = (student / "html" / "book" / "sigmoid.html").read_text()
    launches = re.findall(r'href="(https://(?:colab|mybinder)[^"]+)"', page)
    if not repo:
        assert not launches
        return
    assert launches, "no launch buttons"
    assert all(repo in url for url in launches), launches
