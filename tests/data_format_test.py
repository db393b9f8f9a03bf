"""The embedding-dataset format: round trip, split, atomicity, corruption."""

import hashlib
import json

import numpy as np
import pytest

from embtrans.data import format as fmt
from tests import helpers


def test_round_trip_across_shards(tmp_path):
  rng = np.random.default_rng(0)
  ids = [f"id{i}" for i in range(50)]
  vectors = rng.standard_normal((50, 8)).astype(np.float32)
  with fmt.DatasetWriter(tmp_path / "ds", 8, {"name": "x"}, shard_rows=16) as w:
    w.add(ids[:30], vectors[:30], metadata={"label": list(range(30))})
    w.add(ids[30:], vectors[30:], metadata={"label": list(range(30, 50))})
  ds = fmt.open_dataset(tmp_path / "ds")
  assert len(ds.manifest["shards"]) == 4
  np.testing.assert_array_equal(ds.ids, ids)
  np.testing.assert_array_equal(np.asarray(ds.vectors), vectors)
  perm = rng.permutation(50)
  np.testing.assert_array_equal(ds.vectors[perm], vectors[perm])
  np.testing.assert_array_equal(ds.vectors[3], vectors[3])
  np.testing.assert_array_equal(ds.column("label"), np.arange(50))
  assert ds.dim == 8 and ds.vectors.shape == (50, 8)


def test_vectors_are_memory_mapped(tmp_path):
  helpers.random_dataset(tmp_path / "ds", 20, 4)
  ds = fmt.open_dataset(tmp_path / "ds")
  assert isinstance(ds.vectors._shards[0], np.memmap)


def _reference_split(example_id: str) -> str:
  # The documented rule (SHA-1 of the id, first 8 bytes big-endian, bucket
  # mod 100 below 80 is train), written out independently of format.py.
  digest = hashlib.sha1(example_id.encode("utf-8")).digest()
  return "train" if int.from_bytes(digest[:8], "big") % 100 < 80 else "test"


def test_split_is_the_documented_hash_of_the_id_and_about_80_20():
  ids = [f"doc-{i}" for i in range(20_000)]
  splits = [fmt.split_of(i) for i in ids]
  assert splits == [_reference_split(i) for i in ids]
  frac = splits.count("train") / len(splits)
  assert 0.79 < frac < 0.81


def test_failed_write_leaves_existing_dataset_untouched(tmp_path):
  _, vectors = helpers.random_dataset(tmp_path / "ds", 10, 4)
  with pytest.raises(RuntimeError):
    with fmt.DatasetWriter(tmp_path / "ds", 4) as w:
      w.add(["a"], np.zeros((1, 4)))
      raise RuntimeError("crash mid-build")
  ds = fmt.open_dataset(tmp_path / "ds")
  np.testing.assert_array_equal(np.asarray(ds.vectors), vectors)
  assert not fmt.is_complete(tmp_path / "ds.partial")


@pytest.mark.parametrize("ids, vectors, match", [
    (["a", "a"], np.zeros((2, 4)), "duplicate ids"),
    (["a", "b"], np.zeros((2, 5)), "expected \\(2, 4\\)"),
    (["a", "b"], np.array([[0, 0, 0, np.nan], [0] * 4]), "NaN or inf"),
])
def test_writer_rejects_bad_rows(tmp_path, ids, vectors, match):
  with pytest.raises(fmt.DatasetError, match=match):
    with fmt.DatasetWriter(tmp_path / "ds", 4) as w:
      w.add(ids, np.asarray(vectors))
  assert not (tmp_path / "ds").exists()


def _corrupt_truncate(path):
  shard = path / "vectors" / "00000.npy"
  shard.write_bytes(shard.read_bytes()[:100])


def _corrupt_flip(path):
  shard = path / "vectors" / "00000.npy"
  data = bytearray(shard.read_bytes())
  data[-3] ^= 0xFF
  shard.write_bytes(bytes(data))


def _corrupt_manifest(path):
  (path / "manifest.json").write_text("{not json")


def _remove_manifest(path):
  (path / "manifest.json").unlink()


def _wrong_dim(path):
  manifest = json.loads((path / "manifest.json").read_text())
  manifest["dim"] = 7
  (path / "manifest.json").write_text(json.dumps(manifest))


def _corrupt_rows(path):
  (path / "rows.parquet").write_bytes(b"garbage")


@pytest.mark.parametrize("corrupt, match", [
    (_corrupt_truncate, "checksum"), (_corrupt_flip, "checksum"),
    (_corrupt_manifest, "corrupt"), (_remove_manifest, "not a complete"),
    (_wrong_dim, "manifest says"), (_corrupt_rows, "rows.parquet"),
])
def test_corrupt_dataset_gives_a_clear_error(tmp_path, corrupt, match):
  helpers.random_dataset(tmp_path / "ds", 10, 4)
  corrupt(tmp_path / "ds")
  with pytest.raises(fmt.DatasetError, match=match):
    fmt.open_dataset(tmp_path / "ds")


def test_truncated_shard_without_verification_still_fails_clearly(tmp_path):
  helpers.random_dataset(tmp_path / "ds", 10, 4)
  _corrupt_truncate(tmp_path / "ds")
  with pytest.raises(fmt.DatasetError, match="unreadable or truncated"):
    fmt.open_dataset(tmp_path / "ds", verify=False)


def test_missing_directory(tmp_path):
  with pytest.raises(fmt.DatasetError, match="not a directory"):
    fmt.open_dataset(tmp_path / "nope")
