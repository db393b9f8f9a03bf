"""Repeated texts: counted and reported at build time, optionally dropped;
pairing counts test texts that also occur in train."""

import json
import logging

import numpy as np
import pytest

from embtrans.data import build
from embtrans.data import format as fmt
from embtrans.data import pairing
from tests import embed_helpers
from tests import helpers

UNIQUE = 30
REPEATS = 10  # Rows 30..39 repeat the texts of rows 0..9 under new ids.


def _rows():
  texts = [f"note number {i} about topic {i % 7}" for i in range(UNIQUE)]
  texts += texts[:REPEATS]
  return [{"id": f"d{i}", "body": t} for i, t in enumerate(texts)]


@pytest.fixture
def notes(tmp_path):
  path = tmp_path / "notes.jsonl"
  path.write_text("".join(json.dumps(r) + "\n" for r in _rows()))
  return path


def _build(path, cache, drop):
  config = helpers.load_config(
      "embed/files", f"path={path},text_column=body,id_column=id,encoder="
      f"{embed_helpers.register_hash_encoder()},drop_duplicate_texts={drop}")
  return build.build_from_config(config, cache_dir=str(cache))[0]


def test_repeats_are_reported_and_kept_by_default(notes, tmp_path, caplog):
  with caplog.at_level(logging.WARNING):
    ds = _build(notes, tmp_path / "c", False)
  assert len(ds) == UNIQUE + REPEATS
  dup = ds.manifest["duplicate_texts"]
  assert (dup["rows"], dup["texts"], dup["dropped"]) == (REPEATS, REPEATS,
                                                         False)
  assert dup["examples"][0] == {"text": _rows()[0]["body"],
                                "ids": ["d0", f"d{UNIQUE}"]}
  assert "10 of 40 texts repeat an earlier text" in caplog.text
  assert "10 rows repeat an earlier text" in build.summary(ds, True, 1.0)


def test_drop_keeps_the_first_of_each_text(notes, tmp_path):
  kept = _build(notes, tmp_path / "c", False)
  ds = _build(notes, tmp_path / "c", True)
  assert ds.path != kept.path and ds.name.endswith("-dedup")
  assert ds.ids.tolist() == [f"d{i}" for i in range(UNIQUE)]
  assert ds.manifest["duplicate_texts"]["dropped"] is True
  np.testing.assert_array_equal(np.asarray(ds.vectors),
                                np.asarray(kept.vectors)[:UNIQUE])


def _leaks(rows):
  """Test rows whose text a train row has: the reference count."""
  train = {r["body"] for r in rows if fmt.split_of(r["id"]) == "train"}
  return sum(r["body"] in train for r in rows
             if fmt.split_of(r["id"]) == "test")


def test_pairing_counts_test_texts_seen_in_train(notes, tmp_path, caplog):
  expected = _leaks(_rows())
  assert expected > 0  # The fixture straddles the split.
  ds = _build(notes, tmp_path / "c", False)
  with caplog.at_level(logging.WARNING):
    paired = pairing.pair_datasets(ds, ds)
  assert paired.test_texts_in_train == expected
  assert paired.swapped().test_texts_in_train == expected
  assert f"{expected} of {len(paired.test)} test texts also occur in train" \
      in caplog.text
  dedup = _build(notes, tmp_path / "c", True)
  assert pairing.pair_datasets(dedup, dedup).test_texts_in_train == 0


def test_pairing_without_texts_reports_none(tmp_path):
  ids = [f"t{i}" for i in range(40)]
  for name in ("a", "b"):
    fmt.write_dataset(tmp_path / name, ids, np.ones((40, 2), np.float32))
  paired = pairing.pair_datasets(fmt.open_dataset(tmp_path / "a"),
                                 fmt.open_dataset(tmp_path / "b"))
  assert paired.test_texts_in_train is None


def test_drop_is_refused_for_an_import_before_writing(tmp_path):
  with pytest.raises(ValueError, match="drop_duplicate_texts applies to text "
                     "encoders; 'precomputed' reads ids"):
    build.build_dataset(None, "precomputed", cache_dir=tmp_path / "c",
                        encoder_kwargs={"path": str(tmp_path / "v.npy")},
                        drop_duplicate_texts=True)
  assert not (tmp_path / "c").exists()
