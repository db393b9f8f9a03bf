"""Test-wide settings: 4 fake CPU devices, offline hubs, a per-session cache."""

import atexit
import os
import shutil
import tempfile

# Must be set before jax is imported anywhere in the test session.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One persistent compilation cache for the session and the entries it runs
# as subprocesses: the same programs compile in many tests (a fresh jit per
# build) and in every `python -m embtrans...` child. Removed at exit.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _JIT_CACHE = tempfile.mkdtemp(prefix="embtrans_jit_cache_")
  atexit.register(shutil.rmtree, _JIT_CACHE, ignore_errors=True)
  os.environ["JAX_COMPILATION_CACHE_DIR"] = _JIT_CACHE
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory):
  """Embedding datasets built by tests live in one cache per test run.

  Set EMBTRANS_TEST_CACHE to reuse a cache across sessions.
  """
  path = os.environ.get("EMBTRANS_TEST_CACHE")
  if not path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
      # xdist workers share one cache (the base's parent is per run): a
      # dataset is built once, the build lock serialising the builders.
      base = base.parent
    path = str(base / "embtrans_cache")
    os.makedirs(path, exist_ok=True)
  os.environ["EMBTRANS_CACHE"] = path
  return path
