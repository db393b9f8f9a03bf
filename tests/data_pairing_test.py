"""Pairing two datasets by id."""

import numpy as np
import pytest

from embtrans.data import format as fmt
from embtrans.data import pairing
from tests import helpers


def test_pairs_by_id_not_row_order(tmp_path):
  ids = [f"x{i}" for i in range(200)]
  rng = np.random.default_rng(1)
  shuffled = list(rng.permutation(ids)) + ["only_b"]
  _, va = helpers.random_dataset(tmp_path / "a", 0, 3, ids=ids + ["only_a"])
  _, vb = helpers.random_dataset(tmp_path / "b", 0, 5, seed=1, ids=shuffled)
  a, b = fmt.open_dataset(tmp_path / "a"), fmt.open_dataset(tmp_path / "b")
  p = pairing.pair_datasets(a, b)
  assert (p.dropped_a, p.dropped_b) == (1, 1)
  assert len(p.train) + len(p.test) == 200
  row_b = {i: k for k, i in enumerate(shuffled)}
  for split in (p.train, p.test):
    for i, xa, xb in zip(split.ids, split.a, split.b):
      np.testing.assert_array_equal(xa, va[ids.index(i)])
      np.testing.assert_array_equal(xb, vb[row_b[i]])
      assert fmt.split_of(i) == ("train" if split is p.train else "test")
  swapped = p.swapped()
  np.testing.assert_array_equal(swapped.test.a, p.test.b)


def test_no_shared_ids_is_an_error(tmp_path):
  helpers.random_dataset(tmp_path / "a", 20, 3, prefix="a")
  helpers.random_dataset(tmp_path / "b", 20, 3, prefix="b")
  with pytest.raises(fmt.DatasetError, match="No ids in common"):
    pairing.pair_datasets(fmt.open_dataset(tmp_path / "a"),
                          fmt.open_dataset(tmp_path / "b"))


def test_empty_split_is_an_error(tmp_path):
  train_only = [i for i in (f"q{k}" for k in range(100))
                if fmt.split_of(i) == "train"][:10]
  helpers.random_dataset(tmp_path / "a", 0, 3, ids=train_only)
  helpers.random_dataset(tmp_path / "b", 0, 3, ids=train_only)
  with pytest.raises(fmt.DatasetError, match="test split is empty"):
    pairing.pair_datasets(fmt.open_dataset(tmp_path / "a"),
                          fmt.open_dataset(tmp_path / "b"))
