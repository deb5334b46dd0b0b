"""Execute chapters in place, so the committed notebooks carry fresh outputs.

    .venv/bin/python scripts/execute_notebooks.py book/sigmoid.ipynb [...]

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
os.environ.setdefault("PYTHONHASHSEED", "0")


def execute(path: Path, timeout: int = 600) -> float:
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
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        seconds = execute(Path(name))
        print(f"{name}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
