"""Grade a folder of student submissions with the hidden checks in ``grading/``.

    .venv/bin/python scripts/grade.py SUBMISSIONS [--out _build/grades]
        [--chapters sigmoid,tanh] [--cell-timeout 60] [--hard-limit 600]

``SUBMISSIONS`` holds one folder per student, each with ``<chapter>.ipynb`` files (the
student edition's notebooks, filled in). For every student and chapter the grader

1. reads the file once (its SHA-256 is taken from those bytes) and parses it; a file that
   is not a valid notebook gets ``malformed`` rows, a chapter the student did not hand in
   ``missing`` rows;
2. copies it into a fresh temporary folder (the kernel's working directory; the
   submissions folder is not in the kernel's environment), clears its outputs and appends
   the hidden checks of ``grading/<chapter>.py``, one cell per exercise;
3. runs it with nbclient in a child process: each cell has ``--cell-timeout`` seconds and
   is interrupted when it runs over (the next cells still run), and the whole submission
   has ``--hard-limit`` seconds, after which the child process and the kernel are killed
   (a kernel that ignores the interrupt cannot hang the grader); a kernel that dies is
   reported, not retried;
4. reads each check's result from its own cell (one line tagged with a per-run nonce).

It writes ``<out>/grades.csv`` (student, chapter, exercise, status, points, max_points,
message; status one of passed, failed, unanswered, error, timeout, malformed, missing),
``<out>/index.html`` (a summary table and every executed submission) and
``<out>/executed/<student>/<chapter>.ipynb``. Afterwards it checks that no submission
file changed (and exits with status 2 if one did).

Student code is untrusted: it runs with the grader's permissions. Run the grader in a
throw-away container or as a throw-away user (see the instructor page of the book).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATUSES = (
    "passed",
    "failed",
    "unanswered",
    "error",
    "timeout",
    "malformed",
    "missing",
)
COLUMNS = (
    "student",
    "chapter",
    "exercise",
    "status",
    "points",
    "max_points",
    "message",
)
GRADER_TAG = "grader"

# The setup cell the grader appends: the chapter's hidden checks and the function that
# runs one of them against the student's names and prints one tagged JSON line.
_SETUP = """\
# Appended by the gradcourse grader: hidden checks of {chapter}.
import inspect as _gc_inspect
import json as _gc_json

_gc_checks = {{"__name__": "gc_grading"}}
exec(compile({source!r}, "grading/{chapter}.py", "exec"), _gc_checks)


def _gc_grade(label, nonce):
    spec = _gc_checks["EXERCISES"][label]
    names = list(_gc_inspect.signature(spec["check"]).parameters)
    missing = [n for n in names if n not in globals()]
    status, message = "passed", ""
    if missing:
        status, message = "unanswered", f"not defined: {{', '.join(missing)}}"
    else:
        try:
            spec["check"](*[globals()[n] for n in names])
        except NotImplementedError:
            status, message = "unanswered", "raises NotImplementedError (the stub)"
        except AssertionError as e:
            status, message = "failed", str(e) or "a hidden check failed"
        except KeyboardInterrupt:
            status, message = "timeout", "the hidden check was interrupted (endless loop?)"
        except Exception as e:  # noqa: BLE001 - any error of the student's code
            status, message = "error", f"{{type(e).__name__}}: {{e}}"
    line = {{"exercise": label, "status": status, "message": message[:300]}}
    print(f"GCGRADE {{nonce}} {{_gc_json.dumps(line)}}")
"""


@dataclass(frozen=True)
class Limits:
    """Time limits in seconds: per cell (interrupted) and per submission (killed)."""

    cell_timeout: float = 60.0
    hard_limit: float = 600.0


def load_checks(chapter: str, grading: Path = ROOT / "grading") -> dict[str, Any]:
    """The ``EXERCISES`` dict of ``grading/<chapter>.py`` (label -> check, points)."""
    path = grading / f"{chapter}.py"
    spec = importlib.util.spec_from_file_location(f"gc_grading_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXERCISES


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kernel_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "SUBMISSION" not in k.upper()}
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def prepare(
    nb: Any, chapter: str, checks: dict[str, Any], nonce: str, grading: Path
) -> Any:
    """Clear the outputs and append the setup cell and one cell per hidden check."""
    import nbformat

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    source = (grading / f"{chapter}.py").read_text()
    cells = [_SETUP.format(chapter=chapter, source=source)]
    cells += [f"_gc_grade({label!r}, {nonce!r})" for label in checks]
    for text in cells:
        cell = nbformat.v4.new_code_cell(text)
        cell.metadata["tags"] = [GRADER_TAG]
        nb.cells.append(cell)
    return nb


def _worker(src: str, dst: str, cell_timeout: float, pidfile: str, run_dir: str) -> int:
    """Child process: execute ``src`` with nbclient and save it to ``dst``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb,
        timeout=int(max(1, cell_timeout)),
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": run_dir}},
    )

    def save_pid(**_: Any) -> None:
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid:
            Path(pidfile).write_text(str(pid))

    client.on_notebook_start = save_pid
    client.on_cell_executed = lambda **_: nbformat.write(nb, dst)
    status = 0
    try:
        client.execute()
    except DeadKernelError:
        status = 3
    nbformat.write(nb, dst)
    return status


def execute(path: Path, limits: Limits, run_dir: Path) -> tuple[Any, str]:
    """Run a prepared notebook in a child process; return (notebook, problem or "")."""
    import nbformat

    dst, pidfile = path.with_suffix(".executed.ipynb"), path.with_suffix(".kernel.pid")
    cmd = [sys.executable, __file__, "--worker", str(path), str(dst),
           str(limits.cell_timeout), str(pidfile), str(run_dir)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=path.parent, env=_kernel_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    problem = ""
    try:
        _, stderr = proc.communicate(timeout=limits.hard_limit)
        if proc.returncode == 3:
            problem = "the kernel died (out of memory, or the code exited the process)"
        elif proc.returncode != 0:
            problem = f"the grader's runner failed: {stderr.decode()[-300:]}"
    except subprocess.TimeoutExpired:
        problem = (
            f"killed after the hard limit of {limits.hard_limit:g} s per submission"
        )
        for pid in _pids(proc, pidfile):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.wait()
    nb = nbformat.read(dst, as_version=4) if dst.exists() else nbformat.read(path, 4)
    return nb, problem


def _pids(proc: subprocess.Popen, pidfile: Path) -> list[int]:
    pids = [proc.pid]
    if pidfile.exists() and pidfile.read_text().strip().isdigit():
        pids.append(int(pidfile.read_text()))
    return pids


def results(nb: Any, checks: dict[str, Any], nonce: str, limits: Limits, problem: str):
    """One row per exercise from the executed notebook."""
    found: dict[str, dict[str, str]] = {}
    cell_errors: dict[str, tuple[str, str]] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        label = cell.metadata.get("gradcourse", {}).get("exercise")
        for out in cell.get("outputs", []):
            if (
                GRADER_TAG in cell.metadata.get("tags", [])
                and out.get("name") == "stdout"
            ):
                for line in out.get("text", "").splitlines():
                    if line.startswith(f"GCGRADE {nonce} "):
                        row = json.loads(line.split(" ", 2)[2])
                        found[row["exercise"]] = row
            if label and out.output_type == "error" and label not in cell_errors:
                cell_errors[label] = (out.ename, out.evalue)
    rows = []
    for label, spec in checks.items():
        row = found.get(label)
        status, message = (row["status"], row["message"]) if row else ("", "")
        if status != "passed" and label in cell_errors:
            ename, evalue = cell_errors[label]
            if ename == "KeyboardInterrupt":
                status = "timeout"
                message = f"the exercise cell ran over {limits.cell_timeout:g} s and was stopped"
            elif ename != "NotImplementedError":
                status, message = (
                    "error",
                    f"the exercise cell raised {ename}: {evalue}"[:300],
                )
        if not status:
            status = "timeout" if "hard limit" in problem else "error"
            message = problem or "the hidden check did not run"
        points = spec["points"] if status == "passed" else 0
        rows.append((label, status, points, spec["points"], message))
    return rows


def grade_one(path: Path, chapter: str, limits: Limits, grading: Path):
    """Grade one submission file; return (rows, executed notebook or None)."""
    import nbformat

    checks = load_checks(chapter, grading)
    try:
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # noqa: BLE001 - anything unreadable is malformed
        message = f"not a readable notebook: {type(e).__name__}: {str(e)[:200]}"
        return [
            (label, "malformed", 0, s["points"], message) for label, s in checks.items()
        ], None
    nonce = secrets.token_hex(8)
    # Two fresh folders: the grader's files, and an empty working folder for the kernel.
    with (
        tempfile.TemporaryDirectory(prefix="gc-grade-") as work,
        tempfile.TemporaryDirectory(prefix="gc-run-") as run_dir,
    ):
        copy = Path(work) / path.name
        nbformat.write(prepare(nb, chapter, checks, nonce, grading), copy)
        executed, problem = execute(copy, limits, Path(run_dir))
    return results(executed, checks, nonce, limits, problem), executed


def grade(
    submissions: Path,
    out: Path,
    chapters: list[str] | None = None,
    limits: Limits = Limits(),  # noqa: B008 - frozen
    grading: Path = ROOT / "grading",
    jobs: int = 1,
) -> list[dict[str, Any]]:
    """Grade every ``<student>/<chapter>.ipynb`` and write the CSV and HTML report."""
    students = sorted(p for p in submissions.iterdir() if p.is_dir())
    if chapters is None:  # every chapter that someone handed in and that has checks
        handed = {f.stem for s in students for f in s.glob("*.ipynb")}
        chapters = sorted(c for c in handed if (grading / f"{c}.py").exists())
    before = {p: sha256(p) for p in submissions.rglob("*") if p.is_file()}
    rows: list[dict[str, Any]] = []
    executed: dict[tuple[str, str], Any] = {}
    out.mkdir(parents=True, exist_ok=True)

    def one(job: tuple[Path, str]) -> tuple[list[tuple], Any]:
        student, chapter = job
        path = student / f"{chapter}.ipynb"
        if not path.is_file():
            checks = load_checks(chapter, grading)
            message = f"no file {chapter}.ipynb"
            return [
                (k, "missing", 0, s["points"], message) for k, s in checks.items()
            ], None
        return grade_one(path, chapter, limits, grading)

    jobs_list = [(s, c) for s in students for c in chapters]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for (student, chapter), (found, nb) in zip(
            jobs_list, pool.map(one, jobs_list), strict=True
        ):
            if nb is not None:
                executed[(student.name, chapter)] = nb
            for values in found:
                row = dict(zip(COLUMNS, (student.name, chapter, *values), strict=True))
                rows.append(row)
    changed = [str(p) for p, h in before.items() if not p.exists() or sha256(p) != h]
    write_report(rows, executed, out)
    if changed:
        raise SystemExit(f"SUBMISSION FILES CHANGED DURING GRADING: {changed}")
    return rows


def write_report(rows: list[dict[str, Any]], executed: dict, out: Path) -> None:
    import nbformat

    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    for (student, chapter), nb in executed.items():
        (out / "executed" / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / "executed" / student / f"{chapter}.ipynb")
    totals: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        t = totals.setdefault((r["student"], r["chapter"]), [0, 0])
        t[0] += r["points"]
        t[1] += r["max_points"]
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Grades</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
        ".passed{background:#dfd}.failed,.error,.timeout,.malformed{background:#fdd}"
        ".unanswered,.missing{background:#eee}pre{background:#f6f6f6;padding:.5em;"
        "overflow-x:auto}.err{background:#fee}</style></head><body><h1>Grades</h1>",
        "<h2>Totals</h2><table><tr><th>student</th><th>chapter</th><th>points</th></tr>",
    ]
    for (student, chapter), (p, m) in totals.items():
        parts.append(
            f"<tr><td>{e(student)}</td><td>{e(chapter)}</td><td>{p} / {m}</td></tr>"
        )
    parts.append("</table><h2>Exercises</h2><table><tr>")
    parts += [f"<th>{c}</th>" for c in COLUMNS] + ["</tr>"]
    for r in rows:
        cells = "".join(f"<td>{e(str(r[c]))}</td>" for c in COLUMNS)
        parts.append(f"<tr class='{e(r['status'])}'>{cells}</tr>")
    parts.append("</table><h2>Executed submissions</h2>")
    for (student, chapter), nb in executed.items():
        parts.append(
            f"<h3 id='{e(student)}-{e(chapter)}'>{e(student)} / {e(chapter)}</h3>"
        )
        parts.append(render(nb))
    parts.append("</body></html>")
    (out / "index.html").write_text("\n".join(parts))


def render(nb: Any) -> str:
    """A notebook as HTML: nbconvert's exporter if installed, else sources and text."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        pass
    else:
        body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
        return f"<div class='notebook'>{body}</div>"
    e, parts = html.escape, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(f"<div class='md'><pre>{e(cell.source)}</pre></div>")
            continue
        if cell.cell_type != "code":
            continue
        parts.append(f"<pre><code>{e(cell.source)}</code></pre>")
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(f"<pre>{e(out.text)}</pre>")
            elif out.output_type == "error":
                parts.append(f"<pre class='err'>{e(out.ename)}: {e(out.evalue)}</pre>")
            elif "image/png" in out.get("data", {}):
                parts.append(
                    f"<img src='data:image/png;base64,{out.data['image/png']}'>"
                )
            elif "text/plain" in out.get("data", {}):
                parts.append(f"<pre>{e(out.data['text/plain'])}</pre>")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        src, dst, timeout, pidfile, run_dir = argv[1:6]
        return _worker(src, dst, float(timeout), pidfile, run_dir)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "grades")
    parser.add_argument(
        "--chapters", default="", help="comma-separated (default: all found)"
    )
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout)
    parser.add_argument("--hard-limit", type=float, default=Limits.hard_limit)
    parser.add_argument("--grading", type=Path, default=ROOT / "grading")
    parser.add_argument(
        "--jobs", type=int, default=1, help="submissions run in parallel"
    )
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(
            f"SUBMISSIONS must be a folder of student folders: {args.submissions}"
        )
    start = time.perf_counter()
    chapters = [c for c in args.chapters.split(",") if c] or None
    limits = Limits(args.cell_timeout, args.hard_limit)
    rows = grade(args.submissions, args.out, chapters, limits, args.grading, args.jobs)
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    print(f"graded {len(rows)} exercises in {time.perf_counter() - start:.1f} s: "
          + ", ".join(f"{n} {s}" for s, n in counts.items() if n))  # fmt: skip
    print(f"report: {args.out / 'grades.csv'} and {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
