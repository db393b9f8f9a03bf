"""Projection-quality metrics against sklearn, SciPy and NumPy references."""

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from sklearn import manifold

from embtrans.metrics import projection


def _xy(seed=0, n=70, d=12, c=3, noise=0.3):
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((n, d)).astype(np.float32)
  y = x @ rng.standard_normal((d, c)).astype(np.float32)
  return x, y + noise * rng.standard_normal(y.shape).astype(np.float32)


def _unit(x):
  return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("k", [5, 10])
@pytest.mark.parametrize("x_metric", ["cosine", "euclidean"])
def test_trustworthiness_matches_sklearn(k, x_metric):
  x, y = _xy(seed=k)
  want = manifold.trustworthiness(x, y, n_neighbors=k, metric=x_metric)
  got = projection.trustworthiness(x, y, k, x_metric=x_metric, block_size=16)
  np.testing.assert_allclose(got, want, atol=1e-6)
  assert want < 0.99  # a case with penalties, not a trivial 1


def test_continuity_is_sklearn_with_the_spaces_swapped():
  x, y = _xy(seed=3)
  want = manifold.trustworthiness(y, _unit(x), n_neighbors=10)
  np.testing.assert_allclose(projection.continuity(x, y, 10), want,
                             atol=1e-6)


def test_trust_and_continuity_in_one_pass_match_sklearn():
  x, y = _xy(seed=9)
  got = projection.trust_and_continuity(x, y, (4, 12), block_size=32)
  for k in (4, 12):
    np.testing.assert_allclose(got[f"trust@{k}"], manifold.trustworthiness(
        x, y, n_neighbors=k, metric="cosine"), atol=1e-6)
    np.testing.assert_allclose(got[f"cont@{k}"], manifold.trustworthiness(
        y, _unit(x), n_neighbors=k), atol=1e-6)


def test_identity_projection_is_perfect_and_blocks_do_not_matter():
  x, _ = _xy(seed=4, d=3)
  assert projection.trustworthiness(x, x, 7, x_metric="euclidean") == (
      pytest.approx(1.0, abs=1e-7))
  _, y = _xy(seed=5)
  x, _ = _xy(seed=5)
  a = projection.trustworthiness(x, y, 5, block_size=7)
  b = projection.trustworthiness(x, y, 5, block_size=128)
  assert a == pytest.approx(b, abs=1e-7)


def test_knn_preservation_matches_numpy():
  x, y = _xy(seed=6)
  k = 8
  dx = scipy.spatial.distance.cdist(x, x, "cosine")
  dy = scipy.spatial.distance.cdist(y, y)
  np.fill_diagonal(dx, np.inf)
  np.fill_diagonal(dy, np.inf)
  nx, ny = np.argsort(dx, 1)[:, :k], np.argsort(dy, 1)[:, :k]
  want = np.mean([len(set(a) & set(b)) / k for a, b in zip(nx, ny)])
  np.testing.assert_allclose(projection.knn_preservation(x, y, k), want,
                             atol=1e-6)


def test_similarity_spearman_matches_scipy_on_all_pairs():
  x, y = _xy(seed=7, n=40)
  want = scipy.stats.spearmanr(scipy.spatial.distance.pdist(x, "cosine"),
                               scipy.spatial.distance.pdist(y))[0]
  np.testing.assert_allclose(projection.similarity_spearman(x, y, sample=99),
                             want, atol=1e-9)
  sub = projection.similarity_spearman(x, y, sample=20, seed=1)
  assert sub != pytest.approx(want, abs=1e-9) and -1 <= sub <= 1


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_cross_recall_matches_brute_force(metric):
  rng = np.random.default_rng(8)
  a = rng.standard_normal((30, 3)).astype(np.float32)
  b = rng.standard_normal((25, 3)).astype(np.float32)
  pairs = np.array([[i, (i * 7) % 25] for i in range(20)] + [[0, 3], [5, 4]])
  dist = scipy.spatial.distance.cdist(a, b, "sqeuclidean" if metric ==
                                      "euclidean" else "cosine")

  def recall(d, prs, k):
    best = {}
    for q, p in prs:
      rank = 1 + np.sum(d[q] < d[q, p])
      best[q] = min(best.get(q, np.inf), rank)
    return np.mean([r <= k for r in best.values()])

  got = projection.cross_recall(a, b, pairs, ks=(1, 5), metric=metric)
  for k in (1, 5):
    np.testing.assert_allclose(got[f"a2b/recall@{k}"], recall(dist, pairs, k))
    np.testing.assert_allclose(got[f"b2a/recall@{k}"],
                               recall(dist.T, pairs[:, ::-1], k))


def test_population_gap_closed_form():
  a = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], np.float32)  # spread 1
  b = 2 * a + np.array([0, 6], np.float32)                      # spread 2
  # |mu_a - mu_b| = 6; pooled RMS spread = sqrt((1 + 4) / 2).
  np.testing.assert_allclose(projection.population_gap(a, b),
                             6 / np.sqrt(2.5), rtol=1e-6)
  np.testing.assert_allclose(projection.population_gap(10 * a, 10 * b),
                             6 / np.sqrt(2.5), rtol=1e-6)


def test_bad_arguments_say_what_to_fix():
  x, y = _xy(n=10)
  with pytest.raises(ValueError, match=r"k must be in \[1, n/2\)"):
    projection.trustworthiness(x, y, 5)
  with pytest.raises(ValueError, match="Unknown metric 'l1'"):
    projection.continuity(x, y, 2, x_metric="l1")
  with pytest.raises(ValueError, match="paired row by row"):
    projection.knn_preservation(x, y[:9], 2)
  with pytest.raises(ValueError, match="out of range"):
    projection.cross_recall(x[:, :3], y, [[0, 10]])
