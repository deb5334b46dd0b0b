"""One call at the top of every chapter: compile settings, the compilation cache, plot style."""

from __future__ import annotations

import os
from pathlib import Path

#: The XLA flags the chapters run under: compile quickly rather than optimise hard. A chapter
#: compiles dozens of small programs and runs each briefly, so on a CPU this takes about 40% off
#: its run time (``benchmarks/bench_chapters.py``); the test suite runs with the same flags.
COMPILE_FAST_XLA_FLAGS = (
    "--xla_cpu_use_fusion_emitters=false --xla_backend_optimization_level=1"
)


def default_cache_dir() -> Path:
    """Where JAX's persistent compilation cache lives: ``$GRADCOURSE_CACHE_DIR`` if set, else
    ``$XDG_CACHE_HOME/gradcourse/jax`` (``~/.cache/gradcourse/jax``)."""
    if env := os.environ.get("GRADCOURSE_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gradcourse" / "jax"


def setup(*, cache: bool = True) -> None:
    """Prepare a chapter: XLA flags, JAX's persistent compilation cache, the plot style.

    Call it once, first, before any JAX computation (the flags are read when JAX starts its
    backend). It sets ``XLA_FLAGS`` to :data:`COMPILE_FAST_XLA_FLAGS` unless the environment
    already sets them (``make test-portable`` does, on purpose), turns on JAX's persistent
    compilation cache in :func:`default_cache_dir` so that a second run of a chapter reuses its
    compiled programs (the same programs, so the same numbers), and applies the house plot style.

    Args:
        cache: use the persistent compilation cache (``False`` compiles everything afresh).
    """
    os.environ.setdefault("XLA_FLAGS", COMPILE_FAST_XLA_FLAGS)
    import jax

    if cache:
        jax.config.update("jax_compilation_cache_dir", str(default_cache_dir()))
        # Cache every program: a chapter's programs are small and each compiles in well under
        # JAX's default one-second threshold.
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    try:
        from . import plotting
    except ImportError:  # matplotlib is an optional ("book") dependency
        return
    plotting.setup()
