"""The baseline projections to 3-D: PCA(3), UMAP(3), PCA(50) -> UMAP(3).

Each is fitted on the points of one training population (A, B or both) and
then projects any points, those it never saw included:

    proj = fit_baseline("umap3", x_train, seed=0)
    codes_a, codes_b = proj(x_a), proj(x_b)          # [n, 3] each

PCA is exact (NumPy SVD of the centred fitting points). UMAP (umap-learn,
imported only when a UMAP method is fitted: the first fit in a process takes
about a minute while numba compiles) uses the cosine metric on the raw
vectors, and the euclidean metric after PCA(50) (PCA keeps distances, not
angles). `fit_pca` is also the first stage of the PCA(50) -> AE variant.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

METHODS = ("pca3", "umap3", "pca50_umap3")
UMAP_DEFAULTS = dict(n_neighbors=15, min_dist=0.1)

Projection = Callable[[np.ndarray], np.ndarray]  # [n, d] -> [n, 3]


@dataclasses.dataclass(frozen=True)
class Pca:
  """A fitted PCA: `transform(x: [n, d]) -> [n, dim]`.

  Attributes:
    mean: [d] the fitting points' mean.
    components: [dim, d] orthonormal rows, by decreasing variance; each row's
      sign is fixed so that its largest-magnitude entry is positive.
    explained_variance_ratio: [dim] share of the total variance of each.
  """

  mean: np.ndarray
  components: np.ndarray
  explained_variance_ratio: np.ndarray

  def transform(self, x: np.ndarray) -> np.ndarray:
    return ((np.asarray(x, np.float64) - self.mean) @ self.components.T
            ).astype(np.float32)

  __call__ = transform


def fit_pca(x: np.ndarray, dim: int) -> Pca:
  """PCA of x: [n, d] to `dim` <= min(n, d) dims."""
  x = np.asarray(x, np.float64)
  if not 1 <= dim <= min(x.shape):
    raise ValueError(f"PCA to {dim} dims needs 1 <= dim <= min(n, d) = "
                     f"{min(x.shape)} (x is {x.shape}); fit on more points "
                     "or ask for fewer dims.")
  mean = x.mean(0)
  _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
  comps = vt[:dim]
  signs = np.sign(comps[np.arange(dim), np.argmax(np.abs(comps), axis=1)])
  var = s ** 2
  return Pca(mean, comps * signs[:, None], var[:dim] / var.sum())


def _umap_factory(**kwargs: Any) -> Any:
  import umap  # pylint: disable=g-import-not-at-top
  return umap.UMAP(**kwargs)


def _fit_umap(x: np.ndarray, metric: str, seed: int, factory: Callable
              ) -> Projection:
  model = factory(n_components=3, metric=metric, random_state=seed,
                  **UMAP_DEFAULTS)
  model.fit(np.asarray(x, np.float32))
  return lambda v: np.asarray(model.transform(np.asarray(v, np.float32)),
                              np.float32)


def fit_baseline(method: str, x: np.ndarray, seed: int = 0,
                 fit_sample: int | None = None,
                 umap_factory: Callable[..., Any] | None = None
                 ) -> Projection:
  """Fits `method` (one of METHODS) on x: [n, d]; returns the projection.

  Args:
    method: 'pca3', 'umap3' or 'pca50_umap3'.
    x: the fitting points (a training population).
    seed: UMAP's random_state and the fit sample's seed (PCA itself is
      deterministic).
    fit_sample: fit on this many points drawn from x without replacement
      (None: all); UMAP's cost grows with n, and on two CPU cores a fit on
      ~6,600 points took about 15 minutes under load.
    umap_factory: builds the UMAP estimator from its kwargs; default
      `umap.UMAP` (tests pass a stand-in).
  """
  if method not in METHODS:
    raise ValueError(f"Unknown baseline {method!r}; known: {METHODS}.")
  if fit_sample is not None and fit_sample < len(x):
    if fit_sample < 4:
      raise ValueError(f"fit_sample must be >= 4 points, got {fit_sample}.")
    x = np.asarray(x)[np.sort(np.random.default_rng(seed).choice(
        len(x), fit_sample, replace=False))]
  factory = umap_factory or _umap_factory
  if method == "pca3":
    return fit_pca(x, 3)
  if method == "umap3":
    return _fit_umap(x, "cosine", seed, factory)
  pca = fit_pca(x, min(50, *np.shape(x)))
  umap_on_pca = _fit_umap(pca(x), "euclidean", seed, factory)
  return lambda v: umap_on_pca(pca(v))
