"""The shared argument checks name the argument and the valid range."""

import math

import numpy as np
import pytest

from gradcourse import _checks


def test_positive_int():
    assert _checks.positive_int("n", 3) == 3
    for bad in (0, -2, 1.5, True, None, "2"):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            _checks.positive_int("n", bad)


def test_positive_and_non_negative():
    assert _checks.positive("lr", 0.1) == 0.1
    assert _checks.non_negative("eps", 0) == 0.0
    for bad in (0, -1, math.inf, math.nan, "x"):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            _checks.positive("lr", bad)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        _checks.non_negative("eps", -1e-9)


def test_in_range_ends():
    assert _checks.in_range("p", 0.0, 0.0, 1.0) == 0.0
    with pytest.raises(ValueError, match=r"p must be in \(0.0, 1.0\], got 0.0"):
        _checks.in_range("p", 0.0, 0.0, 1.0, closed="right")
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\)"):
        _checks.in_range("p", 1.0, 0.0, 1.0, closed="left")
    assert _checks.in_range("p", np.float32(0.5), 0.0, 1.0, closed="neither") == 0.5


def test_one_of_and_ndim():
    assert _checks.one_of("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"mode must be one of \['a', 'b'\], got 'c'"):
        _checks.one_of("mode", "c", ("b", "a"))
    _checks.ndim("x", np.ones((2, 3)), 2)
    with pytest.raises(
        ValueError, match=r"x must have 1 or 2 dimensions, got shape \(\)"
    ):
        _checks.ndim("x", np.float32(1), (1, 2))
