"""gc.glue: myst-nb's glue that refuses NaN and Inf."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc
from gradcourse._glue import _non_finite


@pytest.mark.parametrize(
    "value",
    [math.nan, -math.inf, np.float32("nan"), jnp.array([1.0, jnp.inf]), "nan", "-inf",
     "loss NaN", np.array([0.5, np.nan])],
)  # fmt: skip
def test_glue_refuses_non_finite(value):
    with pytest.raises(ValueError, match="non-finite"):
        gc.glue("x", value)


@pytest.mark.parametrize(
    "value",
    [1.413, 3, True, "3e-12", "activation", "infinite width", "nanometre", np.float32(0.5),
     jnp.array([1.0, 2.0]), np.array(["a", "b"]), None, {"a": 1}],
)  # fmt: skip
def test_non_finite_accepts_finite_values_and_words(value):
    assert not _non_finite(value)


def test_glue_passes_finite_values_to_myst_nb(monkeypatch):
    import myst_nb

    seen = []
    monkeypatch.setattr(myst_nb, "glue", lambda *a, **k: seen.append((a, k)))
    gc.glue("final_loss", 0.806)
    assert seen == [(("final_loss", 0.806), {"display": False})]
