"""The translate task's scoring against NumPy: an identity translator
scores perfectly, every score matches a direct formula, and the closed-form
baselines see the train rows only (perturbing the test rows leaves their
fits unchanged)."""

import dataclasses

import numpy as np
import pytest

from embtrans import tasks
from embtrans.data import pairing
from embtrans.tasks import translate
from tests import sweep_helpers


def _reference(translated, target, ks=(1, 5, 10)):
  """The documented scores, written out in NumPy (float64)."""
  x, y = np.asarray(translated, np.float64), np.asarray(target, np.float64)
  unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # pylint: disable=unnecessary-lambda-assignment
  sim = unit(x) @ unit(y).T                       # [n, n], row i: query i
  # Rank = 1 + other targets scoring at least as high (ties count against).
  ranks = 1 + np.sum(sim >= np.diag(sim)[:, None], axis=1) - 1
  out = {"mse": np.mean((x - y) ** 2),
         "cosine": np.mean(np.diag(sim)),
         "r2": 1 - np.sum((x - y) ** 2) / np.sum((y - y.mean(0)) ** 2),
         "mean_rank": ranks.mean(), "median_rank": np.median(ranks),
         "chance_recall@1": 1 / len(y)}
  out.update({f"recall@{k}": np.mean(ranks <= k) for k in ks})
  return out


def test_identity_translator_scores_perfectly():
  target = np.random.default_rng(0).standard_normal((40, 6)).astype(
      np.float32)
  got = translate.translation_scores(target, target)
  assert got["mse"] == 0 and got["r2"] == 1
  assert got["cosine"] == pytest.approx(1, abs=1e-6)
  assert got["recall@1"] == got["recall@10"] == 1 and got["mean_rank"] == 1


@pytest.mark.parametrize("noise", [0.3, 1.5])
def test_translation_scores_match_numpy(noise):
  rng = np.random.default_rng(1)
  target = rng.standard_normal((60, 5)).astype(np.float32)
  translated = (0.8 * target + noise * rng.standard_normal((60, 5))).astype(
      np.float32)
  got = translate.translation_scores(translated, target)
  want = _reference(translated, target)
  assert set(want) <= set(got)
  for key, value in want.items():
    assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
  assert 0 < want["recall@1"] < 1  # Neither trivial nor hopeless.


def test_scores_of_a_shuffled_translation_fall_to_chance():
  # The rows of `translated` must stay paired with their targets: a
  # permutation keeps MSE-like averages per row but loses the pairing.
  rng = np.random.default_rng(2)
  target = rng.standard_normal((50, 8)).astype(np.float32)
  perm = np.roll(np.arange(50), 1)
  got = translate.translation_scores(target[perm], target)
  assert got["recall@1"] == 0
  assert got["mean_rank"] == pytest.approx(_reference(target[perm],
                                                      target)["mean_rank"])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
  spaces = sweep_helpers.related_spaces(tmp_path_factory.mktemp("spaces"),
                                        dims=(8, 6))
  config = sweep_helpers.grid_config(spaces, "linear")
  config.data.a, config.data.b = spaces
  return config, translate.load_data(config)


def _perturbed(data, seed=3):
  """data with its test rows (both sides) replaced by noise; fresh memo."""
  rng = np.random.default_rng(seed)
  t = data.paired.test
  test = pairing.PairedSplit(t.ids, rng.standard_normal(t.a.shape).astype(
      np.float32), rng.standard_normal(t.b.shape).astype(np.float32))
  return translate.Data(dataclasses.replace(data.paired, test=test),
                        data.info)


def test_identity_member_scores_perfectly_through_the_task(pair):
  config, data = pair
  test = data.paired.test
  scores, _ = translate.score_member(test, test.b, config)
  assert scores["test/mse"] == 0
  for key in ("test/recall@1", "test/r2", "test/cosine", "test/cka/linear_cka",
              "test/knn/jaccard@10", "test/retrieval_overlap@10"):
    assert scores[key] == pytest.approx(1, abs=1e-5), key


@pytest.mark.parametrize("name", ["lstsq", "procrustes"])
def test_closed_form_fits_do_not_see_the_test_rows(pair, name):
  config, data = pair
  other = _perturbed(data)
  probe = np.random.default_rng(4).standard_normal((7, 8)).astype(np.float32)
  np.testing.assert_array_equal(translate.fit_closed_form(name, data)(probe),
                                translate.fit_closed_form(name, other)(probe))
  before, _ = translate.closed_form(config, data, name, "test")
  after, _ = translate.closed_form(config, other, name, "test")
  val = [k for k in before if k.startswith("val/")]
  assert val and all(before[k] == after[k] for k in val)  # Val: from train.
  assert before["test/mse"] != after["test/mse"]  # The test rows did change.


def test_lstsq_baseline_is_the_affine_least_squares_fit_on_train(pair):
  config, data = pair
  train, test = data.paired.train, data.paired.test
  x1 = np.hstack([train.a, np.ones((len(train), 1))])
  w = np.linalg.lstsq(x1, train.b.astype(np.float64), rcond=None)[0]
  pred = np.hstack([test.a, np.ones((len(test), 1))]) @ w
  config = config.copy_and_resolve_references()
  config.baselines = ("lstsq",)
  scores = tasks.baselines(translate, config, data)
  want = _reference(pred, test.b)
  for key in ("mse", "r2", "recall@1", "mean_rank"):
    assert scores[f"baseline_lstsq/{key}"] == pytest.approx(
        want[key], rel=1e-3, abs=1e-5), key
