"""nbval with numbers compared within a tolerance: committed outputs that hold on any CPU.

nbval 0.11.0 compares every text output of a re-executed notebook with the committed one
character for character. Float32 round-off differs between CPUs (XLA:CPU tunes its code to
the host, OpenBLAS picks kernels at run time), so on another machine the last printed digit
of a trained network's loss moves and strict nbval fails although nothing is wrong.

This plugin keeps nbval as the runner and its comparison as the first word: an output that
matches exactly passes as before. Where nbval finds a difference, the output is compared
again token by token:

- everything that is not a number (words, ``nan``, ``inf``, punctuation, line breaks, the
  MIME keys and the number of outputs, stderr and error names) must be identical; only runs
  of spaces and tabs next to a number may differ (numpy pads columns to the widest number);
- an integer (``4`` in "4 of 5 seeds") is a count and must be identical;
- a decimal number (``1.413``, ``-2.5e-05``) or a percentage (``84%``) may differ by
  :data:`RTOL` relative plus one unit in its last printed digit:
  ``|a - b| <= RTOL * max(|a|, |b|) + unit``, where ``unit`` is the finer of the two printed
  units (``0.001`` for ``1.413``, ``1e-07`` for ``2.50e-05``, ``1`` for ``84%``);
- a cell tagged ``nbval-rtol-X`` (``nbval-rtol-0.2``) uses the relative tolerance ``X``
  instead: for a cell that prints statistics of trained networks (medians over seeds),
  whose measured movement under ``make test-portable`` is larger than round-off. The
  cell asserts its qualitative claims, which hold on every machine.

So ``nan`` never equals ``1.413`` (a word against a number), ``healthy`` never equals
``non-finite``, and ``0.9995`` printed as ``1`` by ``:.3g`` still equals ``0.999``.
CONTRIBUTING.md gives the measurements behind :data:`RTOL`.

``pytest --nbval-strict`` (``make test-strict``) turns the tolerance off: plain nbval, for the
machine that commits outputs. Loaded from the root ``conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile, transform_streams_for_comparison

#: Relative tolerance on a printed decimal number, on top of one unit in its last digit.
RTOL = 0.01

# A number is not part of a word ("float32", "10x64", "3.2s" are words) and not a piece of a
# longer number; a sign belongs to it only where it cannot be a hyphen ("1-10" is 1, -, 10).
_NUMBER = re.compile(
    r"(?<![\w.])(?:(?<![\w)\]])[+-])?"
    r"(?:\d+\.\d+|\.\d+|\d+)(?:[eE][+-]?\d+)?%?"
    r"(?![\w]|\.\d)"
)
# A cell tag such as ``nbval-rtol-0.2`` widens the relative tolerance for that cell only.
_RTOL_TAG = re.compile(r"nbval-rtol-(\d+(?:\.\d+)?)")
_BLANKS = re.compile(r"[ \t]+")


def split_numbers(text: str) -> tuple[list[str], list[str]]:
    """Split ``text`` into the words around its numbers and the numbers themselves.

    Returns ``(words, numbers)`` with ``len(words) == len(numbers) + 1``: ``words[i]`` is the
    text before ``numbers[i]``. Runs of spaces and tabs are collapsed to one space, and removed
    where they touch a number (column padding is not structure).
    """
    words, numbers, start = [], [], 0
    for m in _NUMBER.finditer(text):
        words.append(text[start : m.start()])
        numbers.append(m.group(0))
        start = m.end()
    words.append(text[start:])
    last = len(words) - 1
    cleaned = []
    for i, w in enumerate(words):
        w = _BLANKS.sub(" ", w)
        if i > 0:
            w = w.lstrip(" \t")
        if i < last:
            w = w.rstrip(" \t")
        cleaned.append(w)
    return cleaned, numbers


def last_digit_unit(number: str) -> float:
    """One unit in the last printed digit: ``0.001`` for ``1.413``, ``1e-06`` for ``2.5e-05``."""
    mantissa, _, exponent = number.lower().rstrip("%").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _is_integer(number: str) -> bool:
    """A count: no decimal point, no exponent, no percent sign (``84%`` is a measurement)."""
    return not re.search(r"[.eE%]", number)


def numbers_match(ref: str, test: str, rtol: float = RTOL) -> bool:
    """Whether two printed numbers agree: integers exactly, decimals within tolerance."""
    if _is_integer(ref) and _is_integer(test):
        return int(ref) == int(test)
    if ref.endswith("%") != test.endswith("%"):
        return False
    a, b = float(ref.rstrip("%")), float(test.rstrip("%"))
    if not (math.isfinite(a) and math.isfinite(b)):  # "1e999" overflows to inf
        return a == b
    units = [last_digit_unit(n) for n in (ref, test) if not _is_integer(n)]
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + min(units)


def text_mismatch(ref: str, test: str, rtol: float = RTOL) -> str | None:
    """Why two output texts differ beyond the tolerance, or ``None`` if they agree."""
    ref_words, ref_numbers = split_numbers(ref)
    test_words, test_numbers = split_numbers(test)
    if len(ref_numbers) != len(test_numbers):
        return f"{len(ref_numbers)} numbers in the reference, {len(test_numbers)} now"
    for i, (a, b) in enumerate(zip(ref_words, test_words, strict=True)):
        if a != b:
            where = f"after the number {ref_numbers[i - 1]!r}" if i else "at the start"
            return f"words differ {where}: {a!r} != {b!r}"
    for a, b in zip(ref_numbers, test_numbers, strict=True):
        if not numbers_match(a, b, rtol):
            return f"number {a} became {b} (tolerance {rtol:g} relative + 1 in the last digit)"
    return None


def value_mismatch(ref: Any, test: Any, rtol: float = RTOL) -> str | None:
    """Like :func:`text_mismatch` for one output value; values that are not text must be equal."""
    if isinstance(ref, str) and isinstance(test, str):
        return text_mismatch(ref, test, rtol)
    return None if ref == test else f"{ref!r} != {test!r}"


class TolerantCell(IPyNbCell):
    """A notebook cell whose outputs may differ from the stored ones only in round-off."""

    def compare_outputs(self, test, ref, skip_compare=None):
        if super().compare_outputs(test, ref, skip_compare):
            return True
        exact_report = self.comparison_traceback
        problem = self._tolerant_mismatch(
            test, ref, skip_compare or self.parent.skip_compare
        )
        if problem is None:
            self.comparison_traceback = []
            return True
        self.comparison_traceback = [f"beyond the tolerance: {problem}", *exact_report]
        return False

    def rtol(self) -> float:
        """The cell's relative tolerance: its ``nbval-rtol-X`` tag, else ``--nbval-rtol``."""
        for tag in self.cell.metadata.get("tags", []):
            if m := _RTOL_TAG.fullmatch(tag):
                return float(m.group(1))
        return self.config.nbval_rtol

    def _flatten(self, outputs, skip_compare) -> dict[str, list[Any]]:
        """nbval's view of a cell's outputs: each MIME type or stream name -> its values."""
        flat = defaultdict(list)
        for output in transform_streams_for_comparison(outputs):
            for key, value in output.items():
                if key in skip_compare:
                    continue
                if key == "data":
                    for mime, data in value.items():
                        if mime not in skip_compare:
                            flat[mime].append(self.sanitize(data))
                else:
                    flat[key].append(self.sanitize(value))
        return flat

    def _tolerant_mismatch(self, test, ref, skip_compare) -> str | None:
        test_outs = self._flatten(test, skip_compare)
        ref_outs = self._flatten(ref, skip_compare)
        if set(test_outs) != set(ref_outs):
            return f"output fields {sorted(ref_outs)} != {sorted(test_outs)}"
        for key, ref_values in ref_outs.items():
            if len(ref_values) != len(test_outs[key]):
                return f"{len(ref_values)} outputs of {key!r} stored, {len(test_outs[key])} now"
            for ref_value, test_value in zip(ref_values, test_outs[key], strict=True):
                if problem := value_mismatch(ref_value, test_value, self.rtol()):
                    return f"{key}: {problem}"
        return None


class TolerantNbFile(IPyNbFile):
    """nbval's notebook collector, handing out :class:`TolerantCell` items."""

    def collect(self):
        for cell in super().collect():
            yield TolerantCell.from_parent(
                self,
                name=cell.name,
                cell_num=cell.cell_num,
                cell=cell.cell,
                options=cell.options,
            )


def pytest_addoption(parser):
    group = parser.getgroup("nbval")
    group.addoption(
        "--nbval-strict",
        action="store_true",
        help="compare notebook outputs exactly (plain nbval); by default printed decimal "
        "numbers may differ by a relative tolerance plus one unit in the last digit",
    )
    group.addoption(
        "--nbval-rtol",
        type=float,
        default=RTOL,
        help=f"relative tolerance on printed decimal numbers (default {RTOL})",
    )


def pytest_configure(config):
    config.nbval_rtol = config.getoption("nbval_rtol")
    if config.nbval_rtol < 0:
        raise pytest.UsageError("--nbval-rtol must be >= 0")


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """Swap nbval's collector for the tolerant one, unless ``--nbval-strict``."""
    collected = yield
    if parent.config.getoption("nbval_strict"):
        return collected
    return [
        TolerantNbFile.from_parent(parent, path=file_path)
        if type(node) is IPyNbFile
        else node
        for node in collected
    ]
