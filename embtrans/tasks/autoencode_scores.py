"""Every metric of one projection of two populations, as flat keys.

    scores = evaluate_projection(codes_a, codes_b, x_a, x_b, pairs)

Keys (k in TRUST_KS; scope in SCOPES: population A, B, or both together):

  <scope>/trust@k     trustworthiness at k (original cosine vs 3-D euclidean)
  <scope>/cont@k      continuity at k
  <scope>/knn@10      k-NN preservation at KNN_K
  <scope>/spearman    Spearman of original cosine vs 3-D -distance, on a
                      sample of SPEARMAN_SAMPLE points
  proj/a2b/recall@r   Recall@r of the known pairs in 3-D, A -> B (and b2a)
  orig/a2b/recall@r   the same in the original space (cosine)
  gap/orig, gap/proj  `metrics.projection.population_gap` before and after

A metric whose k does not fit the number of points (k >= n / 2) is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from embtrans.metrics import projection

SCOPES = ("a", "b", "both")
TRUST_KS = (10, 20)
KNN_K = 10
RECALL_KS = (1, 10)
SPEARMAN_SAMPLE = 1000


def _scope_scores(x: np.ndarray, y: np.ndarray, seed: int
                  ) -> dict[str, float]:
  """trust/cont/knn/spearman of one set of points x: [n, d], y: [n, 3]."""
  n = len(x)
  fits = lambda k: 1 <= k < n / 2
  ks = tuple(k for k in TRUST_KS if fits(k))
  out = {f"{m}@{k}": math.nan for m in ("trust", "cont") for k in TRUST_KS}
  if ks:
    out.update(projection.trust_and_continuity(x, y, ks))
  out[f"knn@{KNN_K}"] = (projection.knn_preservation(x, y, KNN_K)
                         if fits(KNN_K) else math.nan)
  out["spearman"] = (projection.similarity_spearman(
      x, y, SPEARMAN_SAMPLE, seed) if n >= 3 else math.nan)
  return out


def evaluate_projection(codes_a: Any, codes_b: Any, x_a: Any, x_b: Any,
                        pairs: Any, seed: int = 0) -> dict[str, float]:
  """All metrics of projecting A and B (see the module docstring).

  Args:
    codes_a: [n_a, c] projections of x_a: [n_a, d]; codes_b, x_b likewise.
    pairs: int [p, 2] (row in A, row in B) of the known pairs.
    seed: picks the Spearman sample.
  """
  codes_a, codes_b = (np.asarray(c, np.float32) for c in (codes_a, codes_b))
  x_a, x_b = (np.asarray(v, np.float32) for v in (x_a, x_b))
  for name, c, x in (("a", codes_a, x_a), ("b", codes_b, x_b)):
    if c.ndim != 2 or x.ndim != 2 or len(c) != len(x):
      raise ValueError(f"codes_{name} {c.shape} and x_{name} {x.shape} must "
                       "be [n, c] and [n, d] with one code per vector.")
  pairs = projection.check_pairs(pairs, len(x_a), len(x_b))
  out = {}
  both = (np.concatenate([x_a, x_b]), np.concatenate([codes_a, codes_b]))
  for scope, (x, y) in zip(SCOPES, ((x_a, codes_a), (x_b, codes_b), both)):
    out.update({f"{scope}/{k}": v
                for k, v in _scope_scores(x, y, seed).items()})
  for space, a, b, metric in (("proj", codes_a, codes_b, "euclidean"),
                              ("orig", x_a, x_b, "cosine")):
    recalls = projection.cross_recall(a, b, pairs, RECALL_KS, metric)
    out.update({f"{space}/{k}": v for k, v in recalls.items()})
  out["gap/orig"] = projection.population_gap(x_a, x_b)
  out["gap/proj"] = projection.population_gap(codes_a, codes_b)
  return out
