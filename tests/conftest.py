"""Settings for the whole suite, applied before any backend starts.

XLA_FLAGS: the suite compiles hundreds of small XLA programs (TensorFlow's jit_compile steps, and
every JAX step and eager op), and at toy sizes the time goes into LLVM optimising them, not into
running them. Backend optimisation level 0 without LLVM's expensive passes cuts the JAX model
tests' time by about half; results are unchanged within the tests' tolerances. A value the caller
set is kept."""
from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
