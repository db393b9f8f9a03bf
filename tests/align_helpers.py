"""Shared by the align_*_test.py files."""

import jax
import pytest


@pytest.fixture(scope="module", autouse=False)
def fast_compile():
  """Compiles with most XLA optimisations off: tiny programs build ~3x faster.

  Results are the same (the optimisations do not change the math beyond
  rounding); only compile time and speed differ. Restored afterwards.
  """
  before = jax.config.values["jax_disable_most_optimizations"]
  jax.config.update("jax_disable_most_optimizations", True)
  yield
  jax.config.update("jax_disable_most_optimizations", before)
