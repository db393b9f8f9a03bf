"""Test-wide settings: 4 fake CPU devices, offline hubs, a per-session cache."""

import os

# Must be set before jax is imported anywhere in the test session.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory):
  """Embedding datasets built by tests live in one cache per session.

  Set EMBTRANS_TEST_CACHE to reuse a cache across sessions.
  """
  path = os.environ.get("EMBTRANS_TEST_CACHE") or str(
      tmp_path_factory.mktemp("embtrans_cache"))
  os.environ["EMBTRANS_CACHE"] = path
  return path
