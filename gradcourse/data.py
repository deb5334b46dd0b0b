"""Small data sets that need no download: scikit-learn's bundled digits, and synthetic data.

Nothing here touches the network. ``load_digits`` reads the 8x8 handwritten digits that ship
inside scikit-learn (1,797 images, 10 classes); everything else is generated from an
explicit PRNG key.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from gradcourse import _checks

__all__ = [
    "Split",
    "digits",
    "gaussian_classification",
    "load_digits_arrays",
    "minibatches",
]


class Split(NamedTuple):
    """A train/test split: inputs ``(n, features)`` float32, labels ``(n,)`` int32."""

    x_train: Array
    y_train: Array
    x_test: Array
    y_test: Array


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 bundled 8x8 digits as ``(images (1797, 64) float32, labels (1797,) int32)``.

    The same arrays as ``sklearn.datasets.load_digits()`` (a test checks it), read straight
    from the ``digits.csv.gz`` file that ships inside scikit-learn, without importing
    scikit-learn itself: that import (SciPy and all) costs more than a second, every
    chapter that uses the digits would pay it, and nothing else of scikit-learn is needed.

    Raises:
        ModuleNotFoundError: if scikit-learn is not installed.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the digits ship with scikit-learn: pip install scikit-learn"
        )
    path = (
        Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    )
    with gzip.open(path, "rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1].astype(np.float32), table[:, -1].astype(np.int32)


def digits(
    key: Array, test_fraction: float = 0.25, *, scale: str = "standardize"
) -> Split:
    """The bundled 8x8 digits, shuffled with ``key``, standardised with train statistics.

    With ``scale="standardize"`` each of the 64 pixel features is centred and scaled by
    the training set's mean and standard deviation (constant pixels keep scale 1), so a
    well-initialised network sees inputs of unit variance. With ``scale="unit"`` the
    pixel intensities 0..16 are divided by 16 into [0, 1], what an autoencoder with a
    sigmoid output reconstructs.

    Args:
        key: PRNG key for the shuffle.
        test_fraction: share of examples held out, in (0, 1).
        scale: ``"standardize"`` or ``"unit"``.

    Returns:
        A :class:`Split` with 64 features and labels 0..9.

    Examples:
        >>> split = digits(jax.random.key(0))
        >>> split.x_train.shape, split.x_test.shape
        ((1348, 64), (449, 64))
    """
    _checks.in_range("test_fraction", test_fraction, 0.0, 1.0, closed="neither")
    _checks.one_of("scale", scale, ("standardize", "unit"))
    x, y = load_digits_arrays()
    order = np.asarray(jax.random.permutation(key, x.shape[0]))
    x, y = x[order], y[order]
    n_test = int(round(test_fraction * x.shape[0]))
    x_train, x_test = x[n_test:], x[:n_test]
    if scale == "unit":
        mean, std = np.float32(0.0), np.float32(16.0)
    else:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    return Split(
        jnp.asarray((x_train - mean) / std),
        jnp.asarray(y[n_test:]),
        jnp.asarray((x_test - mean) / std),
        jnp.asarray(y[:n_test]),
    )


def gaussian_classification(
    key: Array, n: int, dim: int, classes: int
) -> tuple[Array, Array]:
    """Standard-normal inputs labelled by a random linear teacher.

    ``x ~ N(0, I_dim)`` and ``y = argmax(T x)`` with ``T`` a ``(classes, dim)`` Gaussian
    matrix, so the task is learnable and every class appears.

    Args:
        key: PRNG key.
        n: number of examples, >= 1.
        dim: input features, >= 1.
        classes: number of classes, >= 2.

    Returns:
        ``(xs, ys)`` of shapes ``(n, dim)`` float32 and ``(n,)`` int32.

    Examples:
        >>> xs, ys = gaussian_classification(jax.random.key(0), 100, 5, 3)
        >>> xs.shape, ys.shape, int(ys.max()) <= 2
        ((100, 5), (100,), True)
    """
    _checks.positive_int("n", n)
    _checks.positive_int("dim", dim)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(f"classes must be an integer >= 2, got {classes!r}")
    kx, kt = jax.random.split(key)
    xs = jax.random.normal(kx, (n, dim))
    teacher = jax.random.normal(kt, (classes, dim))
    ys = jnp.argmax(xs @ teacher.T, axis=-1).astype(jnp.int32)
    return xs, ys


def minibatches(key: Array, xs: ArrayLike, batch_size: int, count: int) -> Array:
    """``count`` random minibatches of ``xs``, each drawn without replacement.

    Minibatch :math:`i` holds the rows ``jax.random.choice(k_i, n, (batch_size,),
    replace=False)`` of ``xs``, with ``k_1, ..., k_count = jax.random.split(key, count)``.

    Args:
        key: PRNG key.
        xs: examples ``(n, features)``.
        batch_size: examples per minibatch, an integer in [1, n].
        count: number of minibatches, >= 1.

    Returns:
        ``(count, batch_size, features)`` examples.

    Raises:
        ValueError: for ``xs`` that is not 2-D, a bad ``batch_size`` or ``count``.

    Examples:
        >>> minibatches(jax.random.key(0), jnp.ones((10, 3)), 4, 2).shape
        (2, 4, 3)
    """
    xs = jnp.asarray(xs)
    _checks.ndim("xs", xs, 2)
    _checks.positive_int("batch_size", batch_size)
    _checks.in_range("batch_size", batch_size, 1, xs.shape[0])
    _checks.positive_int("count", count)

    def one(k: Array) -> Array:
        return xs[jax.random.choice(k, xs.shape[0], (batch_size,), replace=False)]

    return jax.vmap(one)(jax.random.split(key, count))
