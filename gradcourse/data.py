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

    @property
    def train(self) -> tuple[Array, Array]:
        """``(x_train, y_train)``, as :func:`gradcourse.train.fit` takes them after the
        parameters: ``fit(key, params, *split.train, ...)``."""
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[Array, Array]:
        """``(x_test, y_test)``, as :func:`gradcourse.train.accuracy` takes them:
        ``accuracy(params, *split.test, model)``."""
        return self.x_test, self.y_test


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


def minibatches(key: Array, n: int, batch_size: int, count: int) -> Array:
    r"""The example indices of ``count`` minibatches: shuffled epochs.

    Each epoch is a fresh permutation of the :math:`n` examples (one key of
    ``jax.random.split(key, epochs)`` each), cut into :math:`\lfloor n/m \rfloor`
    minibatches of :math:`m` = ``batch_size``; the :math:`n \bmod m` examples left over
    sit that epoch out, as with ``drop_last`` in a data loader. So every example is seen
    once per epoch, and the whole schedule costs one shuffle per epoch (drawing each
    minibatch from a shuffle of its own would cost one per step). With
    :math:`m \ge n` every step takes the whole set, in order.

    Returns:
        ``(count, min(batch_size, n))`` integer indices into the examples: index a
        data set with them, ``xs[minibatches(key, len(xs), m, count)]``.

    Raises:
        ValueError: if ``n``, ``batch_size`` or ``count`` is below 1.

    Examples:
        >>> idx = minibatches(jax.random.key(0), 10, 5, 4)
        >>> idx.shape, sorted(idx[:2].ravel().tolist()) == list(range(10))
        ((4, 5), True)
    """
    _checks.positive_int("n", n)
    _checks.positive_int("batch_size", batch_size)
    _checks.positive_int("count", count)
    if batch_size >= n:
        return jnp.broadcast_to(jnp.arange(n), (count, n))
    per_epoch = n // batch_size
    epochs = -(-count // per_epoch)
    shuffles = jax.vmap(lambda k: jax.random.permutation(k, n))(
        jax.random.split(key, epochs)
    )
    return shuffles[:, : per_epoch * batch_size].reshape(-1, batch_size)[:count]
