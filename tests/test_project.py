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
    assert (
        config["launch_buttons"]["colab_url"]
        and config["launch_buttons"]["binderhub_url"]
    )
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
    assert commands[:4] == [
        "make test",
        "make test-portable",
        "make book",
        "make test-browser",
    ]
    assert "make test-portable" in readme
    # Then the student edition and the leak test over it (issue 16).
    assert "make student" in commands[4:] and "tests/test_leaks.py" in ci


def _project_files():
    """Every file of the repository (tracked or new, not ignored), as paths."""
    import subprocess

    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [
        ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()
    ]


def test_repository_address_is_written_only_in_config():
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    owner_name = repo["url"].rstrip("/").split("github.com/")[1]  # "owner/name"
    assert repo["branch"] and re.fullmatch(r"[\w.-]+/[\w.-]+", owner_name)
    spelled = [
        str(path.relative_to(ROOT))
        for path in _project_files()
        if owner_name.lower() in path.read_text(errors="ignore").lower()
    ]
    assert spelled == ["_config.yml"]


def test_every_chapter_has_the_scripts_colab_cell():
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "add_colab_cell", ROOT / "scripts" / "add_colab_cell.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    expected = script.colab_source()
    assert f'"gradcourse=={_pyproject()["project"]["version"]}"' in expected
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        first = next(c for c in cells if c["cell_type"] == "code")
        assert "".join(first["source"]) == expected, (
            f"{path.name}: run add_colab_cell.py"
        )


def test_publish_workflow_runs_ci_and_deploys_the_book():
    workflow = yaml.safe_load(
        (ROOT / ".github" / "workflows" / "publish.yml").read_text()
    )
    build = workflow["jobs"]["build"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "bash .ci/run" in runs
    uploads = [
        s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", "")
    ]
    assert uploads and uploads[0]["with"]["path"] == "_site"
    assert "cp -r _build/html _site" in runs
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any("deploy-pages" in s.get("uses", "") for s in deploy["steps"])
