"""Tests for gradcourse.failure_modes: each symptom appears, each fix removes it."""

import math

import jax
import numpy as np
import optax
import pytest

import gradcourse as gc
from gradcourse.failure_modes import gallery, reproduce
from gradcourse.runs import INITS, Config, run, run_many, run_seeds


@pytest.fixture(scope="module")
def runs():
    """Every gallery entry and its fix, trained once with one key."""
    key = jax.random.key(3)
    return {
        (name, fixed): r
        for fixed in (False, True)
        for name, r in gallery(key, fixed=fixed).items()
    }


def _tail_loss(r, n=20):
    return float(np.mean(np.asarray(r.history.loss)[-n:]))


def test_reproduce_stuck_at_ln10_and_its_fix(runs):
    stuck, fixed = runs["stuck_at_ln10", False], runs["stuck_at_ln10", True]
    assert abs(_tail_loss(stuck) - math.log(10)) < 0.02
    assert stuck.diagnosis.label == "vanishing"
    assert _tail_loss(fixed) < 0.5 and fixed.diagnosis.label == "healthy"


def test_reproduce_nan_after_k_and_its_fix(runs):
    bad, fixed = runs["nan_after_k", False], runs["nan_after_k", True]
    origin = bad.diagnosis.origin
    assert bad.diagnosis.label == "non-finite" and 0 < origin.step < 40
    assert not np.isfinite(np.asarray(bad.history.loss)[-1])
    assert fixed.history.nonfinite is None and _tail_loss(fixed) < 1.5


def test_reproduce_most_dead_and_its_fix(runs):
    bad, fixed = runs["most_dead", False], runs["most_dead", True]
    assert bad.diagnosis.label == "dead" and bad.diagnosis.dead > 0.5
    assert fixed.diagnosis.dead < 0.3 and fixed.diagnosis.label == "healthy"


def test_reproduce_top_saturated_and_its_fix(runs):
    """Glorot & Bengio (2010), Fig. 2: the top sigmoid layer sinks toward 0, the others
    stay near 1/2, and the loss stalls near ln 10."""
    bad, fixed = runs["top_saturated", False], runs["top_saturated", True]
    mean = np.asarray(bad.history.records.activation_mean)[-1]
    assert mean[-1] < 0.1 and np.all(np.abs(mean[:-1] - 0.5) < 0.25)
    assert abs(_tail_loss(bad) - math.log(10)) < 0.05
    assert _tail_loss(fixed) < 0.1 and fixed.diagnosis.label == "healthy"


def test_inits_standard_backprop_variance_shrinks_by_a_third(key):
    """Glorot & Bengio (2010), Sec. 4.2: with Var(w) = 1/(3n) the back-propagated
    gradient variance shrinks by n Var(w) E[tanh'^2] ~ 1/3 per layer, while the weight
    gradients stay level; the normalised init keeps the ratio near E[tanh'^2] (> 0.7)."""
    data = gc.data.digits(jax.random.fold_in(key, 0))
    xs, ys = data.x_train[:256], data.y_train[:256]
    keys = jax.random.split(jax.random.fold_in(key, 1), 8)

    def probe(init):
        g = gc.probes.probe_seeds(keys, xs, ys, width=256, depth=8, activation="tanh",
                                  w_init=INITS[init])  # fmt: skip
        ratio = gc.experiments.detecting_gradient_problems.per_layer_ratio(g)
        return ratio, np.asarray(g.weights)

    ratio_std, weights_std = probe("standard")
    ratio_glorot, _ = probe("glorot")
    assert abs(ratio_std - 1 / 3) < 0.04
    assert 0.7 < ratio_glorot < 1.0
    level = np.median(weights_std[:, 1:-1], axis=0)  # hidden layers 2..depth
    assert level.max() / level.min() < 1.3


def test_inits_variances(key):
    n_out, n_in = 300, 200
    w_std = INITS["standard"](key, (n_out, n_in))
    w_glorot = INITS["glorot"](key, (n_out, n_in))
    assert abs(float(w_std.max()) - 1 / math.sqrt(n_in)) < 1e-3
    assert abs(float(w_glorot.max()) - math.sqrt(6 / (n_in + n_out))) < 1e-3
    assert abs(float(w_std.var()) * 3 * n_in - 1) < 0.03


def test_run_rejects_bad_config(key):
    good = Config("tanh", 3, "glorot", "sgd", 0.1, steps=2)
    bad = {
        "depth": 0, "init": "orthogonal", "optimizer": "rmsprop", "learning_rate": -1.0,
        "momentum": 1.0, "clip": 0.0, "activation": "not_a_function", "steps": 0,
    }  # fmt: skip
    for field, value in bad.items():
        with pytest.raises(ValueError, match=field):
            run(key, good._replace(**{field: value}))
    with pytest.raises(ValueError, match="config"):
        run(key, {"activation": "tanh"})


def test_reproduce_rejects_unknown_name(key):
    with pytest.raises(ValueError, match="name"):
        reproduce("exploding_everything", key)


def _optax_run(key, config):
    """The reference: ``train.fit`` with the configuration's own optax optimizer."""
    k_data, k_init, k_fit = jax.random.split(key, 3)
    data = gc.data.digits(k_data)
    params = gc.networks.init_mlp(k_init, 64, config.width, config.depth, 10,
                                  w_init=INITS[config.init])  # fmt: skip
    if config.optimizer == "adam":
        opt = optax.adam(config.learning_rate)
    else:
        opt = optax.sgd(config.learning_rate, momentum=config.momentum or None)
    if config.clip is not None:
        opt = optax.chain(optax.clip_by_global_norm(config.clip), opt)
    saturation = (
        config.activation if config.activation in gc.health.ASYMPTOTES else None
    )
    _, history = gc.train.fit(
        k_fit, params, data.x_train, data.y_train,
        model=gc.networks.mlp_model(config.activation), optimizer=opt, steps=config.steps,
        batch_size=config.batch_size, record=gc.health.recorder(saturation),
    )  # fmt: skip
    return history


def test_run_many_equals_each_config_with_its_own_optax_optimizer():
    """Activation, init, optimizer, learning rate, momentum and clipping as data in one
    program give the runs that separate ``fit`` calls with optax objects give."""
    key = jax.random.key(7)
    configs = [
        Config("sigmoid", 4, "standard", "sgd", 0.3, momentum=0.9, steps=12, width=16),
        Config("tanh", 4, "glorot", "sgd", 0.1, clip=0.5, steps=12, width=16),
        Config("relu", 4, "he", "adam", 1e-2, steps=12, width=16),
        Config("relu", 4, "lecun", "adam", 1e-3, clip=1.0, steps=12, width=16),
    ]
    got = run_many(key, configs)
    for config, r in zip(configs, got, strict=True):
        want = _optax_run(key, config)
        np.testing.assert_allclose(r.history.loss, want.loss, rtol=1e-5)
        np.testing.assert_allclose(r.history.grad_norms, want.grad_norms, rtol=1e-4)
        np.testing.assert_allclose(
            r.history.records.update_ratio, want.records.update_ratio, rtol=1e-4
        )
        np.testing.assert_array_equal(
            r.history.records.saturated, want.records.saturated
        )
        assert r.history.nonfinite is None and r.params.hidden.w.shape == (3, 16, 16)


def test_run_is_run_many_of_one():
    key = jax.random.key(8)
    configs = [Config(a, 3, "glorot", "sgd", 0.1, steps=5, width=8)
               for a in ("tanh", "relu")]  # fmt: skip
    together = run_many(key, configs)
    for config, r in zip(configs, together, strict=True):
        alone = run(key, config)
        np.testing.assert_allclose(alone.history.loss, r.history.loss, rtol=1e-6)
        assert alone.diagnosis.label == r.diagnosis.label


def test_run_many_and_gallery_reject_bad_arguments(key):
    with pytest.raises(ValueError, match="configs"):
        run_many(key, [])
    good = Config("tanh", 3, "glorot", "sgd", 0.1, steps=2)
    with pytest.raises(ValueError, match="config.steps"):
        run_many(key, [good, good._replace(steps=0)])
    with pytest.raises(ValueError, match="names"):
        gallery(key, [])
    with pytest.raises(ValueError, match="name"):
        gallery(key, ["stuck_at_ln10", "exploding_everything"])


def test_run_seeds_seeds_differ_and_groups_do_not_matter():
    """Seed s of a configuration is the same run whether trained alone or beside others
    (of its own shape or another); different seeds start from different weights."""
    key = jax.random.key(9)
    tanh = Config("tanh", 3, "glorot", "sgd", 0.1, steps=5, width=8)
    relu = Config("relu", 3, "he", "sgd", 0.1, steps=5, width=8)
    deep = Config("tanh", 4, "glorot", "sgd", 0.1, steps=5, width=8)
    together = run_seeds(key, [tanh, deep, relu], 3)
    alone = run_seeds(key, [relu], 3)[0]
    assert [len(rs) for rs in together] == [3, 3, 3]
    for a, b in zip(alone, together[2], strict=True):
        np.testing.assert_allclose(a.history.loss, b.history.loss, rtol=1e-6)
    first = [float(r.history.loss[0]) for r in together[0]]
    assert len(set(first)) == 3
    with pytest.raises(ValueError, match="seeds"):
        run_seeds(key, [tanh], 0)
