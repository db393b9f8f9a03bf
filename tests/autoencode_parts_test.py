"""The autoencode task's parts: baselines, the population loader, the
evaluation of a projection, the findings, the objective."""

import collections

import chex
import jax
import numpy as np
import pytest
import scipy.stats
from sklearn import decomposition
from sklearn import manifold

from embtrans.tasks import autoencode_baselines as baselines
from embtrans.data import populations as data
from embtrans.tasks import autoencode_scores as evaluation
from embtrans import losses
from embtrans import models
from embtrans.report import ae3d_findings as findings
from embtrans.tasks import autoencode_objective as objective
from embtrans.data import sources


def _points(seed=0, n=80, d=60):
  rng = np.random.default_rng(seed)
  scales = np.linspace(3, 0.1, d)
  return (rng.standard_normal((n, d)) * scales).astype(np.float32)


def test_pca_matches_sklearn_up_to_sign():
  x, new = _points(0), _points(1)
  ours = baselines.fit_pca(x, 5)
  ref = decomposition.PCA(5, svd_solver="full").fit(x.astype(np.float64))
  want = ref.transform(new.astype(np.float64))
  got = ours(new)
  signs = np.sign(np.sum(got * want, axis=0))
  np.testing.assert_allclose(got, want * signs, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ours.explained_variance_ratio,
                             ref.explained_variance_ratio_, rtol=1e-5)
  chex.assert_shape(baselines.fit_baseline("pca3", x)(new), (80, 3))


class _FakeUmap:
  """Stands in for umap.UMAP: records its kwargs and inputs, projects to the
  first three coordinates."""

  made = []

  def __init__(self, **kwargs):
    self.kwargs, self.fitted_on = kwargs, None
    _FakeUmap.made.append(self)

  def fit(self, x):
    self.fitted_on = x.shape
    return self

  def transform(self, x):
    return x[:, :3] * 2


def test_pca50_umap_composes_pca_then_umap_with_the_seed():
  x, new = _points(2), _points(3)
  _FakeUmap.made.clear()
  proj = baselines.fit_baseline("pca50_umap3", x, seed=7,
                                umap_factory=_FakeUmap)
  (fake,) = _FakeUmap.made
  assert fake.fitted_on == (80, 50)
  assert fake.kwargs["random_state"] == 7
  assert fake.kwargs["metric"] == "euclidean"
  assert fake.kwargs["n_components"] == 3
  np.testing.assert_allclose(proj(new),
                             2 * baselines.fit_pca(x, 50)(new)[:, :3],
                             atol=1e-5)
  baselines.fit_baseline("umap3", x, seed=1, umap_factory=_FakeUmap)
  assert _FakeUmap.made[-1].fitted_on == (80, 60)
  assert _FakeUmap.made[-1].kwargs["metric"] == "cosine"
  baselines.fit_baseline("umap3", x, seed=1, fit_sample=30,
                         umap_factory=_FakeUmap)
  assert _FakeUmap.made[-1].fitted_on == (30, 60)


def test_unknown_baseline_and_bad_pca_dim():
  with pytest.raises(ValueError, match="known: .*'pca3'"):
    baselines.fit_baseline("tsne3", _points())
  with pytest.raises(ValueError, match="1 <= dim <= min"):
    baselines.fit_pca(_points(n=4), 5)


# --- evaluate_projection against sklearn / closed forms. ---


def test_evaluate_projection_keys_and_references():
  rng = np.random.default_rng(4)
  x_a = rng.standard_normal((40, 16)).astype(np.float32)
  x_b = x_a + 0.3 * rng.standard_normal((40, 16)).astype(np.float32)
  codes_a = x_a[:, :3] + 0.1 * rng.standard_normal((40, 3)).astype(np.float32)
  # Pairs sit next to each other in 3-D (no exact ties: tie order differs).
  codes_b = codes_a + 1e-3 * rng.standard_normal((40, 3)).astype(np.float32)
  pairs = np.stack([np.arange(30), np.arange(30)], 1)
  got = evaluation.evaluate_projection(codes_a, codes_b, x_a, x_b, pairs)
  unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)
  np.testing.assert_allclose(got["a/trust@10"], manifold.trustworthiness(
      x_a, codes_a, n_neighbors=10, metric="cosine"), atol=1e-6)
  xs, cs = np.concatenate([x_a, x_b]), np.concatenate([codes_a, codes_b])
  np.testing.assert_allclose(got["both/cont@20"], manifold.trustworthiness(
      cs, unit(xs), n_neighbors=20), atol=1e-6)
  assert np.isnan(got["b/trust@20"])  # 20 >= 40 / 2
  assert not np.isnan(got["b/trust@10"])
  assert got["proj/a2b/recall@1"] == 1.0 and got["proj/b2a/recall@1"] == 1.0
  assert got["orig/a2b/recall@10"] <= 1.0
  gap = np.linalg.norm(x_a.mean(0) - x_b.mean(0)) / np.sqrt(0.5 * (
      np.mean(np.sum((x_a - x_a.mean(0)) ** 2, 1))
      + np.mean(np.sum((x_b - x_b.mean(0)) ** 2, 1))))
  np.testing.assert_allclose(got["gap/orig"], gap, rtol=1e-5)
  assert {f"{s}/{m}" for s in ("a", "b", "both")
          for m in ("trust@10", "cont@10", "knn@10", "spearman")} <= set(got)


def test_evaluate_projection_rejects_mismatched_codes():
  x = np.zeros((10, 4), np.float32)
  with pytest.raises(ValueError, match="one code per vector"):
    evaluation.evaluate_projection(x[:9, :3], x[:, :3], x, x, [[0, 0]])


# --- Findings: sentences computed from the table. ---


def _rows(b_trust_a_only=0.70, mse_spearman=0.80, seeds=3):
  """A synthetic results table; cell means are set, seeds add +-0.01."""
  means = {  # (train, loss, method) -> (a/trust, b/trust, both/spearman)
      ("a", "recon", "ae"): (0.90, b_trust_a_only, 0.50),
      ("b", "recon", "ae"): (0.75, 0.88, 0.50),
      ("both", "recon", "ae"): (0.87, 0.85, 0.55),
      ("both", "recon+mse", "ae"): (0.87, 0.85, mse_spearman),
      ("a", "recon+rank", "ae"): (0.90, 0.78, 0.50),
      ("both", "recon", "pca50_ae"): (0.86, 0.84, 0.56),
      ("a", "-", "pca3"): (0.80, 0.79, 0.60),
      ("b", "-", "pca3"): (0.79, 0.80, 0.60),
      ("both", "-", "pca3"): (0.80, 0.80, 0.62),
      ("both", "-", "umap3"): (0.93, 0.92, 0.40),
  }
  rows = []
  for (train, loss, method), (ta, tb, sp) in means.items():
    for s in range(seeds):
      e = 0.01 * (s - (seeds - 1) / 2)
      rows.append({"train": train, "loss": loss, "method": method, "seed": s,
                   "a/trust@10": ta + e, "b/trust@10": tb + e,
                   "both/trust@10": (ta + tb) / 2 + e,
                   "both/cont@10": 0.9 + e, "both/spearman": sp + e,
                   "proj/a2b/recall@10": 0.1 + e, "gap/orig": 1.5,
                   "gap/proj": 1.0 + e})
  return rows


def test_compare_matches_scipy_welch_interval():
  x, y = np.array([1.0, 1.4, 1.1, 0.9]), np.array([0.2, 0.5, 0.3])
  c = findings.compare(x, y)
  ref = scipy.stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
  np.testing.assert_allclose([c.lo, c.hi], [ref.low, ref.high], rtol=1e-9)
  assert c.verdict == "higher"
  assert findings.compare(y, x).verdict == "lower"


def test_findings_sentences_follow_the_numbers():
  text = "\n".join(findings.answers(_rows()))
  assert "Does an A-only autoencoder distort B?** yes" in text
  assert "A-only PCA(3) distort B?** not resolved at this many seeds" in text
  assert "fix it (autoencoder)?** It raises trustworthiness@10 on B" in text
  assert "0.700 vs 0.880, Δ -0.180 [95 % CI" in text
  # both: 0.85 vs 0.70 -> recovers 0.15 / 0.18 of the gap.
  assert "recovers 83 % of the distance" in text
  assert "`recon+mse` loss help (fitted on both)?** Against reconstruction " \
         "only, Spearman ρ on A ∪ B is higher: 0.800 vs 0.550" in text
  assert "trustworthiness@10 on A ∪ B: UMAP(3) leads PCA(3)" in text
  assert "`recon+rank` loss help (fitted on a)?** Against reconstruction " \
         "only, Spearman ρ on B: n/a (a cell is missing)" in text
  assert "trustworthiness@10 on B is higher: 0.780 vs 0.700" in text
  assert "continuity@10 on A ∪ B: PCA(3) and UMAP(3) are not resolved" in text
  assert "1.50 in the original space" in text

  changed = "\n".join(findings.answers(_rows(b_trust_a_only=0.95,
                                             mse_spearman=0.40)))
  assert "distort B?** no: fitted on A only it keeps B's structure better" \
         in changed
  assert "0.950 vs 0.880, Δ +0.070" in changed
  assert "Spearman ρ on A ∪ B is lower: 0.400 vs 0.550" in changed
  assert changed != text


def test_findings_unresolved_with_one_seed_and_table_shape():
  text = "\n".join(findings.answers(_rows(seeds=1)))
  assert "not resolved at this many seeds" in text
  table = findings.summary_table(_rows())
  assert table[0].startswith("| train | loss | method | seeds | a/trust@10")
  assert len(table) == 2 + 10
  assert "| a | recon | ae | 3 | 0.900 ± 0.025 |" in "\n".join(table)


# --- The two-population loader on a small real build. ---


def test_load_populations_pairs_summaries_with_their_bodies():
  # A lexical encoder keeps the test fast (no torch); B inherits A's kwargs.
  pops = data.load_populations("tfidf_lsa", kwargs_a={"dim": 16}, limit=120)
  chex.assert_rank([pops.x_a, pops.x_b], 2)
  assert pops.x_a.shape[1] == pops.x_b.shape[1] == 16
  assert len(pops.pairs) >= 5
  records = {r.id: r.text for r in sources.pydocs_records(120)}
  for ia, ib in pops.pairs:
    assert pops.ids_a[ia] == pops.ids_b[ib]
    assert pops.split_a[ia] == pops.split_b[ib] == data.split_of_pair(
        pops.ids_a[ia])
    assert records[pops.ids_a[ia] + ":summary"] == pops.texts_a[ia]
    assert records[pops.ids_b[ib] + ":body"] == pops.texts_b[ib]
  assert len(pops.x_a) == sum(i.endswith(":summary") for i in records)
  assert pops.names == ("summary (tfidf_lsa, dim=16)",
                        "body (tfidf_lsa, dim=16)")
  train = pops.subset("train")
  assert set(train.split_a) == {"train"}
  for ia, ib in train.pairs:
    assert train.ids_a[ia] == train.ids_b[ib]
  np.testing.assert_array_equal(train.x_a, pops.x_a[pops.split_a == "train"])
  with pytest.raises(ValueError, match="Unknown split 'dev'"):
    pops.subset("dev")


def test_pair_splits_are_about_64_16_20():
  got = collections.Counter(data.split_of_pair(f"pydocs:x.py:f{i}")
                            for i in range(4000))
  assert 0.60 < got["train"] / 4000 < 0.68
  assert 0.13 < got["val"] / 4000 < 0.19
  assert 0.17 < got["test"] / 4000 < 0.23


def test_load_populations_rejects_unknown_encoder_before_building():
  with pytest.raises(ValueError, match="Known encoders"):
    data.load_populations("minilm", encoder_b="e5_nope", limit=10)


# --- The training objective: the sum of its terms, gradients through all. ---


def test_objective_is_the_weighted_sum_of_its_terms():
  model = models.get_model("autoencoder", out_dim=8, variant="tiny")
  rng = np.random.default_rng(5)
  x, pa, pb = (rng.standard_normal((n, 8)).astype(np.float32)
               for n in (16, 6, 6))
  params = jax.jit(model.init)(jax.random.key(0), x)
  cfg = objective.LossConfig(similarity_weight=0.5, form="mse",
                             pair_weight=2.0)
  assert cfg.name == "recon+mse+pairs"
  # One compiled program: the value, the terms, the gradient and, for the
  # references, the model's outputs.
  @jax.jit
  def run(p):
    value_grad = jax.value_and_grad(lambda q: objective.objective(
        model.apply, q, x, cfg, x_pair_a=pa, x_pair_b=pb), has_aux=True)
    return (value_grad(p), model.apply(p, x)[0],
            model.apply(p, np.concatenate([pa, pb]))[1])

  ((loss, terms), grads), recon, pair_codes = run(params)
  chex.assert_tree_all_finite(grads)
  np.testing.assert_allclose(terms["recon"], np.mean(np.sum(
      (np.asarray(recon) - x) ** 2, 1)), rtol=1e-5)
  np.testing.assert_allclose(terms["pairs"], losses.pair_pull(
      *np.split(np.asarray(pair_codes), 2)), rtol=1e-5)
  np.testing.assert_allclose(
      loss, terms["recon"] + 0.5 * terms["similarity"] + 2 * terms["pairs"],
      rtol=1e-6)
  assert objective.LossConfig().name == "recon"
  with pytest.raises(ValueError, match="needs a batch of pairs"):
    objective.objective(model.apply, params, x,
                        objective.LossConfig(pair_weight=1.0))
  with pytest.raises(ValueError, match="Unknown similarity form 'kl'"):
    objective.LossConfig(form="kl")
