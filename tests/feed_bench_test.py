"""`python -m embtrans.bench feed`: the ways it times read the same data."""

import chex
import numpy as np

from embtrans.bench import feed
from embtrans.data import token_pairs


def test_grain_batch_source_gives_the_engine_batches(tmp_path):
  split = feed.token_split(tmp_path, 40, 3, 8)
  ours = token_pairs.PairBatches(split, 8, seed=1)
  via = feed._Batches(ours, 5)  # pylint: disable=protected-access
  assert len(via) == 5
  for step in range(5):
    chex.assert_trees_all_equal(via[step], ours.batch(step))


def test_grain_item_source_reads_the_store_rows(tmp_path):
  split = feed.token_split(tmp_path, 10, 3, 8)
  items = feed._Items(split)  # pylint: disable=protected-access
  tokens, length, target = items[7]
  np.testing.assert_array_equal(tokens, np.asarray(split.tokens[7], np.float32))
  assert length == 3 and target.shape == (64,)


def test_every_way_reports_a_positive_rate(tmp_path):
  rates = feed.time_shape(feed.token_split(tmp_path, 64, 3, 8), 8, 3, 2)
  assert set(rates) == {"embtrans", "grain map", "grain iter", "grain batch"}
  assert all(r > 0 for r in rates.values())
