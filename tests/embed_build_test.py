"""Building datasets: resumable writes, a SIGKILLed CLI build, the cache,
the three example configs end to end, pairing by id, and bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from embtrans import data
from embtrans.data import build
from embtrans.data import format as fmt
from tests import embed_helpers
from tests import helpers


def _rows(n, dim, seed=0):
  rng = np.random.default_rng(seed)
  return [f"r{i}" for i in range(n)], rng.standard_normal(
      (n, dim)).astype(np.float32)


def _same_dataset(a, b):
  np.testing.assert_array_equal(a.ids, b.ids)
  np.testing.assert_array_equal(np.asarray(a.vectors), np.asarray(b.vectors))
  assert a.rows.equals(b.rows)


def test_resumable_writer_continues_after_a_crash(tmp_path):
  ids, vectors = _rows(50, 4)
  meta = {"n": list(range(50))}
  with pytest.raises(RuntimeError):
    with fmt.DatasetWriter(tmp_path / "ds", 4, shard_rows=8,
                           resume_key="k1") as w:
      w.add(ids[:20], vectors[:20], metadata={"n": meta["n"][:20]})
      raise RuntimeError("killed")
  partial = tmp_path / "ds.partial"
  progress = json.loads((partial / fmt.PROGRESS).read_text())
  assert progress["rows_done"] == 16 and len(progress["shards"]) == 2
  assert not (partial / fmt.MANIFEST).exists()
  assert not fmt.is_complete(tmp_path / "ds")
  (partial / "vectors" / "00002.npy.tmp").write_bytes(b"torn write")
  with fmt.DatasetWriter(tmp_path / "ds", 4, shard_rows=8,
                         resume_key="k1") as w:
    assert w.rows_done == 16
    w.add(ids[16:], vectors[16:], metadata={"n": meta["n"][16:]})
  with fmt.DatasetWriter(tmp_path / "ref", 4, shard_rows=8) as w:
    w.add(ids, vectors, metadata=meta)
  _same_dataset(fmt.open_dataset(tmp_path / "ds"),
                fmt.open_dataset(tmp_path / "ref"))
  assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == [
      fmt.MANIFEST, fmt.ROWS, "vectors"]
  assert not partial.exists()


def test_resume_rejects_another_key_and_damaged_shards(tmp_path):
  ids, vectors = _rows(24, 4)
  with pytest.raises(RuntimeError):
    with fmt.DatasetWriter(tmp_path / "ds", 4, shard_rows=8,
                           resume_key="k1") as w:
      w.add(ids, vectors)
      raise RuntimeError("killed")
  with fmt.DatasetWriter(tmp_path / "ds", 4, shard_rows=8,
                         resume_key="other") as w:
    assert w.rows_done == 0
    w.add(ids[:16], vectors[:16])
    raise_later = True
  del raise_later
  with pytest.raises(RuntimeError):
    with fmt.DatasetWriter(tmp_path / "x", 4, shard_rows=8,
                           resume_key="k1") as w:
      w.add(ids, vectors)
      raise RuntimeError("killed")
  shard = tmp_path / "x.partial" / "vectors" / "00001.npy"
  shard.write_bytes(shard.read_bytes()[:-4] + b"\0\0\0\0")
  with fmt.DatasetWriter(tmp_path / "x", 4, shard_rows=8,
                         resume_key="k1") as w:
    assert w.rows_done == 8  # Shards from the damaged one on are redone.
    w.add(ids[8:], vectors[8:])
  np.testing.assert_array_equal(
      np.asarray(fmt.open_dataset(tmp_path / "x").vectors), vectors)


def _progress(partial):
  try:
    return json.loads((partial / fmt.PROGRESS).read_text())["rows_done"]
  except (OSError, ValueError, KeyError):
    return 0


MINILM_ARG = "limit=32,batch_size=8,shard_rows=8"


def test_sigkill_mid_build_then_rerun_equals_uninterrupted(tmp_path):
  config = helpers.load_config("embed/minilm_pydocs", MINILM_ARG)
  cache = tmp_path / "cache"
  path = cache / build.dataset_key("pydocs", "minilm", 32, {})
  proc = subprocess.Popen(
      [sys.executable, "-m", "embtrans.embed",
       f"--config=configs/embed/minilm_pydocs.py:{MINILM_ARG}",
       f"--cache_dir={cache}"], cwd=helpers.ROOT, stdout=subprocess.DEVNULL,
      stderr=subprocess.PIPE, text=True)
  partial = path.with_name(path.name + ".partial")
  deadline = time.time() + 300
  while _progress(partial) < 8 and proc.poll() is None:
    assert time.time() < deadline, "the build never committed a shard"
    time.sleep(0.005)
  proc.send_signal(signal.SIGKILL)
  _, err = proc.communicate()
  assert proc.returncode == -signal.SIGKILL, err[-2000:]
  killed_at = _progress(partial)
  assert 8 <= killed_at < 32 and not fmt.is_complete(path)
  ds, built, _ = build.build_from_config(config, cache_dir=str(cache))
  assert built and ds.path == path
  assert ds.manifest["build"]["resumed_at_row"] == killed_at
  ref, _, _ = build.build_from_config(config, cache_dir=str(tmp_path / "ref"))
  assert ref.manifest["build"]["resumed_at_row"] == 0
  np.testing.assert_array_equal(ds.ids, ref.ids)
  assert ds.column("text").tolist() == ref.column("text").tolist()
  np.testing.assert_allclose(np.asarray(ds.vectors), np.asarray(ref.vectors),
                             atol=1e-6)
  assert ds.manifest["count"] == 32 and ds.dim == 384
  # The CLI-built dataset is the one training resolves for 'minilm'.
  assert build.resolve_dataset("minilm", limit=32,
                               cache_dir=cache).path == path


@pytest.fixture(scope="module")
def hotpot(tmp_path_factory):
  root = tmp_path_factory.mktemp("hotpot")
  return {"file": embed_helpers.write_hotpotqa(root / "dev.jsonl"),
          "t5": embed_helpers.t5(root / "t5"), "root": root}


def test_t5_hotpotqa_then_precomputed_import_pair_by_id(hotpot, monkeypatch):
  cache = hotpot["root"] / "cache"
  arg = f"data_files={hotpot['file']},model_path={hotpot['t5']}"
  config = helpers.load_config("embed/t5_hotpotqa", arg)
  t5, built, _ = build.build_from_config(config, cache_dir=str(cache))
  assert built and t5.dim == 32 and t5.manifest["normalized"]
  assert len(t5) == 4 + embed_helpers.num_hotpotqa_paragraphs()
  assert set(t5.column("kind")) == {"question", "paragraph"}
  assert t5.manifest["text_source"] == "hotpotqa"
  # A second run is instant: the model is not even loaded.
  monkeypatch.setattr(build.encoders_lib, "get_encoder", pytest.fail)
  again, built, seconds = build.build_from_config(config, cache_dir=str(cache))
  assert not built and again.path == t5.path and seconds < 5
  monkeypatch.undo()

  # Export T5's vectors "from elsewhere" (ids + vectors), import them with
  # HotPotQA's texts, and pair the two datasets by id.
  rng = np.random.default_rng(0)
  order = rng.permutation(len(t5))
  export = hotpot["root"] / "export.parquet"
  pq.write_table(pa.table({
      "id": t5.ids[order].tolist(),
      "embedding": np.asarray(t5.vectors)[order].tolist()}), export)
  imp_config = helpers.load_config(
      "embed/precomputed", f"path={export},model=t5-export,dim=32,"
      f"source=hotpotqa,source_path={hotpot['file']}")
  imported, _, _ = build.build_from_config(imp_config, cache_dir=str(cache))
  assert imported.manifest["normalized"] and imported.name == "hotpotqa/t5-export"
  np.testing.assert_array_equal(imported.ids, t5.ids[order])
  assert imported.column("text").tolist() == t5.column("text")[order].tolist()
  paired = data.pair(t5, imported.path)
  assert paired.dropped_a == paired.dropped_b == 0
  assert len(paired.train) + len(paired.test) == len(t5)
  np.testing.assert_array_equal(paired.train.a, paired.train.b)
  np.testing.assert_array_equal(paired.test.a, paired.test.b)
  # By name, through the same API.
  assert data.load("hotpotqa-local/t5", cache_dir=cache).path == t5.path


def test_bad_input_fails_clearly_and_damages_nothing(hotpot, tmp_path):
  ids, vectors = _rows(10, 3)
  np.save(tmp_path / "v3.npy", vectors)
  (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
  out = tmp_path / "out"
  cfg = lambda arg: helpers.load_config("embed/precomputed", arg)  # pylint: disable=g-long-lambda
  base = f"path={tmp_path / 'v3.npy'},ids={tmp_path / 'ids.txt'}"
  build.build_from_config(cfg(base), output=str(out))
  before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

  np.save(tmp_path / "v5.npy", np.ones((10, 5), np.float32))
  with pytest.raises(fmt.DatasetError, match="manifest says dim=3"):
    build.build_from_config(cfg(f"path={tmp_path / 'v5.npy'},ids="
                                f"{tmp_path / 'ids.txt'}"), output=str(out),
                            overwrite=True)
  bad = vectors.copy()
  bad[7, 0] = np.inf
  np.save(tmp_path / "bad.npy", bad)
  with pytest.raises(fmt.DatasetError, match="row 7 \\(id 'r7'\\)"):
    build.build_from_config(cfg(f"path={tmp_path / 'bad.npy'},ids="
                                f"{tmp_path / 'ids.txt'}"), output=str(out),
                            overwrite=True)
  (tmp_path / "dup.txt").write_text("\n".join(ids[:9] + ["r0"]) + "\n")
  with pytest.raises(fmt.DatasetError, match="duplicate ids"):
    build.build_from_config(cfg(f"path={tmp_path / 'v3.npy'},ids="
                                f"{tmp_path / 'dup.txt'}"), output=str(out),
                            overwrite=True)
  with pytest.raises(fmt.DatasetError, match="already holds another"):
    build.build_from_config(cfg(f"{base},normalize=True"), output=str(out))
  assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

  texts = tmp_path / "t.jsonl"
  texts.write_text('{"text": "fine"}\n{"text": ""}\n')
  with pytest.raises(fmt.DatasetError, match="1 empty text"):
    build.build_dataset("files", "minilm_static", source_kwargs={
        "path": str(texts)}, output=tmp_path / "empty")
  with pytest.raises(FileNotFoundError, match="model path .* does not exist"):
    build.build_from_config(helpers.load_config(
        "embed/t5_hotpotqa", f"data_files={hotpot['file']},model_path="
        f"{tmp_path / 'no_model'}"), output=str(tmp_path / "t5"))
  with pytest.raises(ValueError, match="Known encoders"):
    build.build_dataset("pydocs", "gpt-9", output=tmp_path / "g")
  with pytest.raises(ValueError, match="Known sources"):
    build.build_dataset("wiki", "minilm_static", output=tmp_path / "w")
  # Failed imports keep their committed shards in out.partial (resumable);
  # nothing else was created.
  assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
      "out", "out.partial"]


def test_open_reads_only_ids_and_splits(tmp_path):
  ids, vectors = _rows(1200, 4)
  fmt.write_dataset(tmp_path / "ds", ids, vectors, texts=[f"t{i}" for i in ids],
                    metadata={"label": list(range(1200))})
  ds = fmt.open_dataset(tmp_path / "ds")
  assert ds._rows is None  # pylint: disable=protected-access
  few = np.array([599, 5, -1])  # Few rows of a shard: read with pread.
  assert few.size * ds.vectors.SPARSE_READ < 1200
  np.testing.assert_array_equal(ds.vectors[few], vectors[few])
  np.testing.assert_array_equal(ds.vectors[7], vectors[7])
  np.testing.assert_array_equal(ds.vectors[::3], vectors[::3])  # Mapped.
  assert ds.column("label").tolist() == list(range(1200))
  assert ds._rows is None  # pylint: disable=protected-access
  assert ds.rows.column_names == ["id", "split", "text", "label"]
  np.testing.assert_array_equal(ds.splits, [fmt.split_of(i) for i in ids])


def test_load_by_name_is_unambiguous(tmp_path):
  for d in ("a", "b"):
    helpers.random_dataset(tmp_path / d, 5, 2)
    m = json.loads((tmp_path / d / fmt.MANIFEST).read_text())
    m["name"] = "same"
    (tmp_path / d / fmt.MANIFEST).write_text(json.dumps(m))
  with pytest.raises(fmt.DatasetError, match="2 datasets .* named 'same'"):
    data.load("same", cache_dir=tmp_path)
  with pytest.raises(fmt.DatasetError, match="Known names: \\['same'\\]"):
    data.load("other", cache_dir=tmp_path)
  assert data.load(str(tmp_path / "a")).path == tmp_path / "a"
  assert len(data.load("a", cache_dir=tmp_path)) == 5


def test_clip_vision_over_an_image_folder(tmp_path):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from embtrans.encoders.clip import ClipVisionEncoder  # pylint: disable=g-import-not-at-top
  model = embed_helpers.clip(tmp_path / "clip")
  images = np.random.default_rng(0).integers(0, 256, (5, 24, 30, 3),
                                             dtype=np.uint8)
  (tmp_path / "img" / "sub").mkdir(parents=True)
  names = ["a.png", "b.png", "sub/c.png", "sub/d.png", "e.png"]
  for name, im in zip(names, images):
    Image.fromarray(im).save(tmp_path / "img" / name)
  ds = build.build_dataset("images", "clip_vision",
                           source_kwargs={"path": str(tmp_path / "img")},
                           encoder_kwargs={"path": str(model)},
                           output=tmp_path / "ds")
  order = sorted(range(5), key=lambda i: names[i])
  assert ds.ids.tolist() == [f"image:{names[i]}" for i in order]
  ref = ClipVisionEncoder(str(model)).encode_images(images[order])
  np.testing.assert_allclose(np.asarray(ds.vectors), ref, atol=1e-6)
  with pytest.raises(ValueError, match="reads images but source 'pydocs'"):
    build.build_dataset("pydocs", "clip_vision", 5,
                        {"path": str(model)}, output=tmp_path / "x")
