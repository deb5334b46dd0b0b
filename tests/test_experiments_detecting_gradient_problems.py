"""The detecting-gradient-problems chapter's claims, on other seeds and smaller sizes."""

import jax
import numpy as np
import pytest

import gradcourse as gc

ex = gc.experiments.detecting_gradient_problems


@pytest.fixture(scope="module")
def data():
    return gc.data.digits(jax.random.key(41))


def test_glorot_probe_standard_init_loses_a_third_per_layer(data):
    xs, ys = data.x_train[:128], data.y_train[:128]
    sizes = ex.Sizes(depth=6, width=64, seeds=8)
    g = ex.glorot_probe(jax.random.key(42), xs, ys, ("standard", "glorot"), sizes)
    standard, normalised = (ex.per_layer_ratio(p) for p in g.probe)
    assert standard == pytest.approx(1 / 3, abs=0.05)  # n Var(W) = 1/3
    assert normalised > 2 * standard
    assert g.post[0].shape == (128, 6, 64) and np.abs(g.post[0]).max() < 1
    var = ex.backprop_variance(g.probe[0], batch=128, width=64)
    assert var.shape == (8, 6) and np.all(np.median(var[:, :-1] / var[:, 1:], 0) < 0.6)


def test_summarise_sigmoid_twenty_layers_is_stuck_at_ln10():
    cfg = gc.runs.Config("sigmoid", 20, "lecun", "sgd", 0.1, batch_size=64)
    (runs,) = gc.runs.run_seeds(jax.random.key(43), [cfg], 2)
    s = ex.summarise(runs)
    assert s.labels == ("vanishing", "vanishing")
    assert np.all(np.abs(s.final_loss - np.log(10)) < 0.05)
    assert s.bottom_top < 1e-6 and s.first_update_ratio < 1e-6


def test_failure_gallery_reproduces_failures_on_other_seeds():
    expected = {"most_dead": "dead", "nan_after_k": "non-finite"}
    gallery = ex.failure_gallery(jax.random.key(44), expected, 2)
    for name, runs in gallery.items():
        assert [r.diagnosis.label for r in runs] == [expected[name]] * 2, name


def test_experiments_reject_bad_arguments(data):
    xs, ys = data.x_train[:8], data.y_train[:8]
    with pytest.raises(ValueError, match="inits"):
        ex.glorot_probe(jax.random.key(0), xs, ys, ("xavier",))
    with pytest.raises(ValueError, match="depth"):
        ex.Sizes(depth=0, width=64, seeds=8)
    with pytest.raises(ValueError, match="xs"):
        ex.glorot_probe(jax.random.key(0), xs[0], ys)
    with pytest.raises(ValueError, match="runs"):
        ex.summarise([])
    with pytest.raises(ValueError, match="expected"):
        ex.failure_gallery(jax.random.key(0), {"no_such_failure": "dead"})
    with pytest.raises(ValueError, match="batch"):
        ex.backprop_variance(None, batch=0, width=4)
