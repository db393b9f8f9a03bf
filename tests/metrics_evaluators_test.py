"""The cka, knn and retrieval evaluators, run through `run_evaluators`."""

import numpy as np
import pytest

from embtrans import metrics
from embtrans.evaluators import TranslationResult
from embtrans.evaluators import known_evaluators
from embtrans.evaluators import run_evaluators


@pytest.fixture(name="result")
def _result():
  # The shapes of the CKA tests, so the compiled kernels are reused.
  rng = np.random.default_rng(0)
  source = rng.normal(size=(60, 5)).astype(np.float32)
  target = np.tanh(source @ rng.normal(size=(5, 9))).astype(np.float32)
  translated = target + 0.3 * rng.normal(size=target.shape).astype(np.float32)
  return TranslationResult(source=source, target=target, translated=translated)


def test_modules_are_registered():
  assert {"cka", "knn", "retrieval"} <= set(known_evaluators())


def test_cka_evaluator(result):
  out = dict(run_evaluators({"cka": dict(type="cka", rbf=True,
                                         debiased=True)}, result))
  assert list(out) == [
      "cka/linear_cka", "cka/debiased_linear_cka", "cka/rbf_cka",
      "cka/debiased_rbf_cka", "cka/source/linear_cka",
      "cka/source/debiased_linear_cka", "cka/source/rbf_cka",
      "cka/source/debiased_rbf_cka"]
  t, y, s = result.translated, result.target, result.source
  np.testing.assert_allclose(out["cka/linear_cka"], metrics.linear_cka(t, y))
  np.testing.assert_allclose(out["cka/source/linear_cka"],
                             metrics.linear_cka(s, y))
  np.testing.assert_allclose(out["cka/debiased_rbf_cka"],
                             metrics.rbf_cka(t, y, debiased=True))
  assert all(isinstance(v, float) for v in out.values())
  assert out["cka/linear_cka"] > out["cka/source/linear_cka"] > 0


def test_cka_evaluator_defaults_and_minibatch_rbf(result):
  out = dict(run_evaluators({"cka": {}}, result))  # type defaults to prefix
  assert list(out) == ["cka/linear_cka", "cka/source/linear_cka"]
  out = dict(run_evaluators(
      {"c": dict(type="cka", rbf=True, rbf_max_rows=16)}, result))
  np.testing.assert_allclose(
      out["c/minibatch_rbf_cka"],
      metrics.minibatch_cka(result.translated, result.target, 16,
                            kernel="rbf"))


def test_knn_evaluator(result):
  out = dict(run_evaluators({"knn": dict(type="knn", k=5, source=True)},
                            result))
  names = ["jaccard@5", "mutual_knn@5", "rank_agreement@5", "edit_distance@5"]
  assert list(out) == ([f"knn/{n}" for n in names]
                       + [f"knn/source/{n}" for n in names])
  t, y = result.translated, result.target
  np.testing.assert_allclose(out["knn/jaccard@5"], metrics.knn_jaccard(t, y, 5))
  np.testing.assert_allclose(out["knn/mutual_knn@5"],
                             metrics.mutual_knn(t, y, 5))
  np.testing.assert_allclose(out["knn/rank_agreement@5"],
                             metrics.knn_rank_agreement(t, y, 5), rtol=1e-6)
  np.testing.assert_allclose(out["knn/edit_distance@5"],
                             metrics.knn_edit_distance(t, y, 5))


def test_retrieval_evaluator_both_directions(result):
  out = dict(run_evaluators({"retrieval": dict(type="retrieval")}, result))
  names = ["recall@1", "recall@5", "recall@10", "mean_rank", "median_rank"]
  assert list(out) == ([f"retrieval/{n}" for n in names]
                       + [f"retrieval/reverse/{n}" for n in names])
  fwd = metrics.recall_at_k(result.translated, result.target)
  rev = metrics.recall_at_k(result.target, result.translated)
  for n in names:
    np.testing.assert_allclose(out[f"retrieval/{n}"], fwd[n])
    np.testing.assert_allclose(out[f"retrieval/reverse/{n}"], rev[n])


def test_perfect_translation(result):
  perfect = TranslationResult(source=result.source, target=result.target,
                              translated=result.target)
  out = dict(run_evaluators({"cka": {}, "knn": dict(k=5), "retrieval": {}},
                            perfect))
  assert out["cka/linear_cka"] == pytest.approx(1.0, abs=1e-6)
  assert out["knn/jaccard@5"] == 1.0
  assert out["knn/edit_distance@5"] == 0.0
  assert out["retrieval/recall@1"] == 1.0
  assert out["retrieval/reverse/median_rank"] == 1.0


def test_bad_config_fails_early(result):
  with pytest.raises(ValueError, match="k=99 is out of range"):
    dict(run_evaluators({"knn": dict(k=99)}, result))
  with pytest.raises(TypeError):
    run_evaluators({"cka": dict(bandwidth=3)}, result).__next__()
