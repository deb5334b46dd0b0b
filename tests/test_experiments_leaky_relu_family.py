"""The leaky-ReLU chapter's claims, on other seeds and smaller sizes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradcourse as gc

ex = gc.experiments.leaky_relu_family


@pytest.fixture(scope="module")
def split():
    return gc.data.digits(jax.random.key(31))


def test_slope_flow_grows_at_he_gain_and_not_at_the_matched_gain(split):
    slopes = jnp.array([0.0, 0.3, 0.5])
    depth = 30
    flow = ex.slope_flow(
        jax.random.key(32),
        split.x_train[:64],
        split.y_train[:64],
        slopes,
        ex.Sizes(depth=depth, width=64, seeds=3),
    )
    assert flow.fixed.shape == flow.matched.shape == (3, 3)
    med = np.median(flow.fixed, axis=1)
    assert np.all(np.diff(med) > 0)  # more slope, more growth
    theory = (1 + np.asarray(slopes) ** 2) ** ((depth - 1) / 2)
    assert np.all(np.abs(np.log(med[1:] / theory[1:])) < np.log(2))  # within 2x
    assert np.all(np.abs(np.log(np.median(flow.matched, axis=1))) < np.log(2))


def test_kill_and_recover_a_slope_brings_units_back(split):
    setup = ex.KillSetup(recovery=ex.Schedule(steps=150, learning_rate=0.1, seeds=3))
    k = ex.kill_and_recover(jax.random.key(33), split, jnp.array([0.0, 0.3]), setup)
    assert k.killed.shape == k.recovered.shape == k.accuracy.shape == (2, 3)
    np.testing.assert_array_equal(k.killed[0], k.killed[1])  # the same damaged network
    off = np.median(k.recovered, axis=1)
    assert off[1] < 0.5 * off[0]  # the leaky slope revives most of what ReLU leaves off
    assert np.median(k.accuracy[1]) > 0.7


def test_prelu_slopes_leave_their_start_unconstrained(split):
    schedule = ex.Schedule(steps=150, learning_rate=1e-2, seeds=2, batch_size=128)
    p = ex.prelu_run(jax.random.key(34), jax.random.key(35), split, schedule)
    assert p.alpha.shape == (2, 4, 64) and p.alpha_mean.shape == (2, 150, 4)
    assert np.allclose(p.alpha_mean[:, 0], 0.25)  # He et al.'s start
    assert p.alpha.min() < 0.1 and p.alpha.max() > 0.4  # spread both ways
    assert np.all(p.accuracy > 0.9)


def test_rrelu_conventions_paper_mean_is_not_its_test_slope():
    rows = ex.rrelu_conventions(jax.random.key(36), 100_000)
    train, test, lo, hi = rows["paper"]
    assert train == pytest.approx(np.log(8 / 3) / 5, abs=2e-3)
    assert test == pytest.approx(2 / 11) and train > test + 0.01
    assert 1 / 8 <= lo < hi <= 1 / 3
    train, test, _, _ = rows["pytorch"]
    assert train == pytest.approx(test, abs=2e-3)  # 11/48: the mean of U(1/8, 1/3)


def test_experiments_reject_bad_arguments(split):
    xs, ys = split.x_train[:8], split.y_train[:8]
    with pytest.raises(ValueError, match="slopes"):
        ex.slope_flow(jax.random.key(0), xs, ys, jnp.array([1.5]))
    with pytest.raises(ValueError, match="depth"):
        ex.Sizes(depth=0, width=64, seeds=3)
    with pytest.raises(ValueError, match="setup"):
        ex.kill_and_recover(jax.random.key(0), split, jnp.array([0.0]), {"lr": 1})
    with pytest.raises(ValueError, match="kill_lr"):
        ex.kill_and_recover(
            jax.random.key(0), split, jnp.array([0.0]), ex.KillSetup(kill_lr=0.0)
        )
    minibatches = ex.KillSetup(recovery=ex.Schedule(10, 0.1, seeds=1, batch_size=32))
    with pytest.raises(ValueError, match="recovery.batch_size"):
        ex.kill_and_recover(jax.random.key(0), split, jnp.array([0.0]), minibatches)
    with pytest.raises(ValueError, match="learning_rate"):
        ex.Schedule(steps=10, learning_rate=-1.0, seeds=1, batch_size=8)
    with pytest.raises(ValueError, match="width"):
        ex.prelu_run(jax.random.key(0), jax.random.key(1), split, width=0)
    with pytest.raises(ValueError, match="n"):
        ex.rrelu_conventions(jax.random.key(0), 0)
