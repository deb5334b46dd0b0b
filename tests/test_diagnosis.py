"""Tests for gradcourse.diagnosis: NaN origins in injected and built runs, diagnoses."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradcourse as gc
from gradcourse import health
from gradcourse.networks import init_mlp
from tests._builders import IN, OUT, WIDTH


def _inject_nan(step: int, layer: int) -> optax.GradientTransformation:
    """Replace one weight of hidden layer ``layer`` (2..depth) in the update at ``step``."""

    def init(params):
        return jnp.zeros((), jnp.int32)

    def update(updates, count, params=None):
        w = updates.hidden.w
        w = w.at[layer - 2, 0, 0].set(
            jnp.where(count == step, jnp.nan, w[layer - 2, 0, 0])
        )
        return updates._replace(hidden=updates.hidden._replace(w=w)), count + 1

    return optax.GradientTransformation(init, update)


@pytest.mark.parametrize(("step", "layer"), [(7, 3), (0, 5)])
def test_first_nonfinite_finds_injected_nan(key, step, layer):
    k_data, k_init, k_fit = jax.random.split(key, 3)
    xs, ys = gc.data.gaussian_classification(k_data, 64, IN, OUT)
    params = init_mlp(k_init, IN, WIDTH, 6, OUT)
    opt = optax.chain(optax.sgd(0.01), _inject_nan(step, layer))
    _, hist = gc.train.fit(
        k_fit, params, xs, ys, model=gc.networks.mlp_model("tanh"), optimizer=opt,
        steps=12, batch_size=32, record=health.recorder("tanh"), on_nonfinite="return",
    )  # fmt: skip
    assert gc.diagnosis.first_nonfinite(hist) == gc.diagnosis.Origin(
        step, layer, "update"
    )
    # The forward pass of the next step breaks at that layer first; train's scanner,
    # which does not see updates, reports exactly that.
    assert np.asarray(hist.records.activation_finite)[step + 1].tolist() == [
        li < layer for li in range(1, 7)
    ]
    assert gc.diagnosis.find_nonfinite(hist) == (step + 1, layer, "activation")


def _fake_history(n_steps=5, depth=4, **bad):
    """A History of all-finite Health records; ``bad`` maps a field to (step, layer)."""
    ones = np.ones((n_steps, depth + 1), np.float32)
    flags = {
        "activation": np.ones((n_steps, depth), bool),
        "gradient": np.ones((n_steps, depth + 1), bool),
        "update": np.ones((n_steps, depth + 1), bool),
    }
    loss = np.full(n_steps, 2.3, np.float32)
    for where, cells in bad.items():
        for step, layer in cells:
            if where == "loss":
                loss[step] = np.nan
            else:
                flags[where][step, layer - 1] = False
    stats = health.StepStats(
        ones, ones, ones * 1e-3, flags["gradient"], flags["update"]
    )
    zeros = np.zeros((n_steps, depth), np.float32)
    rec = health.Health(stats, ones, ones * 1e-3, zeros, zeros, zeros, zeros,
                         flags["activation"])  # fmt: skip
    return gc.train.History(loss, ones, flags["activation"], rec, None)


def test_first_nonfinite_orders_forward_loss_backward_update():
    h = _fake_history(activation=[(3, 2), (3, 4)], gradient=[(3, 5)], update=[(2, 1)])
    assert gc.diagnosis.first_nonfinite(h) == (2, 1, "update")
    h = _fake_history(activation=[(3, 2), (3, 4)], gradient=[(3, 5)])
    assert gc.diagnosis.first_nonfinite(h) == (3, 2, "activation")
    h = _fake_history(loss=[(1, 0)], gradient=[(1, 5), (1, 2)])
    assert gc.diagnosis.first_nonfinite(h) == (1, 0, "loss")
    h = _fake_history(gradient=[(4, 2), (4, 3)], update=[(4, 1)])
    assert gc.diagnosis.first_nonfinite(h) == (4, 3, "gradient")
    assert gc.diagnosis.first_nonfinite(_fake_history()) is None


def test_diagnose_rules_fire_on_constructed_records():
    h = _fake_history(n_steps=4, depth=4)
    assert gc.diagnosis.diagnose(h).label == "healthy"
    g = np.ones((4, 5), np.float32)
    g[:, 0] = 1e-3  # the first layer gets 1/1000 of the top hidden layer's gradient
    rec = h.records._replace(stats=h.records.stats._replace(grad_norm=g))
    d = gc.diagnosis.diagnose(h._replace(records=rec))
    assert d.label == "vanishing" and math.isclose(d.bottom_top, 1e-3, rel_tol=1e-5)
    g[:, 0] = 1e3
    assert gc.diagnosis.diagnose(h._replace(records=rec)).label == "exploding"
    dead = np.zeros((4, 4), np.float32)
    dead[-1, 2] = 0.75
    d = gc.diagnosis.diagnose(h._replace(records=h.records._replace(dead=dead)))
    assert d.label == "dead" and d.dead == 0.75
    sat = np.full((4, 4), 0.6, np.float32)
    assert gc.diagnosis.diagnose(h._replace(records=h.records._replace(saturated=sat))).label \
        == "saturated"  # fmt: skip
    upd = np.full((4, 5), 0.5, np.float32)
    d = gc.diagnosis.diagnose(h._replace(records=h.records._replace(update_ratio=upd)))
    assert d.label == "exploding" and d.max_update_ratio == 0.5
    nan = _fake_history(n_steps=4, depth=4, gradient=[(2, 3)])
    assert gc.diagnosis.diagnose(nan).origin == (2, 3, "gradient")
    assert gc.diagnosis.diagnose(nan).label == "non-finite"


def test_first_nonfinite_rejects_history_without_health():
    h = _fake_history()._replace(records=None)
    with pytest.raises(ValueError, match="records"):
        gc.diagnosis.first_nonfinite(h)


def test_diagnose_rejects_bad_thresholds():
    h = _fake_history()
    with pytest.raises(ValueError, match="thresholds"):
        gc.diagnosis.diagnose(h, {"vanishing": 1e-2})
    with pytest.raises(ValueError, match="thresholds.dead"):
        gc.diagnosis.diagnose(h, gc.diagnosis.Thresholds(dead=-1.0))
    with pytest.raises(ValueError, match="hidden layers"):
        gc.diagnosis.diagnose(_fake_history(depth=1))
