"""Exported translators: round trips, every input kind, every bad input."""

import contextlib
import io
import json
import pickle

import chex
import numpy as np
import pytest

from embtrans import cli
from embtrans import inference
from embtrans import train
from embtrans import translate as entry
from embtrans.data import format as fmt
from embtrans.export import apply as apply_lib
from embtrans.export import chroma
from embtrans.export import translator as tl
from tests import helpers

N, D_A, D_B = 160, 8, 6


def _dataset(path, ids, vectors, model, fingerprint, **extra):
  fmt.write_dataset(path, ids, vectors, manifest_extra={
      "name": f"toy/{model}", "model": model, "model_fingerprint": fingerprint,
      "normalized": False, **extra.pop("manifest", {})}, **extra)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Datasets A, B (B = tanh(A M)), a trained linear and an lstsq run."""
  root = tmp_path_factory.mktemp("export")
  rng = np.random.default_rng(0)
  ids = [f"t{i}" for i in range(N)]
  a = rng.standard_normal((N, D_A)).astype(np.float32)
  b = np.tanh(a @ rng.standard_normal((D_A, D_B))).astype(np.float32)
  kinds = ["question" if i % 3 == 0 else "paragraph" for i in range(N)]
  _dataset(root / "a", ids, a, "model-a", "fp-a",
           texts=[f"text {i}" for i in ids], metadata={"kind": kinds})
  _dataset(root / "b", ids, b, "model-b", "fp-b")
  arg = f"tiny=True,a={root / 'a'},b={root / 'b'},steps=20"
  for name, model in (("linear", "linear"), ("lstsq", "linear")):
    config = helpers.load_config(model, arg)
    config.num_devices, config.checkpoint_every = 1, 20
    config.baselines = ()
    if name == "lstsq":
      config.model = {"name": "lstsq"}
    train.train_and_evaluate(config, str(root / name))
  return root


@pytest.mark.parametrize("run", ["linear", "lstsq"])
def test_export_then_load_equals_the_inference_path(runs, tmp_path, run):
  out = tl.export(runs / run, tmp_path / "t")
  t = tl.load(out)
  x = fmt.open_dataset(runs / "a").vectors[:37]
  want = inference.load_translator(runs / run)(x)
  np.testing.assert_allclose(t(x), want, rtol=1e-5, atol=1e-5)
  c = json.loads((out / "config.json").read_text())
  assert (c["source"]["model_fingerprint"], c["target"]["model"]) == (
      "fp-a", "model-b")
  assert c["num_train_pairs"] == int(np.sum(fmt.open_dataset(
      runs / "a").splits == "train"))
  assert "recall@1" in (out / "README.md").read_text()
  if run == "lstsq":  # Against NumPy's own least squares.
    ds_a, ds_b = fmt.open_dataset(runs / "a"), fmt.open_dataset(runs / "b")
    tr = ds_a.splits == "train"
    xa, yb = np.asarray(ds_a.vectors, np.float64), np.asarray(ds_b.vectors,
                                                             np.float64)
    design = np.c_[xa[tr], np.ones(tr.sum())]
    coef, *_ = np.linalg.lstsq(design, yb[tr], rcond=None)
    np.testing.assert_allclose(t(x), np.c_[x, np.ones(37)] @ coef,
                               rtol=1e-4, atol=1e-4)


def test_apply_npy_parquet_and_dataset(runs, tmp_path):
  import pyarrow as pa  # pylint: disable=g-import-not-at-top
  import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
  t = tl.load(tl.export(runs / "linear", tmp_path / "t"))
  ds = fmt.open_dataset(runs / "a")
  x = np.asarray(ds.vectors, np.float32)
  np.save(tmp_path / "x.npy", x[:5])
  entry.apply_command(str(tmp_path / "t"), str(tmp_path / "x.npy"),
                      str(tmp_path / "y.npy"))
  np.testing.assert_allclose(np.load(tmp_path / "y.npy"), t(x[:5]), atol=1e-6)
  pq.write_table(pa.table({"id": ["p", "q"], "embedding": list(x[:2])}),
                 tmp_path / "x.parquet")
  apply_lib.apply_parquet(t, tmp_path / "x.parquet", tmp_path / "y.parquet")
  got = pq.read_table(tmp_path / "y.parquet")
  assert got.column("id").to_pylist() == ["p", "q"]
  np.testing.assert_allclose(np.asarray(got.column("embedding").to_pylist()),
                             t(x[:2]), atol=1e-6)
  out = apply_lib.apply_dataset(t, runs / "a", tmp_path / "ds")
  chex.assert_shape(np.asarray(out.vectors), (N, D_B))
  np.testing.assert_array_equal(out.ids, ds.ids)
  np.testing.assert_array_equal(out.splits, ds.splits)
  assert out.manifest["model_fingerprint"] == "fp-b"
  np.testing.assert_allclose(np.asarray(out.vectors), t(x), atol=1e-6)


def test_a_collection_translated_and_queried_with_a_where_filter(
    runs, tmp_path):
  t = tl.load(tl.export(runs / "linear", tmp_path / "t"))
  db = tmp_path / "chroma"
  orig = chroma.export_dataset(runs / "a", db, "docs")
  out = apply_lib.apply_collection(t, db, "docs")
  assert out.count == N and out.metadata["target_model"] == "model-b"
  col = chroma.client(db).get_collection("docs", embedding_function=None)
  assert col.count() == N and col.metadata["dim"] == D_A  # Untouched.
  assert col.metadata["model_fingerprint"] == orig.metadata[
      "model_fingerprint"] == "fp-a"
  x = np.asarray(fmt.open_dataset(runs / "a").vectors, np.float32)
  keys = t(x)
  queries = np.random.default_rng(3).standard_normal((4, D_B))
  hits = chroma.query(db, out.collection, queries, k=5,
                      where={"kind": "question"})
  question = np.arange(N)[np.arange(N) % 3 == 0]
  kq = keys[question] / np.linalg.norm(keys[question], axis=1, keepdims=True)
  q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
  want = question[np.argsort(-(q @ kq.T), axis=1)[:, :5]]
  assert [[int(i[1:]) for i in row] for row in hits] == want.tolist()
  meta = chroma.client(db).get_collection(
      out.collection, embedding_function=None).get(ids=["t0"])["metadatas"][0]
  assert (meta["kind"], meta["translator_model"]) == ("question", "linear")


def _one_line_error(fn, *args, **kwargs) -> str:
  err = io.StringIO()
  with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(err):
    with cli.user_errors(entry.PROG):
      fn(*args, **kwargs)
  msg = err.getvalue().strip()
  assert e.value.code == 1
  assert msg.startswith(f"{entry.PROG}: error: ") and "\n" not in msg
  return msg


def test_bad_inputs_get_one_clear_line(runs, tmp_path):
  good = tl.export(runs / "linear", tmp_path / "t")
  np.save(tmp_path / "wide.npy", np.zeros((2, D_B), np.float32))
  assert "holds 6-d vectors" in _one_line_error(
      entry.apply_command, str(good), str(tmp_path / "wide.npy"),
      str(tmp_path / "o.npy"))
  _dataset(tmp_path / "other", ["x0", "x1"], np.zeros((2, D_A)), "model-c",
           "fp-c")
  assert "model fingerprint fp-c" in _one_line_error(
      entry.apply_command, str(good), str(tmp_path / "other"),
      str(tmp_path / "o"))
  np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
  assert "without unpickling" in _one_line_error(
      entry.apply_command, str(good), str(tmp_path / "obj.npy"),
      str(tmp_path / "o.npy"))
  weights = (good / "model.safetensors").read_bytes()
  cases = {"truncated": weights[:len(weights) // 2],
           "corrupt": b"\x07" * 8 + weights[8:],
           "pickle": pickle.dumps({"dense": np.zeros(3)})}
  for name, blob in cases.items():
    bad = tmp_path / name
    bad.mkdir()
    (bad / "model.safetensors").write_bytes(blob)
    msg = _one_line_error(tl.load, bad)
    assert ("is a pickle" if name == "pickle" else "corrupt or truncated"
            ) in msg, msg
  (good / "config.json").write_text(json.dumps({"format": "edited"}))
  assert "disagrees" in _one_line_error(tl.load, good)
  assert "not empty" in _one_line_error(tl.export, runs / "linear", good)


def test_a_sweep_member_is_read_from_its_row_of_the_program(runs, tmp_path):
  """A cell with seeds 0, 1 stored at rows 1, 2 of a 3-member program."""
  from embtrans import checkpointing  # pylint: disable=g-import-not-at-top
  cell = tmp_path / "sweep" / "cells" / "c"
  cell.mkdir(parents=True)
  config = json.loads((runs / "linear" / "config.json").read_text())
  config["num_seeds"] = 2
  lr = config["optimizer"]["learning_rate"]
  (cell / "config.json").write_text(json.dumps(config))
  (cell / "data.json").write_text((runs / "linear" / "data.json").read_text())
  (cell / "cell.json").write_text(json.dumps({
      "name": "c", "program": "p", "members": {"0": 1, "1": 2}}))
  rng = np.random.default_rng(5)
  kernel = rng.standard_normal((3, D_A, D_B)).astype(np.float32)
  bias = rng.standard_normal((3, D_B)).astype(np.float32)
  manager = checkpointing.create_manager(
      tmp_path / "sweep" / "programs" / "p" / "checkpoints")
  checkpointing.save(manager, 20, {
      "step": np.int32(20), "lr": np.array([9.0, lr, lr], np.float32),
      "params": {"dense": {"kernel": kernel, "bias": bias}}, "opt_state": {}})
  manager.wait_until_finished()
  manager.close()
  x = rng.standard_normal((4, D_A)).astype(np.float32)
  for seed, row in ((0, 1), (1, 2)):
    t = tl.load(tl.export(cell / f"seed_{seed}", tmp_path / f"s{seed}"))
    np.testing.assert_allclose(t(x), x @ kernel[row] + bias[row], rtol=1e-5,
                               atol=1e-5)
  assert "name one" in _one_line_error(tl.export, cell, tmp_path / "s9")
