"""The gated recurrent networks chapter's claims, on other seeds and smaller sizes."""

import jax
import numpy as np
import optax
import pytest

from gradcourse import recurrent as rec
from gradcourse.experiments import gated_recurrent_networks as gated


def test_a_larger_forget_bias_keeps_more_of_the_carousel():
    k_cell, k_x = jax.random.split(jax.random.key(5))
    xs = jax.random.normal(k_x, (200, 4))
    paths = gated.forget_bias_paths(
        k_cell, rec.Cell("lstm", 16, 4), (0.0, 1.0, 3.0), xs
    )
    assert all(p.shape == (201, 16) for p in paths.values())
    per_step = [10 ** np.median(paths[b][0] / 200) for b in (0.0, 1.0, 3.0)]
    assert per_step[0] < per_step[1] < per_step[2] < 1
    with pytest.raises(ValueError, match="LSTM"):
        gated.forget_bias_paths(k_cell, rec.Cell("elman", 16, 4), (1.0,), xs)


@pytest.fixture(scope="module")
def small_maps():
    key = jax.random.key(9)
    models = tuple(
        gated.Model(f"LSTM, b_f = {b:g}", rec.Cell("lstm", 8, 8), rec.RecurrentInit(forget_bias=b))
        for b in (0.0, 1.0)
    )  # fmt: skip
    sweep = gated.memory_sweep(
        key, models, (5,), seeds=2, steps=20, length=10, optimizer=optax.adam(1e-2),
        n_train=64, n_test=64, batch_size=16,
    )  # fmt: skip
    maps = gated.time_grid_maps(
        sweep, models, key, untrained=(("GRU", rec.Cell("gru", 8, 8)),),
        cell_state=("LSTM, b_f = 1",),
    )  # fmt: skip
    return maps


def test_time_grid_maps_hold_every_requested_map(small_maps):
    assert list(small_maps) == [
        "LSTM, b_f = 0", "LSTM, b_f = 1", "LSTM, b_f = 1 (cell c)", "GRU",
    ]  # fmt: skip
    assert small_maps["GRU"][1] is None
    for pair in small_maps.values():
        assert all(g.shape == (11, 11) for g in pair if g is not None)


def test_lag_decay_reads_the_subdiagonal_and_an_open_gate_passes_more(small_maps):
    table = gated.lag_decay(small_maps, lag=5)
    assert len(table["GRU"]) == 1 and len(table["LSTM, b_f = 0"]) == 2
    g = small_maps["LSTM, b_f = 1"][0]
    assert table["LSTM, b_f = 1"][0] == pytest.approx(
        np.median([g[t + 5, t] for t in range(6)])
    )
    assert table["LSTM, b_f = 1"][0] > table["LSTM, b_f = 0"][0]  # at initialisation
    with pytest.raises(ValueError, match="lag"):
        gated.lag_decay(small_maps, lag=11)
