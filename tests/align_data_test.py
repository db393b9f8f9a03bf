"""Token datasets, the alignment data interface and the planted set."""

import json

import jax
import numpy as np
import pytest

from embtrans.data import format as fmt
from embtrans.data import planted
from embtrans.data import token_pairs
from embtrans.data import tokens as tokens_lib
from embtrans.tasks import align
from embtrans.tasks import align_scores
from tests import helpers
from tests.align_helpers import fast_compile  # pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("fast_compile")


def _write_tokens(path, n=6, t=4, d=3, dtype="float32", splits=None):
  rng = np.random.default_rng(0)
  toks = rng.standard_normal((n, t, d)).astype(np.float32)
  lengths = np.arange(n) % t + 1
  ids = [f"img{i}" for i in range(n)]
  with tokens_lib.TokenDatasetWriter(path, n, t, d, dtype,
                                     {"name": "toy"}) as w:
    w.add(ids[:2], toks[:2], lengths[:2], splits=splits and splits[:2])
    w.add(ids[2:], toks[2:], lengths[2:], splits=splits and splits[2:])
  return ids, toks, lengths


def test_token_dataset_round_trip_zeroes_padding(tmp_path):
  ids, toks, lengths = _write_tokens(tmp_path / "tok", dtype="float16")
  ds = tokens_lib.open_token_dataset(tmp_path / "tok")
  assert list(ds.ids) == ids and ds.tokens.dtype == np.float16
  np.testing.assert_array_equal(ds.lengths, lengths)
  for i, n in enumerate(lengths):
    np.testing.assert_allclose(ds.tokens[i, :n], toks[i, :n], atol=2e-3)
    assert not ds.tokens[i, n:].any()
  assert list(ds.splits) == [fmt.split_of(i) for i in ids]
  assert not (tmp_path / "tok.partial").exists()


def test_token_dataset_detects_corruption_and_bad_input(tmp_path):
  _write_tokens(tmp_path / "tok")
  with open(tmp_path / "tok" / "tokens.npy", "r+b") as f:
    f.seek(-4, 2)
    f.write(b"\x00\x00\xc0\x7f")
  with pytest.raises(fmt.DatasetError, match="checksum"):
    tokens_lib.open_token_dataset(tmp_path / "tok")
  with pytest.raises(fmt.DatasetError, match="no manifest.json"):
    tokens_lib.open_token_dataset(tmp_path / "missing")
  with pytest.raises(fmt.DatasetError, match="NaN"):
    with tokens_lib.TokenDatasetWriter(tmp_path / "nan", 1, 2, 2) as w:
      w.add(["a"], np.full((1, 2, 2), np.nan), [2])
  assert not (tmp_path / "nan").exists()
  with pytest.raises(fmt.DatasetError, match="2 announced"):
    with tokens_lib.TokenDatasetWriter(tmp_path / "short", 2, 2, 2) as w:
      w.add(["a"], np.ones((1, 2, 2)), [2])


def _one_to_many(tmp_path):
  """6 images (4 train, 2 test), image i has i % 3 + 1 captions."""
  splits = ["train", "train", "test", "train", "test", "train"]
  ids, toks, lengths = _write_tokens(tmp_path / "tok", splits=splits)
  cap_ids, items, vecs = [], [], []
  for i, img in enumerate(ids):
    for k in range(i % 3 + 1):
      cap_ids.append(f"{img}#{k}")
      items.append(img)
      vecs.append(np.full(2, 10 * i + k, np.float32))
  cap_ids.append("orphan#0")
  items.append("orphan")
  vecs.append(np.zeros(2, np.float32))
  fmt.write_dataset(tmp_path / "cap", cap_ids, np.stack(vecs),
                    metadata={"item_id": items},
                    manifest_extra={"name": "caps"})
  return token_pairs.from_datasets(tokens_lib.open_token_dataset(tmp_path / "tok"),
                                fmt.open_dataset(tmp_path / "cap"))


def test_from_datasets_joins_captions_to_images(tmp_path):
  data = _one_to_many(tmp_path)
  assert data.info["dropped_targets"] == 1
  assert list(data.train.item_ids) == ["img0", "img1", "img3", "img5"]
  assert list(data.test.item_ids) == ["img2", "img4"]
  assert data.test.num_targets == 3 + 2
  # Positives (image -> text) list each test image's own captions.
  pos = data.test.positives()
  assert pos.shape == (2, 3)
  for row, img in enumerate(data.test.item_ids):
    own = {int(v) for v in pos[row] if v >= 0}
    expected = {j for j, t in enumerate(data.test.target_item) if t == row}
    assert own == expected
    i = int(img[3:])
    assert sorted(data.test.targets[list(own), 0]) == [10 * i + k for k in
                                                       range(i % 3 + 1)]


def test_pair_batches_are_deterministic_one_target_per_item(tmp_path):
  data = _one_to_many(tmp_path)
  a = token_pairs.PairBatches(data.train, 2, seed=3)
  b = token_pairs.PairBatches(data.train, 2, seed=3)
  for step in range(5):
    ta, la, ya = a.batch(step)
    tb, lb, yb = b.batch(step)
    np.testing.assert_array_equal(ta, tb)
    np.testing.assert_array_equal(ya, yb)
    assert ta.dtype == np.float32 and ta.shape == (2, 4, 3)
    # Each target belongs to the image whose tokens sit in the same row.
    for row in range(2):
      img = int(ya[row, 0]) // 10
      src = tokens_lib.open_token_dataset(tmp_path / "tok")
      np.testing.assert_allclose(ta[row], src.tokens[img])
      assert la[row] == src.lengths[img]


def test_planted_set_structure():
  data = planted.planted(num_train=64, num_test=32, num_tokens=8,
                          token_dim=6, code_dim=3, target_dim=5, seed=1)
  assert data.train.tokens.shape == (96, 8, 6)
  assert data.test.num_items == data.test.num_targets == 32
  tokens, lengths = data.test.item_tokens(np.arange(32))
  assert ((lengths >= 4) & (lengths <= 8)).all()
  pad = np.arange(8)[None, :] >= lengths[:, None]
  assert not tokens[pad].any()
  again = planted.planted(num_train=64, num_test=32, num_tokens=8,
                           token_dim=6, code_dim=3, target_dim=5, seed=1)
  np.testing.assert_array_equal(again.test.targets, data.test.targets)


def test_planted_references_separate_attention_from_mean_pooling():
  data = planted.planted(num_train=2048, num_test=256, num_tokens=16,
                         token_dim=32, code_dim=8, target_dim=16)
  refs = align_scores.references(data)
  pooled, oracle = refs["mean_pool_ridge"], refs["planted_oracle"]
  # Finding the marked token by the known marker recovers the code; mean
  # pooling over ~11 distractors cannot.
  assert oracle["i2t/recall@1"] > 0.8
  assert pooled["i2t/recall@1"] < 0.5 * oracle["i2t/recall@1"]
  json.dumps([pooled, oracle])


def test_unknown_data_name_lists_the_known():
  config = helpers.load_config("align_perceiver", "tiny=True")
  config.data.name = "imagenet"
  with pytest.raises(ValueError, match="synthetic, pydocs, dirs"):
    align.validate(config)
  with pytest.raises(ValueError, match="synthetic, pydocs, dirs"):
    align.load_data(config)


def test_pydocs_pairs_body_tokens_with_summary_targets(tmp_path, monkeypatch):
  # pylint: disable=g-import-not-at-top
  from embtrans import encoders
  from embtrans.data import pydocs_pairs as pydocs
  from embtrans.encoders import token_states
  calls = []

  def fake_states(texts, max_tokens, batch_size=64):
    del batch_size
    calls.append(len(texts))
    lengths = np.array([min(len(t.split()) + 2, max_tokens) for t in texts])
    states = np.zeros((len(texts), max_tokens, 4), np.float32)
    for i, t in enumerate(texts):
      states[i, :lengths[i]] = len(t) % 97
    return states, lengths.astype(np.int32)

  monkeypatch.setattr(token_states, "minilm_token_states", fake_states)
  load = lambda: pydocs.load(max_tokens=8, target="minilm_static",  # pylint: disable=unnecessary-lambda-assignment
                             limit=200, cache_dir=str(tmp_path))
  data = load()
  found = {pid: (body, summary) for pid, body, summary in pydocs.pairs(200)}
  assert data.train.num_items + data.test.num_items == len(found) > 10
  assert data.info["dropped_targets"] == data.info["dropped_items"] == 0
  enc = encoders.get_encoder("minilm_static")
  for split, name in ((data.train, "train"), (data.test, "test")):
    assert all(fmt.split_of(i) == name for i in split.item_ids)
    pid = split.item_ids[0]
    body, summary = found[pid]
    assert pid.startswith("pydocs:") and not pid.endswith((":body",
                                                           ":summary"))
    np.testing.assert_allclose(split.targets[0], enc.encode([summary])[0],
                               atol=1e-6)
    tokens, lengths = split.item_tokens(np.array([0]))
    assert lengths[0] == min(len(body.split()) + 2, 8)
    assert tokens[0, 0, 0] == len(body) % 97
  load()  # Cached: no second extraction.
  assert calls == [len(found)]


@pytest.mark.parametrize("max_device_gib, feed", [(2.0, "DeviceFeed"),
                                                  (0.0, "StreamFeed")])
def test_feeds_give_each_member_the_pair_batches_of_its_seed(max_device_gib,
                                                             feed):
  """Device-resident or streamed: member m's batch of step t is
  PairBatches(train, B, seed_m).batch(t); members sharing a seed share it."""
  from embtrans import sharding  # pylint: disable=g-import-not-at-top
  from embtrans import tasks  # pylint: disable=g-import-not-at-top
  config = helpers.load_config("align_perceiver", "tiny=True,seeds=2")
  config.data.max_device_gib = max_device_gib
  bug = helpers.load_config("align_perceiver",
                            "tiny=True,latent_init=bug,lr=2e-3")
  bug.data.max_device_gib = max_device_gib
  configs = tasks.member_configs(config) + [bug]   # seeds 0, 1, 0
  data = align.load_data(config)
  assert align.program_key(bug, data) == align.program_key(config, data)
  prog = align.build(configs, [data] * 3, ["a", "b", "c"],
                     sharding.make_mesh())
  assert type(prog.feed).__name__ == feed
  inputs = prog.feed.inputs(5, 3)              # steps 5, 6, 7
  for t in range(3):
    batch = prog.feed.select(prog.feed.resident,
                             jax.tree.map(lambda a, t=t: a[t], inputs))
    for m, seed in enumerate((0, 1, 0)):
      want = token_pairs.PairBatches(data.pairs.train, 32, seed).batch(5 + t)
      for got, expected in zip(batch, want):
        np.testing.assert_array_equal(np.asarray(got[m]), expected)
