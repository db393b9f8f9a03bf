"""Straightforward NumPy versions of the metric kernels, for timing only.

These are what one would write without thinking about scale: Gram matrices
for CKA (as in the reference notebook of Kornblith et al.), a full argsort
for neighbours and ranks, and Python loops over points for the list
metrics. They are feasible at n = 10,000. The tests hold their own,
independent references.
"""

from __future__ import annotations

import numpy as np


def _center_gram(gram: np.ndarray, debiased: bool) -> np.ndarray:
  gram = gram.copy()
  n = gram.shape[0]
  if debiased:
    np.fill_diagonal(gram, 0)
    means = np.sum(gram, 0, dtype=np.float64) / (n - 2)
    means -= np.sum(means) / (2 * (n - 1))
  else:
    means = np.mean(gram, 0, dtype=np.float64)
    means -= np.mean(means) / 2
  gram -= means[:, None]
  gram -= means[None, :]
  if debiased:
    np.fill_diagonal(gram, 0)
  return gram


def gram_cka(gram_x: np.ndarray, gram_y: np.ndarray,
             debiased: bool = False) -> float:
  kc, lc = _center_gram(gram_x, debiased), _center_gram(gram_y, debiased)
  return float(np.vdot(kc, lc) / (np.linalg.norm(kc) * np.linalg.norm(lc)))


def linear_cka(x: np.ndarray, y: np.ndarray, debiased: bool = False) -> float:
  """Gram form: n x n matrices."""
  return gram_cka(x @ x.T, y @ y.T, debiased)


def feature_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
  """Feature form: d x d cross-covariances of the centred inputs."""
  x, y = x - x.mean(0), y - y.mean(0)
  return float(np.linalg.norm(x.T @ y)**2 /
               (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def _gram_rbf(x: np.ndarray, threshold: float) -> np.ndarray:
  dot = x @ x.T
  sq_norms = np.diag(dot)
  sq_dist = -2 * dot + sq_norms[:, None] + sq_norms[None, :]
  return np.exp(-sq_dist / (2 * threshold**2 * np.median(sq_dist)))


def rbf_cka(x: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> float:
  return gram_cka(_gram_rbf(x, threshold), _gram_rbf(y, threshold))


def minibatch_cka(x: np.ndarray, y: np.ndarray, batch_size: int,
                  kernel: str = "linear") -> float:
  """Unbiased HSIC summed over consecutive batches."""
  xy = xx = yy = 0.0
  for start in range(0, len(x) - batch_size + 1, batch_size):
    xb, yb = x[start:start + batch_size], y[start:start + batch_size]
    if kernel == "linear":
      k, l = xb @ xb.T, yb @ yb.T
    else:
      k, l = _gram_rbf(xb, 0.5), _gram_rbf(yb, 0.5)
    kc, lc = _center_gram(k, True), _center_gram(l, True)
    xy += np.vdot(kc, lc)
    xx += np.vdot(kc, kc)
    yy += np.vdot(lc, lc)
  return float(xy / np.sqrt(xx * yy))


def knn(x: np.ndarray, k: int) -> np.ndarray:
  """[n, k] cosine neighbours by a full argsort of each row."""
  x = x / np.linalg.norm(x, axis=1, keepdims=True)
  scores = x @ x.T
  np.fill_diagonal(scores, -np.inf)
  return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def knn_pair(x: np.ndarray, y: np.ndarray,
             k: int) -> tuple[np.ndarray, np.ndarray]:
  return knn(x, k), knn(y, k)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
  """Mean Jaccard index of the rows of two [n, k] neighbour lists."""
  return float(np.mean([len(set(r) & set(s)) / len(set(r) | set(s))
                        for r, s in zip(a, b)]))


def mutual_knn(a: np.ndarray, b: np.ndarray) -> float:
  return float(np.mean([len(set(r) & set(s)) / len(r) for r, s in zip(a, b)]))


def _rbo(a: list[int], b: list[int], p: float) -> float:
  k = len(a)
  overlap = [len(set(a[:d]) & set(b[:d])) for d in range(1, k + 1)]
  head = sum(overlap[d - 1] / d * p**d for d in range(1, k + 1))
  return overlap[-1] / k * p**k + (1 - p) / p * head


def rank_agreement(a: np.ndarray, b: np.ndarray, p: float = 0.9) -> float:
  return float(np.mean([_rbo(list(r), list(s), p) for r, s in zip(a, b)]))


def _levenshtein(a: list[int], b: list[int]) -> int:
  prev = list(range(len(b) + 1))
  for i, ai in enumerate(a, 1):
    cur = [i]
    for j, bj in enumerate(b, 1):
      cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ai != bj)))
    prev = cur
  return prev[-1]


def edit_distance(a: np.ndarray, b: np.ndarray) -> float:
  return float(np.mean([_levenshtein(list(r), list(s)) for r, s in zip(a, b)]))


def recall_at_k(queries: np.ndarray, keys: np.ndarray,
                ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
  """One-to-one recall by a full argsort of each row of cosine scores."""
  q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
  k = keys / np.linalg.norm(keys, axis=1, keepdims=True)
  order = np.argsort(-(q @ k.T), axis=1, kind="stable")
  ranks = np.argmax(order == np.arange(len(q))[:, None], axis=1) + 1
  out = {f"recall@{c}": float(np.mean(ranks <= c)) for c in ks}
  out.update(mean_rank=float(ranks.mean()), median_rank=float(np.median(ranks)))
  return out


def alignment_accuracy(anchor: np.ndarray, positive: np.ndarray,
                       pool: np.ndarray) -> float:
  unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)
  anchor, positive, pool = unit(anchor), unit(positive), unit(pool)
  pos = np.sum(anchor * positive, axis=1)
  return float(np.mean(pos > (anchor @ pool.T).max(axis=1)))
