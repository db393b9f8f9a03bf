"""ChromaDB export (original and translated) and restoring a translator."""

import json

import numpy as np
import pytest

from embtrans import inference
from embtrans import train
from embtrans.data import format as fmt
from embtrans.export import chroma
from tests import helpers

N, D_A, D_B = 160, 8, 6


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """Datasets A, B (B = A M) and a linear A -> B translator trained on them."""
  root = tmp_path_factory.mktemp("translator")
  rng = np.random.default_rng(0)
  ids = [f"t{i}" for i in range(N)]
  a = rng.standard_normal((N, D_A)).astype(np.float32)
  b = (a @ rng.standard_normal((D_A, D_B))).astype(np.float32)
  kinds = ["question" if i % 3 == 0 else "paragraph" for i in range(N)]
  fmt.write_dataset(root / "a", ids, a, texts=[f"text {i}" for i in ids],
                    metadata={"kind": kinds, "level": [i % 5 for i in range(N)],
                              "title": [None] * N},
                    manifest_extra={"name": "toy/a", "model": "model-a"})
  fmt.write_dataset(root / "b", ids, b, manifest_extra={"name": "toy/b",
                                                        "model": "model-b"})
  config = helpers.load_config(
      "linear", f"tiny=True,a={root / 'a'},b={root / 'b'},steps=20")
  config.checkpoint_every = 20
  config.num_devices = 1  # Several times faster than 4 fake CPU devices.
  train.train_and_evaluate(config, str(root / "work"))
  return root


def _raw_params(workdir, step):
  """The checkpoint's params read by Orbax alone (no model code); the
  engine stacks members, so a single run's leaves carry a leading [1]."""
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  raw = ocp.StandardCheckpointer().restore(
      (workdir / "checkpoints" / str(step) / "default").absolute())
  dense = raw["params"]["dense"]
  return np.asarray(dense["kernel"])[0], np.asarray(dense["bias"])[0]


def test_load_translator_restores_the_latest_checkpoint(trained):
  tr = inference.load_translator(trained / "work")
  assert (tr.step, tr.source, tr.target) == (20, "toy/a", "toy/b")
  assert (tr.source_dim, tr.target_dim, tr.model_name) == (D_A, D_B, "linear")
  x = fmt.open_dataset(trained / "a").vectors[:37]
  w, bias = _raw_params(trained / "work", 20)
  np.testing.assert_allclose(tr(x), x @ w + bias, rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match="maps 8-d vectors"):
    tr(np.zeros((2, D_B)))
  with pytest.raises(FileNotFoundError, match="not the workdir"):
    inference.load_translator(trained / "a")


def _cosine_topk(queries, keys, k):
  q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
  c = keys / np.linalg.norm(keys, axis=1, keepdims=True)
  return np.argsort(-(q @ c.T), axis=1, kind="stable")[:, :k]


@pytest.fixture()
def no_default_embedding_model(monkeypatch):
  """Fails the test if ChromaDB's own (downloaded) model is ever used."""
  from chromadb.api import types  # pylint: disable=g-import-not-at-top
  def refuse(self, input):  # pylint: disable=redefined-builtin
    del self, input
    pytest.fail("ChromaDB's default embedding function was called.")
  monkeypatch.setattr(types.DefaultEmbeddingFunction, "__call__", refuse)


def test_export_original_then_query_with_a_where_filter(
    trained, tmp_path, no_default_embedding_model):
  ds = fmt.open_dataset(trained / "a")
  out = chroma.export_dataset(ds, tmp_path / "db", batch_size=50)
  assert out.count == N and out.collection == "toy-a"
  vectors = np.asarray(ds.vectors)
  test = np.flatnonzero(ds.splits == "test")
  queries = vectors[:5]
  hits = chroma.query(tmp_path / "db", out.collection, queries, k=4,
                      where={"split": "test"})
  expected = ds.ids[test][_cosine_topk(queries, vectors[test], 4)]
  assert [list(h) for h in hits] == expected.tolist()
  hits = chroma.query(tmp_path / "db", out.collection, queries[:1], k=3,
                      where={"$and": [{"kind": "question"}, {"level": 0}]})
  sel = np.flatnonzero([i % 3 == 0 and i % 5 == 0 for i in range(N)])
  assert hits[0] == ds.ids[sel][_cosine_topk(queries[:1], vectors[sel], 3)[0]
                                ].tolist()
  record = chroma.client(tmp_path / "db").get_collection(
      out.collection).get(ids=["t3"], include=["metadatas", "documents"])
  meta = record["metadatas"][0]
  assert meta == {"text_id": "t3", "split": fmt.split_of("t3"),
                  "source_model": "model-a", "source_dataset": "toy/a",
                  "target_model": "model-a", "target_dataset": "toy/a",
                  "translator": "", "translator_model": "",
                  "kind": "question", "level": 3}
  assert record["documents"] == ["text t3"]
  # Exporting again refuses unless asked to append (or replace).
  col = chroma.client(tmp_path / "db").get_collection(
      out.collection, embedding_function=None)
  col.delete(ids=["t3"])
  with pytest.raises(ValueError, match="'toy-a' already exists \\(159 "
                     "records of toy/a -> model-a\\). Pass --replace.*"
                     "--append"):
    chroma.export_dataset(ds, tmp_path / "db")
  with pytest.raises(ValueError, match="exclude each other"):
    chroma.export_dataset(ds, tmp_path / "db", replace=True, append=True)
  assert col.count() == N - 1  # Nothing was written.
  assert chroma.export_dataset(ds, tmp_path / "db", append=True).count == N
  assert col.count() == N


def test_export_translated_vectors(trained, tmp_path,
                                   no_default_embedding_model):
  out = chroma.export_dataset(trained / "a", tmp_path / "db",
                              translator=trained / "work", split="test")
  ds = fmt.open_dataset(trained / "a")
  test = np.flatnonzero(ds.splits == "test")
  assert out.count == len(test) and out.metadata["dim"] == D_B
  assert out.metadata["target_model"] == "model-b"
  assert out.metadata["target_dataset"] == "toy/b"
  assert out.metadata["source_dataset"] == "toy/a"
  assert out.collection == "toy-a--to--toy-b"
  w, bias = _raw_params(trained / "work", 20)
  expected = np.asarray(ds.vectors)[test] @ w + bias
  col = chroma.client(tmp_path / "db").get_collection(out.collection)
  got = col.get(ids=ds.ids[test].tolist(),
                include=["embeddings", "metadatas"])
  order = {i: k for k, i in enumerate(got["ids"])}
  stored = np.asarray(got["embeddings"])[[order[i] for i in ds.ids[test]]]
  np.testing.assert_allclose(stored, expected, rtol=1e-4, atol=1e-4)
  meta = got["metadatas"][0]
  assert meta["source_model"] == "model-a" and meta["target_model"] == "model-b"
  assert meta["source_dataset"] == "toy/a" and meta["target_dataset"] == "toy/b"
  assert meta["translator"] == str(trained / "work")
  assert meta["translator_model"] == "linear" and meta["split"] == "test"
  hits = chroma.query(tmp_path / "db", out.collection, expected[:3], k=1,
                      where={"split": "test"})
  assert [h[0] for h in hits] == ds.ids[test][:3].tolist()
  with pytest.raises(ValueError, match="holds other vectors"):
    chroma.export_dataset(trained / "a", tmp_path / "db",
                          collection=out.collection, append=True)
  with pytest.raises(ValueError, match="maps 8-d vectors"):
    chroma.export_dataset(trained / "b", tmp_path / "db",
                          translator=trained / "work")
  assert json.loads((trained / "work" / "data.json").read_text())[
      "source_dim"] == D_A
