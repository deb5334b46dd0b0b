"""Shared fixtures for the unit tests."""

import jax
import pytest


@pytest.fixture
def key() -> jax.Array:
    """A fixed root key; tests split it, never reuse it."""
    return jax.random.key(20261124)
