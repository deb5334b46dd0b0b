"""The activation-zoo chapter's claims, on other seeds and a shallower network."""

import jax
import numpy as np
import pytest

import gradcourse as gc

ex = gc.experiments.activation_zoo


@pytest.fixture(scope="module")
def split():
    return gc.data.digits(jax.random.key(7))


def test_moments_at_one_separate_the_three_groups():
    m = ex.moments_at_one()
    assert list(m.chi) == list(gc.registry.REGISTRY)
    for name in (
        "relu",
        "leaky_relu",
        "prelu",
    ):  # positively homogeneous: all three one
        assert m.chi[name] == pytest.approx(1.0, abs=1e-4)
        assert m.slope[name] == pytest.approx(1.0, abs=1e-4)
    assert all(1 < m.chi[n] < 1.1 and m.slope[n] < 1 for n in ("elu", "selu"))
    assert all(m.slope[n] > 1 for n in ("gelu", "silu", "hard_swish", "mish"))
    assert m.chi["selu"] == pytest.approx(ex.selu_chi_closed_form(), abs=1e-4)
    assert m.chi["softplus"] < 0.5  # the gain that holds q starves the gradient


def test_gated_units_double_the_factor_and_maxout_keeps_it():
    m = ex.moments_at_one()
    gated = ex.gated_chi(m)
    assert gated["GeGLU"][1] > 1.9 and gated["SwiGLU"][1] > 1.9
    assert 1 < gated["GLU"][1] < 1.2
    for unit, (gain, _) in gated.items():  # gain**2 E[phi^2] = 1
        assert gain**2 * m.phi2[ex.GATED[unit]] == pytest.approx(1.0)
    assert ex.maxout_second_moment() == pytest.approx(1.0, abs=1e-6)


def test_depth_profile_follows_mean_field_on_other_seeds(split):
    xs, ys = split.x_train[64:128], split.y_train[64:128]
    p = ex.depth_profile(jax.random.key(8), xs, ys, width=64, depth=30, seeds=3)
    names = list(gc.registry.REGISTRY)
    med = dict(zip(names, np.median(p.log_first, axis=1), strict=True))
    pred = dict(zip(names, p.log_first_predicted, strict=True))
    assert p.measured.shape == (len(names), 3, 30)
    assert np.allclose(p.measured[:, :, -1], 1.0)
    assert med["sigmoid"] < -10 and med["softplus"] < -3  # vanish
    assert med["tanh"] > 0.5 and med["hard_swish"] > 1  # explode
    assert abs(med["relu"]) < 0.3  # flat in the median
    for name in ("sigmoid", "tanh", "softplus", "hard_swish", "selu", "elu"):
        assert med[name] == pytest.approx(pred[name], abs=0.5), name


def test_train_sigmoid_stays_at_chance_relu_learns(split):
    schedule = ex.Schedule(steps=200, learning_rate=0.05, seeds=2, batch_size=32)
    setup = ex.TrainSetup(names=("sigmoid", "relu"), schedule=schedule)
    run = ex.train(jax.random.key(9), split, setup)
    assert run.accuracy.shape == (2, 2) and run.first_layer.shape == (2, 2, 200)
    assert run.accuracy[0].max() < 0.2 and run.accuracy[1].min() > 0.6
    start = np.median(run.first_layer[:, :, 0], axis=1)
    assert np.log10(start[1] / start[0]) > 2  # decades apart at the first step


def test_experiments_reject_bad_arguments(split):
    xs, ys = split.x_train[:8], split.y_train[:8]
    with pytest.raises(ValueError, match="width"):
        ex.depth_profile(jax.random.key(0), xs, ys, width=0, depth=3, seeds=1)
    with pytest.raises(ValueError, match="seeds"):
        ex.depth_profile(jax.random.key(0), xs, ys, width=4, depth=3, seeds=0)
    with pytest.raises(ValueError, match="names"):
        ex.train(jax.random.key(0), split, ex.TrainSetup(names=("relux",)))
    with pytest.raises(ValueError, match="learning_rate"):
        ex.Schedule(steps=3, learning_rate=0.0, seeds=1, batch_size=8)
    with pytest.raises(ValueError, match="batch_size"):
        no_minibatch = ex.Schedule(steps=3, learning_rate=0.1, seeds=1)
        ex.train(jax.random.key(0), split, ex.TrainSetup(schedule=no_minibatch))
    with pytest.raises(ValueError, match="setup"):
        ex.train(jax.random.key(0), split, {"steps": 3})
