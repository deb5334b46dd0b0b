"""gc.setup(): the one call a chapter makes first."""

import os
import subprocess
import sys

import gradcourse as gc


def _run(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | env
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=full,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_setup_sets_compile_fast_flags_and_cache(tmp_path):
    code = (
        "import gradcourse as gc, os, jax, jax.numpy as jnp; gc.setup();"
        "jax.jit(lambda x: x * 2)(jnp.ones(3)).block_until_ready();"
        "print(os.environ['XLA_FLAGS']); print(jax.config.jax_compilation_cache_dir)"
    )
    flags, cache = _run(code, GRADCOURSE_CACHE_DIR=str(tmp_path)).splitlines()
    assert flags == gc.COMPILE_FAST_XLA_FLAGS
    assert cache == str(tmp_path)
    assert any(tmp_path.iterdir()), "the compiled program was not written to the cache"


def test_setup_keeps_flags_the_environment_sets(tmp_path):
    code = "import gradcourse as gc, os; gc.setup(cache=False); print(os.environ['XLA_FLAGS'])"
    flags = "--xla_backend_optimization_level=3"
    assert _run(code, XLA_FLAGS=flags) == flags


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADCOURSE_CACHE_DIR", str(tmp_path))
    assert gc.default_cache_dir() == tmp_path
    monkeypatch.delenv("GRADCOURSE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert gc.default_cache_dir() == tmp_path / "gradcourse" / "jax"
