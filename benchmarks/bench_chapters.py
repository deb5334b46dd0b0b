"""What the chapters' compile-fast XLA flags buy: each chapter's code run with XLA's
default flags and with ``gradcourse.COMPILE_FAST_XLA_FLAGS``, side by side.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_chapters.py [NAME ...]``).
Not a test: it prints, for every chapter, the wall time of its code and the part of it
spent in XLA compilation (``scripts/compile_report.py``, one fresh process per run, no
kernel and no PNG rendering), under both settings, and the ratios. ``BENCH_CHAPTERS``
(comma-separated names) selects chapters.

The flags turn off XLA's newer MLIR fusion emitters on the CPU and lower LLVM's
optimisation level from 2 to 1. A chapter compiles dozens of small programs and runs each
for milliseconds, so compile time is most of its run time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import gradcourse

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r": ([0-9.]+) s, XLA compile ([0-9.]+) s \((\d+) compiles\)")


def measure(chapter: Path, flags: str) -> tuple[float, float, int]:
    """(wall s, XLA compile s, compiles) of one chapter's code under ``flags``."""
    # The chapters set the flags with os.environ.setdefault, so an XLA_FLAGS that is
    # present (even empty) wins: "" means XLA's defaults.
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile_report.py"), str(chapter), "0"],
        capture_output=True, text=True, env=env, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    wall, compile_s, count = LINE.search(out).groups()
    return float(wall), float(compile_s), int(count)


def main(names: list[str]) -> None:
    chapters = (
        [ROOT / "book" / f"{n.removesuffix('.ipynb')}.ipynb" for n in names]
        if names
        else sorted((ROOT / "book").glob("*.ipynb"))
    )
    print(f"compile-fast flags: {gradcourse.COMPILE_FAST_XLA_FLAGS}")
    print(f"load avg {os.getloadavg()[0]:.1f} at start; times in seconds")
    header = (
        f"{'chapter':34} | {'default':>7} {'compile':>7} | {'fast':>7} {'compile':>7}"
        f" | {'ratio':>5} {'compile':>7}"
    )
    print(header + "\n" + "-" * len(header))
    totals = [0.0, 0.0]
    for path in chapters:
        d_wall, d_comp, _ = measure(path, "")
        f_wall, f_comp, n = measure(path, gradcourse.COMPILE_FAST_XLA_FLAGS)
        totals[0] += d_wall
        totals[1] += f_wall
        print(
            f"{path.stem:34} | {d_wall:7.1f} {d_comp:7.1f} | {f_wall:7.1f} {f_comp:7.1f}"
            f" | {f_wall / d_wall:5.2f} {f_comp / d_comp:7.2f}   ({n} compiles)"
        )
    print(f"all chapters: {totals[0]:.1f} s with XLA's defaults, {totals[1]:.1f} s fast "
          f"({totals[1] / totals[0]:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    env_names = [n for n in os.environ.get("BENCH_CHAPTERS", "").split(",") if n]
    main(sys.argv[1:] or env_names)
