"""ae3d: baselines, the population loader, the evaluation of a projection."""

import chex
import numpy as np
import pytest
from sklearn import decomposition

from embtrans.ae3d import baselines


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


def test_unknown_baseline_and_bad_pca_dim():
  with pytest.raises(ValueError, match="known: .*'pca3'"):
    baselines.fit_baseline("tsne3", _points())
  with pytest.raises(ValueError, match="1 <= dim <= min"):
    baselines.fit_pca(_points(n=4), 5)
