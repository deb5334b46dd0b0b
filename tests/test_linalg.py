"""The rescaled norm agrees with the plain one and survives tiny values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradcourse._linalg import scaled_norm


@pytest.mark.parametrize("axis", [None, 0, (1, 2)])
def test_scaled_norm_equals_plain_norm(key, axis):
    a = jax.random.normal(key, (3, 4, 5))
    plain = np.sqrt(np.sum(np.asarray(a, np.float64) ** 2, axis=axis))
    np.testing.assert_allclose(scaled_norm(a, axis=axis), plain, rtol=1e-6)


def test_scaled_norm_keeps_values_that_square_to_zero():
    a = jnp.array([3e-25, 4e-25], jnp.float32)
    assert float(jnp.sqrt(jnp.sum(a * a))) == 0.0  # the plain formula underflows
    assert float(scaled_norm(a)) == pytest.approx(5e-25, rel=1e-6)


def test_scaled_norm_zero_and_nonfinite():
    assert float(scaled_norm(jnp.zeros(4))) == 0.0
    assert np.isnan(float(scaled_norm(jnp.array([1.0, jnp.inf]))))
    assert np.isnan(float(scaled_norm(jnp.array([1.0, jnp.nan]))))
