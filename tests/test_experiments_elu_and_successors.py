"""The ELU chapter's claims, on other seeds, inputs and sizes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

ex = gc.experiments.elu_and_successors


@pytest.fixture(scope="module")
def xs():
    return gc.data.digits(jax.random.key(11)).x_test[256:384]


def test_mean_shift_elu_stays_closer_to_zero(xs):
    runs = ex.mean_shift(jax.random.key(12), xs, sizes=ex.Sizes(10, 64, seeds=3))
    relu = np.asarray(runs["relu"].measured.mean)
    elu = np.asarray(runs["elu"].measured.mean)
    assert relu.shape == elu.shape == (3, 10)
    assert (np.abs(elu) < np.abs(relu)).mean() > 0.9
    assert runs["relu"].gain == pytest.approx(2**0.5)
    from_mean_q, per_input = ex.relu_first_layer_mean(xs)
    assert per_input < from_mean_q  # Jensen
    assert abs(np.median(relu[:, 0]) - per_input) < 0.03  # the per-input prediction


def test_selu_runs_converge_to_mean_zero_variance_one():
    starts = [(0.0, 0.5), (0.5, 3.0), (-1.0, 1.0)]
    sizes = ex.Sizes(depth=30, width=128, seeds=3)
    runs = ex.selu_runs(jax.random.key(13), jax.random.key(14), starts, sizes)
    dev_mean, dev_var, first_var = ex.selu_tail_deviation(runs, last=10)
    assert dev_mean < 0.1 and dev_var < 0.15
    assert max(first_var) - min(first_var) > 1  # they started far apart
    for run in runs:  # the moment map predicts the fixed point too
        assert abs(float(run.theory.var[-1]) - 1) < 0.05


def test_dip_and_peak_mish_dips_deepest_and_peaks_lowest():
    x = jnp.linspace(-6.0, 6.0, 60_001)
    dips = {n: ex.dip_and_peak(n, x) for n in ("gelu", "silu", "mish")}
    assert dips["mish"].y_min < dips["silu"].y_min < dips["gelu"].y_min < 0
    assert dips["mish"].d_peak < min(dips["silu"].d_peak, dips["gelu"].d_peak)
    for name, d in dips.items():
        assert d.d_peak == pytest.approx(gc.registry.get(name).max_slope, abs=1e-3)
        assert d.x_min < 0 < d.above_one <= d.x_peak


def test_max_gap_swish_tends_to_relu():
    x = jnp.linspace(-6.0, 6.0, 6001)
    gaps = [
        ex.max_gap(lambda v, b=b: gc.gated.swish(v, b), gc.activations.relu, x)[0]
        for b in (1.0, 4.0, 16.0)
    ]
    assert gaps[0] > gaps[1] > gaps[2] > 0
    gap, at = ex.max_gap(gc.gated.hard_swish, gc.gated.silu, x)
    assert 0 < gap < 0.2 and -6 <= at <= 6


def test_experiments_reject_bad_arguments(xs):
    with pytest.raises(ValueError, match="names"):
        ex.mean_shift(jax.random.key(0), xs, names=("tanh",), sizes=ex.Sizes(2, 8, 1))
    with pytest.raises(ValueError, match="width"):
        ex.Sizes(depth=20, width=0, seeds=6)
    with pytest.raises(ValueError, match="var"):
        ex.selu_runs(
            jax.random.key(0), jax.random.key(1), [(0.0, 0.0)], ex.Sizes(2, 8, 1)
        )
    with pytest.raises(ValueError, match="xs"):
        ex.relu_first_layer_mean(jnp.ones(3))
    with pytest.raises(ValueError, match="x"):
        ex.dip_and_peak("gelu", jnp.ones((2, 2)))
    with pytest.raises(ValueError):
        ex.dip_and_peak("geluu", jnp.ones(3))
