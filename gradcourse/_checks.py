"""Argument validation shared by the public functions.

Every public function rejects bad input with a ``ValueError`` that names the argument and
the valid range, before JAX turns it into a shape error three calls deeper. The checks run
at trace time on Python values and static shapes, so they cost nothing inside ``jit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an integer >= 1, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def positive(name: str, value: object) -> float:
    """Return ``value`` if it is a finite real number > 0, else raise ``ValueError``."""
    if not _is_real(value) or not (0 < float(value) < math.inf):  # type: ignore[arg-type]
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def non_negative(name: str, value: object) -> float:
    """Return ``value`` if it is a finite real number >= 0, else raise ``ValueError``."""
    if not _is_real(value) or not (0 <= float(value) < math.inf):  # type: ignore[arg-type]
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def in_range(
    name: str, value: object, low: float, high: float, *, closed: str = "both"
) -> float:
    """Return ``value`` if it lies in the interval [low, high] (ends set by ``closed``).

    ``closed`` is one of ``"both"``, ``"left"``, ``"right"``, ``"neither"``.
    """
    lo_ok = {"both": True, "left": True, "right": False, "neither": False}[closed]
    hi_ok = {"both": True, "left": False, "right": True, "neither": False}[closed]
    if _is_real(value):
        v = float(value)  # type: ignore[arg-type]
        if (v > low or (lo_ok and v == low)) and (v < high or (hi_ok and v == high)):
            return v
    left, right = ("[" if lo_ok else "("), ("]" if hi_ok else ")")
    raise ValueError(f"{name} must be in {left}{low}, {high}{right}, got {value!r}")


def one_of(name: str, value: object, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise ``ValueError``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value  # type: ignore[return-value]


def ndim(name: str, array: object, expected: int | Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``array`` has the expected number of dimensions."""
    allowed = (expected,) if isinstance(expected, int) else tuple(expected)
    got = getattr(array, "ndim", None)
    if got not in allowed:
        shape = getattr(array, "shape", None)
        want = " or ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must have {want} dimensions, got shape {shape}")


def finite(name: str, value: object) -> float:
    """Return ``value`` if it is a finite real number, else raise ``ValueError``."""
    if not _is_real(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def unit_interval(name: str, value: object) -> float:
    """Return ``value`` if it lies in [0, 1], else raise ``ValueError``."""
    return in_range(name, value, 0.0, 1.0)


def boolean(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def variance(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0; a traced value
    (inside ``jit`` or ``vmap``) passes unchecked."""
    if isinstance(value, jax.core.Tracer):
        return
    non_negative(name, float(value))  # type: ignore[arg-type]


def if_number(name: str, value: object, check: Callable[[str, object], float]) -> None:
    """Apply ``check`` to a hyper-parameter given as a Python number; arrays (possibly
    traced or learnable) pass through unchecked."""
    if isinstance(value, (bool, int, float)):
        check(name, value)


def _is_real(value: object) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
