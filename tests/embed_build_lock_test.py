"""Builds as real processes: two concurrent builders of one cache key give
one valid dataset; a fitted encoder (tfidf_lsa) sees the train texts only."""

import json
import os
import subprocess
import sys
import time

import numpy as np

from embtrans.data import build
from embtrans.data import format as fmt
from tests import helpers

WORDS = ("kettle garden river engine violin harbour orchard lantern bicycle "
         "meadow bread ladder copper window thunder pebble").split()


def _notes(path, n=600, test_words=None):
  """n notes; test rows (by the id's split) draw from `test_words` if set."""
  rng = np.random.default_rng(0)
  rows = []
  for i in range(n):
    words = WORDS if test_words is None or fmt.split_of(f"n{i}") == "train" \
        else test_words
    rows.append({"id": f"n{i}", "body": " ".join(rng.choice(words, 6))})
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))
  return path


def _spec(path):
  return dict(source="files", encoder="tfidf_lsa",
              encoder_kwargs={"dim": 8, "min_df": 1},
              source_kwargs={"path": str(path), "text_column": "body",
                             "id_column": "id"})


# Imports, says it is ready (argv[4]), waits for the go file (argv[3]),
# builds into the cache (argv[2]), prints the dataset path.
BUILDER = """
import json, os, pathlib, sys, time
from embtrans.data import build
spec = json.loads(sys.argv[1])
pathlib.Path(sys.argv[4]).touch()
while not os.path.exists(sys.argv[3]):
  time.sleep(0.005)
ds = build.build_dataset(cache_dir=sys.argv[2], batch_size=16,
                         shard_rows=64, **spec)
print(ds.path)
"""


def test_two_concurrent_builders_of_one_key_make_one_valid_dataset(tmp_path):
  notes, cache, go = _notes(tmp_path / "notes.jsonl"), tmp_path / "cache", (
      tmp_path / "go")
  env = dict(os.environ, PYTHONPATH=str(helpers.ROOT), JAX_PLATFORMS="cpu")
  ready = [tmp_path / f"ready{k}" for k in range(2)]
  procs = [subprocess.Popen(
      [sys.executable, "-c", BUILDER, json.dumps(_spec(notes)), str(cache),
       str(go), str(r)], cwd=helpers.ROOT, env=env, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True) for r in ready]
  deadline = time.time() + 120
  while not all(r.exists() for r in ready):  # Both imported, both waiting.
    assert all(p.poll() is None for p in procs) and time.time() < deadline
    time.sleep(0.01)
  go.touch()
  outs = [p.communicate(timeout=300) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  paths = {out.strip().splitlines()[-1] for out, _ in outs}
  assert len(paths) == 1
  assert sorted(p.name for p in cache.iterdir()) == [
      os.path.basename(paths.pop())]  # No .partial, no .lock left.
  ds = fmt.open_dataset(next(cache.iterdir()), verify=True)
  assert len(ds) == 600 and len(set(ds.ids)) == 600
  alone = build.build_dataset(output=tmp_path / "alone", batch_size=16,
                              shard_rows=64, **_spec(notes))
  np.testing.assert_array_equal(ds.ids, alone.ids)
  np.testing.assert_allclose(np.asarray(ds.vectors),
                             np.asarray(alone.vectors), atol=1e-6)


def test_tfidf_lsa_rows_of_train_do_not_depend_on_test_texts(tmp_path):
  first = build.build_dataset(output=tmp_path / "a", **_spec(
      _notes(tmp_path / "a.jsonl")))
  second = build.build_dataset(output=tmp_path / "b", **_spec(_notes(
      tmp_path / "b.jsonl", test_words=("zebra quasar tundra " * 3).split())))
  np.testing.assert_array_equal(first.ids, second.ids)
  train = np.asarray(first.splits) == "train"
  assert 0 < train.sum() < len(train)
  np.testing.assert_allclose(np.asarray(first.vectors)[train],
                             np.asarray(second.vectors)[train], atol=1e-6)
  # The test rows did change (their words are unknown to the fit: zeros).
  assert not np.allclose(np.asarray(first.vectors)[~train],
                         np.asarray(second.vectors)[~train])
