"""Bundled and synthetic data: shapes, standardisation, determinism, validation."""

import jax
import numpy as np
import pytest

import gradcourse as gc


def test_digits_split_is_standardised_and_deterministic(key):
    a, b = gc.data.digits(key), gc.data.digits(key)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.x_train.shape[1] == 64 and set(np.unique(a.y_train)) == set(range(10))
    mean = np.asarray(a.x_train).mean(axis=0)
    assert np.abs(mean).max() < 1e-4
    assert a.x_train.shape[0] + a.x_test.shape[0] == 1797


def test_split_train_and_test_are_the_field_pairs(key):
    split = gc.data.digits(key)
    assert split.train == (split.x_train, split.y_train)
    assert split.test == (split.x_test, split.y_test)
    assert len(split) == 4, "the properties are not fields"


def test_digits_rejects_bad_fraction(key):
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0.0, 1.0\)"):
        gc.data.digits(key, test_fraction=1.0)


def test_digits_unit_scale_is_pixels_over_16(key):
    unit, std = gc.data.digits(key, scale="unit"), gc.data.digits(key)
    images, _ = gc.data.load_digits_arrays()
    assert float(unit.x_train.min()) == 0.0 and float(unit.x_train.max()) == 1.0
    np.testing.assert_array_equal(unit.y_test, std.y_test)
    assert np.isin(np.asarray(unit.x_test) * 16, np.unique(images)).all()
    with pytest.raises(ValueError, match="scale must be one of"):
        gc.data.digits(key, scale="minmax")


def test_gaussian_classification(key):
    xs, ys = gc.data.gaussian_classification(key, 500, 8, 4)
    assert xs.shape == (500, 8) and set(np.unique(ys)) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="classes must be an integer >= 2"):
        gc.data.gaussian_classification(key, 10, 3, 1)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        gc.data.gaussian_classification(key, 0, 3, 2)


def test_gaussian_classification_depends_on_key(key):
    k1, k2 = jax.random.split(key)
    assert not np.allclose(
        gc.data.gaussian_classification(k1, 5, 3, 2)[0],
        gc.data.gaussian_classification(k2, 5, 3, 2)[0],
    )


def test_load_digits_arrays_equals_scikit_learn():
    from sklearn.datasets import load_digits

    x, y = gc.data.load_digits_arrays()
    bunch = load_digits()
    assert x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(x, bunch.data.astype(np.float32))
    np.testing.assert_array_equal(y, bunch.target)


def test_minibatches_are_shuffled_epochs(key):
    n, batch, steps = 23, 5, 11  # 4 minibatches an epoch, 3 examples sit each epoch out
    idx = np.asarray(gc.data.minibatches(key, n, batch, steps))
    assert idx.shape == (steps, batch)
    epochs = [idx[e : e + 4].ravel() for e in range(0, 8, 4)]
    for epoch in epochs:  # no example twice within an epoch
        assert len(set(epoch.tolist())) == 4 * batch and epoch.max() < n
    assert not np.array_equal(epochs[0], epochs[1])  # a fresh shuffle each epoch
    assert not np.array_equal(np.sort(epochs[0]), epochs[0])  # shuffled, not in order
    np.testing.assert_array_equal(idx, gc.data.minibatches(key, n, batch, steps))


def test_minibatches_full_batch_and_bad_input(key):
    np.testing.assert_array_equal(
        gc.data.minibatches(key, 4, 9, 3), np.tile(np.arange(4), (3, 1))
    )
    with pytest.raises(ValueError, match="batch_size"):
        gc.data.minibatches(key, 4, 0, 3)
    with pytest.raises(ValueError, match="count"):
        gc.data.minibatches(key, 4, 2, 0)
