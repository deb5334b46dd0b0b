"""The recurrent-networks chapter's claims, on other seeds and smaller sizes."""

import jax
import numpy as np
import pytest

from gradcourse import recurrent as rec
from gradcourse.experiments import recurrent as exp


def test_bound_checks_hold_for_both_activations_and_every_gain():
    gains = {"tanh": (0.5, 1.5, 2.5), "sigmoid": (2.0, 6.0)}
    checks = exp.bound_checks(jax.random.key(7), gains, steps=20, draws=8)
    assert set(checks) == {"tanh", "sigmoid"}
    for act, (measured, bound) in checks.items():
        assert measured.shape == bound.shape == (len(gains[act]), 8)
        measured, bound = np.asarray(measured), np.asarray(bound)
        assert np.all(measured <= bound + 1e-4)  # the bound is never violated
        assert np.all(measured[bound < 0] < 0)  # below 1/gamma: vanishing


def test_bound_check_names_a_bad_activation():
    cell = rec.Cell("elman", 4, 2, "relu")
    with pytest.raises(ValueError, match="activation"):
        exp.bound_check(jax.random.key(0), cell, (1.0,), steps=5, draws=2)


def test_clipping_beats_plain_sgd_on_other_seeds():
    k_data, k_fit = jax.random.split(jax.random.key(11))
    schedule = exp.Schedule(steps=300, learning_rate=0.2, seeds=4, batch_size=32)
    study = exp.ClipStudy(n=256, schedule=schedule)
    runs = exp.clipping_comparison(k_data, k_fit, study)
    assert list(runs) == ["SGD", "SGD, clipped at 1"]
    plain, clipped = (np.asarray(r.accuracy) for r in runs.values())
    assert plain.shape == clipped.shape == (4,)
    assert np.median(clipped) > np.median(plain)
    norms = np.asarray(runs["SGD"].history.grad_norms[..., 0])
    assert norms.shape == (4, schedule.steps)
    assert np.median(norms.max(axis=1)) > 1e2  # plain SGD's gradient explodes


@pytest.mark.parametrize(
    ("study", "match"),
    [
        (exp.ClipStudy(schedule=exp.Schedule(300, 0.2, seeds=8)), "batch_size"),
        (exp.ClipStudy(clips=(None, -1.0)), "clips"),
    ],
)
def test_clipping_comparison_names_bad_settings(study, match):
    k_data, k_fit = jax.random.split(jax.random.key(0))
    with pytest.raises(ValueError, match=match):
        exp.clipping_comparison(k_data, k_fit, study)


def test_schedule_names_a_bad_field():
    with pytest.raises(ValueError, match="seeds"):
        exp.Schedule(steps=300, learning_rate=0.2, seeds=0, batch_size=32)


def test_clip_study_names_its_runs():
    assert exp.ClipStudy(clips=(None, 0.1, 10.0)).names == (
        "SGD",
        "SGD, clipped at 0.1",
        "SGD, clipped at 10",
    )
