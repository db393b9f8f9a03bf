"""The grid's validation split: carved from train by id, never fitted on,
disjoint from test, recorded in data.json; closed forms score it too."""

import hashlib

import numpy as np
import pytest

from embtrans.data import format as fmt
from embtrans.data import pairing
from embtrans.tasks import translate
from tests import helpers
from tests import sweep_helpers


def _reference_is_val(example_id: str, percent: int) -> bool:
  # The documented method, written out independently of pairing.py.
  digest = hashlib.sha1(("val:" + example_id).encode()).digest()
  return int.from_bytes(digest[:8], "big") % 100 < percent


def test_carve_is_disjoint_by_id_and_deterministic(tmp_path):
  ids = [f"doc{i}" for i in range(600)]
  _, va = helpers.random_dataset(tmp_path / "a", 0, 3, ids=ids)
  helpers.random_dataset(tmp_path / "b", 0, 4, seed=1, ids=ids)
  paired = pairing.pair_datasets(fmt.open_dataset(tmp_path / "a"),
                                 fmt.open_dataset(tmp_path / "b"))
  carved = pairing.carve_validation(paired, 10)
  train, val, test = (set(s.ids) for s in (carved.train, carved.val,
                                           carved.test))
  assert not train & val and not val & test and not train & test
  assert train | val == set(paired.train.ids) and test == set(
      paired.test.ids)
  assert val == {i for i in paired.train.ids if _reference_is_val(i, 10)}
  assert 0.05 < len(val) / len(paired.train) < 0.15
  for i, row in zip(carved.val.ids, carved.val.a):
    np.testing.assert_array_equal(row, va[ids.index(i)])
  again = pairing.carve_validation(paired, 10)
  np.testing.assert_array_equal(again.val.ids, carved.val.ids)
  swapped = carved.swapped()
  np.testing.assert_array_equal(swapped.val.a, carved.val.b)
  with pytest.raises(ValueError, match="already has a validation split"):
    pairing.carve_validation(carved, 10)
  with pytest.raises(ValueError, match=r"must be in \(0, 100\)"):
    pairing.carve_validation(paired, 100)


def test_grid_cells_fit_on_train_less_val_and_score_both(tmp_path):
  spaces = sweep_helpers.related_spaces(tmp_path)
  config = sweep_helpers.grid_config(spaces, "linear")
  config.data.a, config.data.b = spaces
  data = translate.load_data(config)
  p = data.paired
  assert data.info["num_val"] == len(p.val) > 0
  assert data.info["num_train"] == len(p.train)
  assert data.info["val_percent"] == 10 and "val:" in data.info["val_method"]
  assert not set(p.train.ids) & set(p.val.ids)
  assert not (set(p.train.ids) | set(p.val.ids)) & set(p.test.ids)
  # A closed-form fit sees the train rows only and is scored on val + test.
  with config.ignore_type():
    config.model = dict(name="lstsq")
  scores, _ = translate.closed_form(config, data, "lstsq", "test")
  assert scores["val/recall@1"] is not None and "test/recall@1" in scores
  x1 = np.hstack([p.train.a, np.ones((len(p.train), 1), np.float32)])
  w = np.linalg.lstsq(x1, p.train.b, rcond=None)[0]
  pred = np.hstack([p.val.a, np.ones((len(p.val), 1), np.float32)]) @ w
  assert scores["val/mse"] == pytest.approx(
      np.mean((pred - p.val.b) ** 2), rel=1e-3)
