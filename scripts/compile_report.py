"""Where a chapter's time goes: wall time and XLA compile time per cell, top compiles.

    .venv/bin/python scripts/compile_report.py book/NAME.ipynb [TOP]

Runs the chapter's code cells in this process (no kernel, figures drawn with Agg and not
rendered to PNG, so the total is a few seconds under `scripts/execute_notebooks.py`),
with ``jax_log_compiles`` on, and prints: the total, the summed XLA compile and
trace/lower time, the slowest cells with the compile time inside each, and the TOP
(default 15) functions by compile time with how often each was compiled. A jitted
function compiled many times means a new shape, a new static argument or a fresh closure
each call; many small eager operations (``multiply``, ``dynamic_slice``) mean code outside
``jit`` that could be one jitted function.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import logging
import os
import re
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

PATTERN = re.compile(
    r"Finished (XLA compilation of|tracing|jaxpr to MLIR module conversion) "
    r"(?:jit\()?([^ )]+)\)?.* in ([0-9.]+) sec"
)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.stats: dict = collections.defaultdict(lambda: [0, 0.0])

    def emit(self, record: logging.LogRecord) -> None:
        m = PATTERN.match(record.getMessage())
        if m:
            kind = "xla" if m.group(1).startswith("XLA") else "trace"
            entry = self.stats[(kind, m.group(2))]
            entry[0] += 1
            entry[1] += float(m.group(3))

    def total(self, kind: str) -> float:
        return sum(v[1] for k, v in self.stats.items() if k[0] == kind)


def main(path: str, top: int = 15) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [
        "".join(c["source"])
        for c in json.load(open(path))["cells"]
        if c["cell_type"] == "code"
    ]
    collector = _Collector()
    import jax

    jax.config.update("jax_log_compiles", True)
    for name in (
        "jax._src.dispatch",
        "jax._src.interpreters.pxla",
        "jax._src.compiler",
    ):
        log = logging.getLogger(name)
        log.addHandler(collector)
        log.propagate = False
    os.chdir(os.path.dirname(path) or ".")
    namespace: dict = {"__name__": "__main__"}
    per_cell = []
    start = time.perf_counter()
    for i, src in enumerate(cells):
        src = "\n".join(
            line
            for line in src.splitlines()
            if not line.lstrip().startswith(("%", "!"))
        )
        before, t0 = collector.total("xla"), time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(src, f"<cell {i}>", "exec"), namespace)
        plt.close("all")
        first = src.strip().splitlines()[0][:60] if src.strip() else ""
        per_cell.append(
            (time.perf_counter() - t0, collector.total("xla") - before, i, first)
        )
    total = time.perf_counter() - start
    n = sum(v[0] for k, v in collector.stats.items() if k[0] == "xla")
    print(
        f"{path}: {total:.1f} s, XLA compile {collector.total('xla'):.1f} s "
        f"({n} compiles), trace and lower {collector.total('trace'):.1f} s"
    )
    for wall, xla, i, first in sorted(per_cell, reverse=True)[:8]:
        print(f"  code cell {i:3d} {wall:6.2f} s (compile {xla:5.2f} s)  {first}")
    ranked = sorted(((v[1], v[0], k) for k, v in collector.stats.items()), reverse=True)
    for seconds, count, (kind, name) in ranked[:top]:
        print(f"    {seconds:6.2f} s {count:4d}x {kind:5s} {name}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15)
