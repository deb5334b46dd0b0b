"""How far each printed number moves when a chapter is re-executed here.

    XLA_FLAGS=--xla_backend_optimization_level=3 OPENBLAS_CORETYPE=Sandybridge \
        .venv/bin/python scripts/portability_report.py book/*.ipynb

Executes each notebook in a fresh kernel (nothing saved) and compares every code cell's text
outputs with the committed ones as the tolerant nbval comparison does
(``tests/nbval_tolerant.py``). For each cell whose numbers moved it prints the largest relative
change beyond one unit in the last printed digit, the tolerance that cell would need, and any
change in words or counts, so the tolerance in CONTRIBUTING.md rests on measurements.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.nbval_tolerant import RTOL, last_digit_unit, split_numbers  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("PYTHONHASHSEED", "0")

TEXT_KEYS = ("text/plain", "text/html", "text/markdown", "text/latex")


def cell_texts(cell) -> list[str]:
    """The compared text outputs of a cell: stdout/stderr coalesced, then each text MIME value."""
    streams: dict[str, str] = {}
    texts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            streams[out.name] = streams.get(out.name, "") + out.text
        elif out.output_type in ("display_data", "execute_result"):
            for mime, value in out.data.items():
                if mime in TEXT_KEYS or mime.startswith(
                    "application/papermill.record/"
                ):
                    texts.append(f"{mime}: {value}")
        elif out.output_type == "error":
            texts.append(f"error: {out.ename}: {out.evalue}")
    return [f"{name}: {text}" for name, text in sorted(streams.items())] + texts


def needed_rtol(ref: str, test: str) -> tuple[float, str | None]:
    """The relative tolerance (beyond one last-digit unit) that makes ``test`` equal ``ref``."""
    ref_words, ref_numbers = split_numbers(ref)
    test_words, test_numbers = split_numbers(test)
    if ref_words != test_words or len(ref_numbers) != len(test_numbers):
        return float("inf"), "words or number of numbers changed"
    worst, what = 0.0, None
    for a, b in zip(ref_numbers, test_numbers, strict=True):
        if a == b:
            continue
        if not any(c in a + b for c in ".eE"):
            return float("inf"), f"count {a} became {b}"
        units = [last_digit_unit(n) for n in (a, b) if any(c in n for c in ".eE")]
        excess = abs(float(a) - float(b)) - min(units)
        rel = max(excess, 0.0) / max(abs(float(a)), abs(float(b)))
        if rel >= worst:
            worst, what = rel, f"{a} -> {b}"
    return worst, what


def report(path: Path) -> None:
    stored = nbformat.read(path, as_version=4)
    fresh = nbformat.read(path, as_version=4)
    NotebookClient(
        fresh,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    code = [
        (a, b)
        for a, b in zip(stored.cells, fresh.cells, strict=True)
        if a.cell_type == "code"
    ]
    moved = 0
    for i, (ref_cell, new_cell) in enumerate(code):
        ref, new = cell_texts(ref_cell), cell_texts(new_cell)
        if ref == new:
            continue
        moved += 1
        if len(ref) != len(new):
            print(f"  {path.stem} cell {i}: number of outputs {len(ref)} -> {len(new)}")
            continue
        for r, n in zip(ref, new, strict=True):
            if r != n:
                rel, what = needed_rtol(r, n)
                verdict = "ok" if rel <= RTOL else "FRAGILE"
                print(
                    f"  {path.stem} cell {i}: needs rtol {rel:.2g} ({what}) {verdict}"
                )
    print(f"{path.stem}: {moved} of {len(code)} code cells moved", flush=True)


if __name__ == "__main__":
    print(
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS')!r} "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}"
    )
    for name in sys.argv[1:]:
        report(Path(name))
