"""Time every code cell of a chapter (nothing is saved), slowest first.

    .venv/bin/python scripts/profile_notebook.py book/NAME.ipynb

For finding what to cut when a chapter runs over its budget: JAX compiles (a new jit, a
new `gc.train.fit` configuration, a new shape) usually dominate, not the arithmetic.
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


class TimedClient(NotebookClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.times: list[tuple[float, int, str]] = []

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        start = time.perf_counter()
        result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        if cell.cell_type == "code":
            first = (
                cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
            )
            self.times.append((time.perf_counter() - start, cell_index, first))
        return result


def main(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    client = TimedClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    start = time.perf_counter()
    client.execute()
    total = time.perf_counter() - start
    print(f"{path}: {total:.1f} s in total (kernel start included)")
    for seconds, index, first in sorted(client.times, reverse=True)[:12]:
        print(f"  {seconds:6.2f} s  cell {index:3d}  {first}")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        main(name)
