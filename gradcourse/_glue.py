"""``gc.glue``: myst-nb's ``glue`` that refuses NaN and Inf.

A glued number is inserted into the chapter's prose, so a NaN there silently turns a
sentence false ("the loss reaches nan"). :func:`glue` raises instead, and the build stops
at the cell that computed it; ``tests/test_notebooks.py`` checks the committed notebooks too.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

_NON_FINITE_TEXT = re.compile(
    r"(?<![\w.])[+-]?(nan|inf|infinity)(?![\w])", re.IGNORECASE
)


def _non_finite(value: Any) -> bool:
    """Whether ``value`` is or contains NaN/Inf (a number, an array, or the text of one)."""
    if isinstance(value, str):
        return bool(_NON_FINITE_TEXT.search(value))
    if isinstance(value, (bool, int)):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 (not array-like: nothing numeric to check)
        return False
    if array.dtype.kind in "fc":
        return not bool(np.all(np.isfinite(array)))
    return False


def glue(name: str, value: Any, display: bool = False) -> None:
    """Glue ``value`` under ``name`` for ``{glue:text}`` in the prose, refusing NaN and Inf.

    Same as ``myst_nb.glue`` (imported on first use, so the package does not need
    myst-nb), except that ``display`` defaults to ``False`` and a value that is NaN or Inf,
    an array containing one, or a string such as ``"nan"`` raises.

    Args:
        name: the glue key, unique in the chapter.
        value: what to insert: round it first (``round(x, 3)``, ``f"{x:.1e}"``).
        display: also show the value in the cell's output.

    Raises:
        ValueError: if ``value`` is or contains NaN or Inf.
    """
    if _non_finite(value):
        raise ValueError(
            f"glue({name!r}, ...) got a non-finite value {value!r}: the prose would state it "
            "as a result; fix the computation or the claim"
        )
    from myst_nb import glue as myst_glue

    myst_glue(name, value, display=display)
