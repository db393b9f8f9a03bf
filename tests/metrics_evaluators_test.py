"""The evaluators of the registry, run through `run_evaluators`."""

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
  assert {"cka", "cknna", "knn", "retrieval", "svcca"} <= set(
      known_evaluators())


# Settings of the tests below (shared compiles); svcca needs cca_dim <= 5.
_SMALL = {"svcca": dict(cca_dim=4), "cknna": dict(k=5), "knn": dict(k=5)}


@pytest.mark.parametrize("name", known_evaluators())
def test_every_evaluator_yields_named_finite_floats(name, result):
  out = list(run_evaluators({name: _SMALL.get(name, {})}, result))
  names = [key for key, _ in out]
  assert names and len(set(names)) == len(names)
  assert all(key.startswith(f"{name}/") for key in names)
  assert all(isinstance(v, float) and np.isfinite(v) for _, v in out)


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


def test_knn_evaluator_platonic_metrics(result):
  out = dict(run_evaluators({"knn": dict(k=5, platonic=True)}, result))
  assert list(out) == [f"knn/{n}@5" for n in (
      "jaccard", "mutual_knn", "rank_agreement", "edit_distance",
      "edit_similarity", "lcs", "cycle_knn")]
  want = metrics.knn_agreement(result.translated, result.target, 5)
  for name in ("edit_similarity", "lcs", "cycle_knn"):
    np.testing.assert_allclose(out[f"knn/{name}@5"], want[name])


def test_cknna_and_svcca_evaluators_over_pairs(result):
  out = dict(run_evaluators({"cknna": dict(k=5), "svcca": dict(cca_dim=4)},
                            result))
  pairs = [("", "translated", "target"), ("source/", "source", "target"),
           ("source_translated/", "source", "translated")]
  assert list(out) == ([f"cknna/{p}cknna@5" for p, _, _ in pairs]
                       + [f"svcca/{p}svcca@4" for p, _, _ in pairs])
  for prefix, first, second in pairs:
    x, y = getattr(result, first), getattr(result, second)
    np.testing.assert_allclose(out[f"cknna/{prefix}cknna@5"],
                               metrics.cknna(x, y, 5))
    np.testing.assert_allclose(out[f"svcca/{prefix}svcca@4"],
                               metrics.svcca(x, y, 4))
  # One pair, with platonic-rep's preparation first.
  out = dict(run_evaluators(
      {"c": dict(type="cknna", k=5, pairs=["source"], prepare_q=0.95)},
      result))
  prepared = [metrics.prepare(v, 0.95) for v in (result.source,
                                                 result.target)]
  assert list(out) == ["c/source/cknna@5"]
  np.testing.assert_allclose(out["c/source/cknna@5"],
                             metrics.cknna(*prepared, 5), rtol=1e-6)


def test_retrieval_evaluator_tie_optimistic(result):
  out = dict(run_evaluators({"r": dict(type="retrieval", ks=(1,),
                                       tie_optimistic=True)}, result))
  names = ["recall@1", "mean_rank", "median_rank"]
  names += [f"optimistic_{n}" for n in names]
  assert list(out) == ([f"r/{n}" for n in names]
                       + [f"r/reverse/{n}" for n in names])
  # Continuous data: no exact ties, so both figures agree.
  for n in names[:3]:
    assert out[f"r/{n}"] == out[f"r/optimistic_{n}"]


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
  with pytest.raises(ValueError, match="Unknown pair 'target'.*source"):
    dict(run_evaluators({"svcca": dict(pairs=["target"])}, result))
