"""Encoders: the real MiniLM offline, the static and lexical models."""

import numpy as np
import pytest

from embtrans import encoders
from embtrans.data import build

TEXTS = ["Return the absolute value of a number.",
         "Compute the absolute value of the argument.",
         "Open a network socket to a remote host and send bytes.",
         "Parse a JSON document into Python objects."]


@pytest.fixture(scope="module")
def minilm():
  return encoders.get_encoder("minilm")


def _cos(v):
  return v @ v.T


def test_minilm_is_real_and_normalised(minilm):
  v = minilm.encode(TEXTS)
  assert v.shape == (4, 384) and v.dtype == np.float32
  np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
  sims = _cos(v)
  assert sims[0, 1] > 0.7 > sims[0, 2]  # paraphrases beat unrelated text
  assert minilm.normalized


def test_minilm_matches_plain_transformers_mean_pooling(minilm):
  import torch  # pylint: disable=g-import-not-at-top
  from transformers import AutoModel, AutoTokenizer  # pylint: disable=g-import-not-at-top
  path = minilm.path
  tok = AutoTokenizer.from_pretrained(path)
  model = AutoModel.from_pretrained(path).eval()
  batch = tok(TEXTS, padding=True, truncation=True, max_length=128,
              return_tensors="pt")
  with torch.no_grad():
    hidden = model(**batch).last_hidden_state
  mask = batch["attention_mask"][..., None].float()
  pooled = (hidden * mask).sum(1) / mask.sum(1)
  ref = torch.nn.functional.normalize(pooled, dim=-1).numpy()
  np.testing.assert_allclose(minilm.encode(TEXTS), ref, atol=1e-5)


def test_static_encoder_ignores_context():
  enc = encoders.get_encoder("minilm_static")
  v = enc.encode(["dog bites man", "man bites dog", "stock prices fell"])
  assert v.shape == (3, 384)
  np.testing.assert_allclose(v[0], v[1], atol=1e-6)  # a bag of subwords
  assert v[0] @ v[2] < 0.99


def test_tfidf_lsa_fits_on_given_texts_only():
  enc = encoders.get_encoder("tfidf_lsa", dim=2, min_df=1)
  enc.fit(TEXTS[:3])
  assert "json" not in enc.vectorizer.vocabulary_
  v = enc.encode(TEXTS)
  assert v.shape == (4, 2)
  with pytest.raises(ValueError, match="needs more than"):
    encoders.get_encoder("tfidf_lsa", dim=50, min_df=1).fit(TEXTS)


def test_unknown_encoder_lists_known_ones():
  with pytest.raises(ValueError, match="Known encoders: .*minilm"):
    encoders.get_encoder("gpt-9")


def test_build_caches_and_reuses(tmp_path):
  ds = build.build_dataset("pydocs", "minilm_static", limit=30,
                           cache_dir=tmp_path)
  assert len(ds) == 30 and ds.manifest["model"] == "minilm_static"
  assert ds.manifest["normalized"] is True
  again = build.build_dataset("pydocs", "minilm_static", limit=30,
                              cache_dir=tmp_path)
  assert again.path == ds.path
  # The build lock's file goes with the build (embtrans/data/ownership.py).
  assert {p.name for p in tmp_path.iterdir()} == {ds.path.name}


def test_resolve_rejects_unknown_spec():
  with pytest.raises(ValueError, match="neither an embedding-dataset"):
    build.resolve_dataset("not_a_model")
