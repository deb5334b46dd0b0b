"""Shared fixtures for the unit tests."""

import jax
import pytest


@pytest.fixture
def key() -> jax.Array:
    """A fixed root key; tests split it, never reuse it."""
    return jax.random.key(20261124)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module.

    One pytest process compiles thousands of small XLA programs; each keeps its machine
    code in memory maps of its own, and past the kernel's ``vm.max_map_count`` (65530 by
    default) the next compilation crashes the process with a segmentation fault. Nothing
    compiled in one test module is needed by the next.
    """
    yield
    jax.clear_caches()
