"""Execute chapters in place, so the committed notebooks carry fresh outputs.

    .venv/bin/python scripts/execute_notebooks.py book/sigmoid.ipynb [...]
    .venv/bin/python scripts/execute_notebooks.py --dry-run book/*.ipynb   # time only

Runs each notebook top to bottom in a fresh kernel of this interpreter with
JAX_PLATFORMS=cpu, prints its wall time, and refuses to save a notebook whose outputs
include an error or anything on stderr (nbval compares stderr too). Cell metadata that
changes every run (execution timings) is dropped to keep diffs small.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("PYTHONHASHSEED", "0")


BUDGET_S = 20.0  # every chapter must run well under this on 2 cores


def execute(path: Path, timeout: int = 600, save: bool = True) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    problems = []
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"code cell {i}: {out.ename}: {out.evalue}")
            if out.output_type == "stream" and out.name == "stderr":
                problems.append(f"code cell {i}: stderr: {out.text[:200]!r}")
    if problems:
        raise SystemExit(f"{path}: not saved\n  " + "\n  ".join(problems))
    if save:
        nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    save = "--dry-run" not in argv
    names = [a for a in argv if a != "--dry-run"]
    total = 0.0
    for name in names:
        seconds = execute(Path(name), save=save)
        total += seconds
        flag = "" if seconds < BUDGET_S else f"  OVER the {BUDGET_S:.0f} s budget"
        print(f"{name}: executed in {seconds:.1f} s{flag}", flush=True)
    print(
        f"total: {total:.1f} s for {len(names)} chapters ({'saved' if save else 'not saved'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
