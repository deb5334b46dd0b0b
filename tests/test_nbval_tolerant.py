"""The tolerant notebook comparison: numbers move within round-off, words never do."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nbval_tolerant import (
    RTOL,
    last_digit_unit,
    numbers_match,
    split_numbers,
    text_mismatch,
    value_mismatch,
)


def test_text_mismatch_last_digit_change_passes():
    assert (
        text_mismatch(
            "ReLU: healthy, final loss 1.413", "ReLU: healthy, final loss 1.414"
        )
        is None
    )


def test_text_mismatch_changed_word_fails():
    problem = text_mismatch(
        "ReLU: healthy, final loss 1.413", "ReLU: non-finite, final loss 1.413"
    )
    assert problem and "healthy" in problem


def test_text_mismatch_nan_never_equals_a_finite_number():
    assert text_mismatch("final loss 1.413", "final loss nan")
    assert text_mismatch("final loss nan", "final loss 1.413")
    assert text_mismatch("grad norm inf", "grad norm 3.2e+38")
    assert text_mismatch("final loss nan", "final loss nan") is None


def test_numbers_match_relative_tolerance_on_top_of_the_last_digit():
    assert numbers_match("1.413", "1.414")  # one unit in the last digit
    assert numbers_match("100.0", "100.9")  # within RTOL of 100
    assert not numbers_match("1.413", "1.45")  # 2.6 % is not round-off
    assert not numbers_match("0.63", "0.55")  # the He accuracy of issue 12
    assert numbers_match("0.63", "0.55", rtol=0.2)


def test_numbers_match_sign_counts():
    assert not numbers_match("-0.5", "0.5")
    assert numbers_match("-0.000", "0.000")
    assert not numbers_match("-0.002", "0.002")
    words, numbers = split_numbers("x = -0.5 and +2.0")
    assert numbers == ["-0.5", "+2.0"]


def test_numbers_match_exponent_notation():
    assert last_digit_unit("2.50e-05") == pytest.approx(1e-7)
    assert last_digit_unit("1.23e+03") == pytest.approx(10.0)
    assert numbers_match("2.50e-05", "2.51e-05")
    assert not numbers_match("2.50e-05", "2.50e-06")
    assert numbers_match("1.23e+03", "1230.4")
    assert split_numbers("norm 3.1e-32 at depth 50")[1] == ["3.1e-32", "50"]


def test_numbers_match_integers_are_counts_and_exact():
    assert text_mismatch("4 of 5 seeds diverged", "5 of 5 seeds diverged")
    assert text_mismatch("diverged at step 137", "diverged at step 138")
    assert text_mismatch("4 of 5 seeds diverged", "4 of 5 seeds diverged") is None


def test_numbers_match_integer_against_decimal_uses_the_decimal_digit():
    # f"{x:.3g}" prints 0.9996 as "1" and 0.9994 as "0.999"
    assert numbers_match("1", "0.999")
    assert not numbers_match("1", "0.97")


def test_split_numbers_leaves_identifiers_and_ranges_alone():
    words, numbers = split_numbers("float32 10x64 net, layers 1-10, v0.10.2, 3.5s")
    assert numbers == ["1", "10"]
    assert "float32 10x64" in words[0] and "v0.10.2, 3.5s" in words[-1]


def test_text_mismatch_table_structure_is_exact():
    ref = "depth | loss\n10 | 0.512\n20 | 0.731\n"
    assert text_mismatch(ref, "depth | loss\n10 | 0.513\n20 | 0.730\n") is None
    assert text_mismatch(ref, "depth | loss\n10 | 0.512\n")  # a row fewer
    assert text_mismatch(
        ref, "depth | loss\n10 | 0.512 | 0.731\n20\n"
    )  # rows regrouped
    assert text_mismatch(ref, "depth   loss\n10 | 0.512\n20 | 0.731\n")


def test_text_mismatch_column_padding_is_not_structure():
    assert text_mismatch(
        "[ 0.12 -0.5 ]", "[-0.12  -0.5 ]"
    )  # sign flipped: fails on the number
    assert text_mismatch("[0.120  0.5]", "[0.121 0.5]") is None


def test_value_mismatch_compares_non_text_exactly():
    assert value_mismatch({"a": 1}, {"a": 1}) is None
    assert value_mismatch({"a": 1.0}, {"a": 1.001})


def test_rtol_is_documented_in_contributing():
    text = (Path(__file__).resolve().parents[1] / "CONTRIBUTING.md").read_text()
    assert f"{RTOL:g}" in text or f"{RTOL:.0%}" in text


def _notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    """Write a notebook whose cells print ``code``'s output but store ``stored``."""
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "execution_count": i + 1,
                "metadata": {},
                "source": code,
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": stored}
                ],
            }
            for i, (code, stored) in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(nb))


def _nbval(tmp_path: Path, *options: str) -> str:
    plugin_dir = Path(__file__).resolve().parent
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "nbval_tolerant",
            "--nbval",
            "--nbval-current-env",
        ]
        + [
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
            f"--rootdir={tmp_path}",
            *options,
            "nb.ipynb",
        ],
        cwd=tmp_path,
        env={
            "PYTHONPATH": str(plugin_dir),
            "PATH": "/usr/bin:/bin",
            "JAX_PLATFORMS": "cpu",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run.stdout + run.stderr


def test_plugin_under_nbval_tolerates_round_off_only(tmp_path):
    _notebook(
        tmp_path / "nb.ipynb",
        [
            ('print("final loss 1.414")', "final loss 1.413\n"),
            ('print("final loss nan")', "final loss 1.413\n"),
            ('print("non-finite, loss 1.413")', "healthy, loss 1.413\n"),
            ('print("3 of 5 seeds")', "4 of 5 seeds\n"),
            ('print("median accuracy 0.86")', "median accuracy 0.91\n"),
        ],
    )
    nb = json.loads((tmp_path / "nb.ipynb").read_text())
    nb["cells"][4]["metadata"]["tags"] = [
        "nbval-rtol-0.1"
    ]  # 0.05 of 0.91 is within 10%
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    tolerant = _nbval(tmp_path)
    for cell in (0, 4):
        assert f"PASSED nb.ipynb::Cell {cell}" in tolerant, tolerant
    for cell in (1, 2, 3):
        assert f"FAILED nb.ipynb::Cell {cell}" in tolerant, tolerant
    assert "beyond the tolerance" in tolerant
    strict = _nbval(tmp_path, "--nbval-strict")
    assert "FAILED nb.ipynb::Cell 0" in strict, strict


def test_numbers_match_percentages_are_measurements():
    assert split_numbers("84% of a layer's units")[1] == ["84%"]
    assert numbers_match("84%", "85%")  # one unit in the last digit
    assert not numbers_match("84%", "80%")
    assert numbers_match("84%", "80%", rtol=0.05)
    assert not numbers_match("84%", "84")
