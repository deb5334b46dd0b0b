"""Root pytest configuration: loaded before any notebook kernel starts.

nbval starts one kernel per notebook with this process's environment, so setting the JAX
platform here pins every notebook (and every unit test) to the CPU, where the stored
outputs were computed, and keeps JAX's GPU hint off stderr.
"""

import os

from gradcourse import COMPILE_FAST_XLA_FLAGS  # a constant; importing JAX waits

# nbval compares printed decimal numbers within a tolerance (``--nbval-strict``: exactly).
pytest_plugins = ["tests.nbval_tolerant"]

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The chapters' own compile-fast flags (each chapter sets them in its first cell, so the
# kernels nbval starts get the same ones); unit tests run under them too.
os.environ.setdefault("XLA_FLAGS", COMPILE_FAST_XLA_FLAGS)
# LAPACK calls (QR, SVD) go through OpenBLAS, whose spinning worker threads fight XLA's own
# threads for the cores; one OpenBLAS thread is faster here and never stalls.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
