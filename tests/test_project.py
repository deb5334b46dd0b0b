"""The project's own files agree with each other: pins, environment, book configuration."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(requirements):
    pins = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", req.strip())
        assert m, f"not pinned exactly: {req!r}"
        pins[m.group(1).lower()] = m.group(2)
    return pins


def test_every_dependency_is_pinned_exactly():
    project = _pyproject()["project"]
    _pins(project["dependencies"])
    for reqs in project["optional-dependencies"].values():
        _pins(reqs)


def test_jupyter_book_is_version_1():
    pins = _pins(_pyproject()["project"]["optional-dependencies"]["book"])
    major = int(pins["jupyter-book"].split(".")[0])
    assert major == 1, "Jupyter Book 2 is a different tool (mystmd); stay on 1.x"


def test_environment_yml_matches_pyproject():
    project = _pyproject()["project"]
    expected = _pins(project["dependencies"])
    for extra in ("book", "test"):
        expected.update(_pins(project["optional-dependencies"][extra]))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section
    got = _pins([r for r in pip_section if r != "-e ."])
    assert got == expected
    assert "python=3.11" in env["dependencies"]


def test_lock_file_agrees_with_pins():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            lock[name.lower().replace("_", "-")] = version
    project = _pyproject()["project"]
    pins = _pins(project["dependencies"])
    for extra in ("book", "test"):
        pins.update(_pins(project["optional-dependencies"][extra]))
    for name, version in pins.items():
        assert lock.get(name.replace("_", "-")) == version, name


def test_book_config_keeps_non_chapters_out_and_buttons_on():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    for pattern in ("tests", "gradcourse", "_build", ".*", "**/.*", "README.md"):
        assert pattern in config["exclude_patterns"], pattern
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["execute"]["timeout"] >= 300
    assert config["execute"]["raise_on_error"] is True
    assert config["sphinx"]["recursive_update"] is True
    assert config["repository"]["path_to_book"] == ""
    assert config["launch_buttons"]["colab_url"] and config["launch_buttons"]["binderhub_url"]
    for ext in ("sphinx_exercise", "sphinx_proof"):
        assert ext in config["sphinx"]["extra_extensions"]
    # Listing MyST extensions replaces the defaults: keep the ones the chapters use.
    for ext in ("dollarmath", "amsmath", "colon_fence", "substitution"):
        assert ext in config["parse"]["myst_enable_extensions"]


def test_toc_lists_every_chapter_once():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [
        ch["file"] for part in toc["parts"] for ch in part["chapters"]
    ]
    assert len(files) == len(set(files))
    on_disk = {
        str(p.relative_to(ROOT).with_suffix(""))
        for p in (ROOT / "book").iterdir()
        if p.suffix in (".ipynb", ".md")
    }
    assert on_disk == set(files)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    first_section = "\n## ".join(readme.split("\n## ")[:2])  # title and "Two commands"
    assert "make test" in first_section and "make book" in first_section
    lines = [ln.split("#")[0].strip() for ln in ci.splitlines()]
    commands = [ln for ln in lines if ln.startswith("make ")]
    assert commands[:3] == ["make test", "make test-portable", "make book"]
    assert "make test-portable" in readme
    # Then the student edition and the leak test over it (issue 16).
    assert "make student" in commands[3:] and "tests/test_leaks.py" in ci
