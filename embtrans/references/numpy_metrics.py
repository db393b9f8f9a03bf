"""Plain NumPy versions of every metric in `embtrans.metrics`.

Written the direct way, as one would without thinking about scale: dense
n x n Gram and score matrices, full sorts, Python loops over points for the
list metrics, textbook formulas. Feasible at n = 10,000 (a few n x n
matrices in memory at once).

They compute in the dtype of their inputs: the tests pass float64 arrays and
compare the kernels' float32 results against them; the benchmark passes
float32 arrays, so both sides of its timings do float32 arithmetic.

This module imports NumPy only: nothing from embtrans and nothing from JAX
(a test checks), so it cannot share a bug with the code it checks.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def _float(x) -> np.ndarray:
  """x as a float array (integers become float64); floats keep their dtype."""
  x = np.asarray(x)
  return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def unit_rows(x: np.ndarray) -> np.ndarray:
  """Rows scaled to unit L2 norm; all-zero rows stay zero."""
  x = _float(x)
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------------
# CKA (Kornblith et al. 2019).
# ---------------------------------------------------------------------------


def gram(x: np.ndarray, kernel: str = "linear",
         threshold: float = 0.5) -> np.ndarray:
  """[n, n] Gram matrix of x: [n, d].

  'linear': inner products. 'rbf': exp(-|x_i - x_j|^2 / (2 sigma^2)) with
  sigma^2 = threshold^2 * the median of all n^2 squared distances, diagonal
  included (the reference notebook of Kornblith et al.).
  """
  x = _float(x)
  if kernel == "linear":
    return x @ x.T
  x = x - x.mean(axis=0)  # distances are unchanged
  sq_norms = np.sum(x * x, axis=1)
  sq_dist = np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2 * x @ x.T, 0)
  np.fill_diagonal(sq_dist, 0)
  return np.exp(-sq_dist / (2 * threshold**2 * np.median(sq_dist)))


def hsic(k: np.ndarray, l: np.ndarray, debiased: bool = False) -> float:
  """HSIC of two [n, n] kernel matrices, which need not be symmetric.

  Biased: trace(K H L H), H = I - 1 1^T / n. Debiased: the unbiased
  estimator of Song et al. (2012, eq. 5) on K, L with zeroed diagonals:
  [tr(K L) + (1^T K 1)(1^T L 1) / ((n-1)(n-2)) - 2/(n-2) 1^T K L 1] / (n(n-3)).
  """
  n = k.shape[0]
  if not debiased:
    hkh = k - k.mean(axis=0, keepdims=True) - k.mean(axis=1, keepdims=True)
    hkh += k.mean()
    return float(np.sum(hkh * l.T))  # trace(HKH L) = trace(K H L H)
  k, l = k.copy(), l.copy()
  np.fill_diagonal(k, 0)
  np.fill_diagonal(l, 0)
  trace_kl = np.sum(k * l.T)
  one_kl_one = k.sum(axis=0) @ l.sum(axis=1)
  value = (trace_kl + k.sum() * l.sum() / ((n - 1) * (n - 2))
           - 2 / (n - 2) * one_kl_one)
  return float(value / (n * (n - 3)))


def cka(x: np.ndarray, y: np.ndarray, kernel: str = "linear",
        debiased: bool = False, threshold: float = 0.5) -> float:
  """CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) from n x n Grams."""
  k, l = gram(x, kernel, threshold), gram(y, kernel, threshold)
  return hsic(k, l, debiased) / np.sqrt(hsic(k, k, debiased)
                                        * hsic(l, l, debiased))


def feature_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
  """Linear CKA from d x d cross-covariances of the centred inputs."""
  x, y = _float(x), _float(y)
  x, y = x - x.mean(axis=0), y - y.mean(axis=0)
  return float(np.linalg.norm(x.T @ y)**2 /
               (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def minibatch_cka(x: np.ndarray, y: np.ndarray, batch_size: int,
                  kernel: str = "linear", threshold: float = 0.5) -> float:
  """Unbiased HSIC summed over consecutive batches (a partial one dropped)."""
  xy = xx = yy = 0.0
  for start in range(0, len(x) - batch_size + 1, batch_size):
    k = gram(x[start:start + batch_size], kernel, threshold)
    l = gram(y[start:start + batch_size], kernel, threshold)
    xy += hsic(k, l, True)
    xx += hsic(k, k, True)
    yy += hsic(l, l, True)
  return float(xy / np.sqrt(xx * yy))


# ---------------------------------------------------------------------------
# k-nearest neighbours and the agreement of two neighbour lists.
# ---------------------------------------------------------------------------


def scores(x: np.ndarray, metric: str = "cosine") -> np.ndarray:
  """[n, n] similarities: cosine, dot, or minus the squared distance."""
  x = _float(x)
  if metric == "cosine":
    x = unit_rows(x)
  if metric == "euclidean":
    sq_norms = np.sum(x * x, axis=1)
    return 2 * x @ x.T - sq_norms[:, None] - sq_norms[None, :]
  return x @ x.T


def knn(x: np.ndarray, k: int, metric: str = "cosine") -> np.ndarray:
  """[n, k] each point's k most similar other points, most similar first.

  A full stable sort of each row: equal scores go to the lower index.
  """
  s = scores(x, metric)
  np.fill_diagonal(s, -np.inf)
  return np.argsort(-s, axis=1, kind="stable")[:, :k]


def knn_pair(x: np.ndarray, y: np.ndarray, k: int,
             metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
  return knn(x, k, metric), knn(y, k, metric)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
  """Mean |A & B| / |A | B| over the rows of two [n, k] neighbour lists."""
  return float(np.mean([len(set(r) & set(s)) / len(set(r) | set(s))
                        for r, s in zip(a, b)]))


def mutual_knn(a: np.ndarray, b: np.ndarray) -> float:
  """Mean |A & B| / k (Huh et al. 2024)."""
  return float(np.mean([len(set(r) & set(s)) / len(r) for r, s in zip(a, b)]))


def rbo(s: Sequence[int], t: Sequence[int], p: float) -> float:
  """Extrapolated rank-biased overlap, Webber et al. (2010) eq. 32."""
  k = len(s)
  overlap = [len(set(s[:d]) & set(t[:d])) for d in range(1, k + 1)]
  head = sum(overlap[d - 1] / d * p**d for d in range(1, k + 1))
  return overlap[-1] / k * p**k + (1 - p) / p * head


def rank_agreement(a: np.ndarray, b: np.ndarray, p: float = 0.9) -> float:
  return float(np.mean([rbo(list(r), list(s), p) for r, s in zip(a, b)]))


def levenshtein(s: Sequence[int], t: Sequence[int]) -> int:
  """Insertions, deletions and substitutions to turn s into t."""
  prev = list(range(len(t) + 1))
  for i, si in enumerate(s, 1):
    cur = [i]
    for j, tj in enumerate(t, 1):
      cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (si != tj)))
    prev = cur
  return prev[-1]


def edit_distance(a: np.ndarray, b: np.ndarray) -> float:
  """Mean Levenshtein distance of the ordered lists, in [0, k]."""
  return float(np.mean([levenshtein(list(r), list(s)) for r, s in zip(a, b)]))


def edit_similarity(a: np.ndarray, b: np.ndarray) -> float:
  """1 - mean Levenshtein distance / k (platonic-rep's edit_distance_knn)."""
  return 1.0 - edit_distance(a, b) / a.shape[1]


def lcs_length(s: Sequence[int], t: Sequence[int]) -> int:
  """Length of the longest common subsequence of s and t."""
  table = [[0] * (len(t) + 1) for _ in range(len(s) + 1)]
  for i, si in enumerate(s, 1):
    for j, tj in enumerate(t, 1):
      table[i][j] = (table[i - 1][j - 1] + 1 if si == tj
                     else max(table[i - 1][j], table[i][j - 1]))
  return table[-1][-1]


def lcs_knn(a: np.ndarray, b: np.ndarray) -> float:
  """Mean longest-common-subsequence length of the ordered lists, [0, k]."""
  return float(np.mean([lcs_length(list(r), list(s)) for r, s in zip(a, b)]))


def cycle_knn(a: np.ndarray, b: np.ndarray) -> float:
  """Fraction of points i with i in a[j] for some j in b[i].

  From i to its neighbours in the second space, then to their neighbours in
  the first space: does the cycle come back to i?
  """
  return float(np.mean([any(i in set(a[j]) for j in b[i])
                        for i in range(len(a))]))


def agreement(x: np.ndarray, y: np.ndarray, k: int, metric: str = "cosine",
              p: float = 0.9) -> dict[str, float]:
  """Every list metric above, from the neighbour lists of x and y."""
  a, b = knn_pair(x, y, k, metric)
  return {"jaccard": jaccard(a, b), "mutual_knn": mutual_knn(a, b),
          "rank_agreement": rank_agreement(a, b, p),
          "edit_distance": edit_distance(a, b),
          "edit_similarity": edit_similarity(a, b), "lcs": lcs_knn(a, b),
          "cycle_knn": cycle_knn(a, b)}


# ---------------------------------------------------------------------------
# CKNNA (Huh et al. 2024) and SVCCA (Raghu et al. 2017), as platonic-rep
# defines them.
# ---------------------------------------------------------------------------


def _top_k_mask(p: np.ndarray, k: int, exclude_diagonal: bool) -> np.ndarray:
  """[n, n] bool: True at the k largest entries of each row of p."""
  ranked = p.copy()
  if exclude_diagonal:
    np.fill_diagonal(ranked, -np.inf)
  top = np.argsort(-ranked, axis=1, kind="stable")[:, :k]
  mask = np.zeros(p.shape, bool)
  np.put_along_axis(mask, top, True, axis=1)
  return mask


def cknna(x: np.ndarray, y: np.ndarray, k: int | None,
          unbiased: bool = True, normalize: bool = True,
          eps: float = 0.0) -> float:
  """CKA restricted to mutual k-nearest-neighbour pairs.

  K = x x^T, L = y y^T (rows L2-normalised first if normalize). For two
  kernels P, Q let M_ij = 1 where j is among the k largest entries of row i
  of P and among those of row i of Q (the diagonal excluded when unbiased),
  and sim(P, Q) = HSIC(M * P, M * Q) (debiased HSIC when unbiased). Then
  CKNNA = sim(K, L) / (sqrt(sim(K, K) sim(L, L)) + eps). k=None means n - 1.
  """
  x, y = _float(x), _float(y)
  if normalize:
    x, y = unit_rows(x), unit_rows(y)
  k = len(x) - 1 if k is None else k
  k_mat, l_mat = x @ x.T, y @ y.T
  mask_k = _top_k_mask(k_mat, k, unbiased)
  mask_l = _top_k_mask(l_mat, k, unbiased)

  def sim(p, q, mask):
    return hsic(np.where(mask, p, 0), np.where(mask, q, 0), unbiased)

  return sim(k_mat, l_mat, mask_k & mask_l) / (np.sqrt(
      sim(k_mat, k_mat, mask_k) * sim(l_mat, l_mat, mask_l)) + eps)


def _inverse_sqrt(c: np.ndarray) -> np.ndarray:
  """C^(-1/2) of a symmetric positive definite matrix."""
  values, vectors = np.linalg.eigh(c)
  return vectors @ np.diag(values**-0.5) @ vectors.T


def svcca(x: np.ndarray, y: np.ndarray, cca_dim: int = 10) -> float:
  """Mean canonical correlation of the top singular directions of x and y.

  Each column is centred and divided by its standard deviation (ddof=1)
  + 1e-8; the top cca_dim left singular vectors of each space come from an
  exact SVD; CCA between them by whitening each side and an SVD of the
  whitened cross-covariance; the result is the mean correlation of the
  cca_dim pairs of canonical variates.
  """
  def top_directions(a):
    a = _float(a)
    a = a - a.mean(axis=0)
    a = a / (a.std(axis=0, ddof=1) + 1e-8)
    return np.linalg.svd(a, full_matrices=False)[0][:, :cca_dim]

  u, v = top_directions(x), top_directions(y)
  u, v = u - u.mean(axis=0), v - v.mean(axis=0)
  white_u, white_v = _inverse_sqrt(u.T @ u), _inverse_sqrt(v.T @ v)
  left, _, right_t = np.linalg.svd(white_u @ u.T @ v @ white_v)
  variates_u, variates_v = u @ white_u @ left, v @ white_v @ right_t.T
  return float(np.mean([np.corrcoef(variates_u[:, i], variates_v[:, i])[0, 1]
                        for i in range(cca_dim)]))


# ---------------------------------------------------------------------------
# platonic-rep's preprocessing and its reduction over layers.
# ---------------------------------------------------------------------------


def clamp_outliers(x: np.ndarray, q: float = 0.95,
                   exact: bool = True) -> np.ndarray:
  """x clipped to [-t, t], t a q-quantile of |x|; unchanged for q = 1.

  x: [n, ...]. exact: t is entry floor(q * x.size) of all |x| sorted
  ascending. Otherwise t is the mean over rows of each row's q-quantile of
  |x| over all its entries (linear interpolation).
  """
  x = _float(x)
  if q == 1:
    return x
  a = np.abs(x)
  if exact:
    t = np.sort(a, axis=None)[int(q * a.size)]
  else:
    t = np.mean(np.quantile(a.reshape(len(a), -1), q, axis=1))
  return np.clip(x, -t, t)


def prepare(x: np.ndarray, q: float = 0.95, exact: bool = True) -> np.ndarray:
  """Outliers clamped, then rows L2-normalised."""
  return unit_rows(clamp_outliers(x, q, exact))


def max_over_layer_pairs(metric: Callable[[np.ndarray, np.ndarray], float],
                         xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]
                         ) -> tuple[float, tuple[int, int]]:
  """The largest metric(xs[i], ys[j]) and its (i, j); the first on ties."""
  best = None
  for i, x in enumerate(xs):
    for j, y in enumerate(ys):
      value = float(metric(x, y))
      if best is None or value > best[0]:
        best = (value, (i, j))
  return best


# ---------------------------------------------------------------------------
# Retrieval and alignment accuracy.
# ---------------------------------------------------------------------------


def recall_at_k(queries: np.ndarray, keys: np.ndarray,
                ks: Sequence[int] = (1, 5, 10), positives=None,
                normalize: bool = True, ties: str = "strict",
                mrr: bool = False) -> dict[str, float]:
  """Recall@k, mean and median rank (and with `mrr` the mean reciprocal
  rank), from a full sort of each query's scores.

  A query's rank is the 1-based position of its first positive when keys
  are ordered by score, highest first, and among equal scores negatives
  before positives ('strict') or positives before negatives ('optimistic').

  positives: None (query i matches key i) or [n_q] / [n_q, p] key indices,
  -1 for padding.
  """
  q, k = _float(queries), _float(keys)
  if normalize:
    q, k = unit_rows(q), unit_rows(k)
  if positives is None:
    positives = np.arange(len(q))
  positives = np.asarray(positives).reshape(len(q), -1)
  is_pos = np.zeros((len(q), len(k)), bool)
  for i, row in enumerate(positives):
    is_pos[i, row[row >= 0]] = True
  tie_key = is_pos if ties == "strict" else ~is_pos
  order = np.lexsort((tie_key, -(q @ k.T)), axis=1)
  ranks = np.argmax(np.take_along_axis(is_pos, order, axis=1), axis=1) + 1
  out = {f"recall@{c}": float(np.mean(ranks <= c)) for c in ks}
  out.update(mean_rank=float(ranks.mean()),
             median_rank=float(np.median(ranks)))
  if mrr:
    out["mrr"] = float(np.mean(1.0 / ranks))
  return out


def alignment_accuracy(anchor: np.ndarray, positive: np.ndarray,
                       negatives: np.ndarray, normalize: bool = True) -> float:
  """Fraction of rows whose positive scores strictly above every negative.

  negatives: [n, m, d] per row, or [m, d] shared by all rows.
  """
  a, p, neg = _float(anchor), _float(positive), _float(negatives)
  if normalize:
    a, p, neg = unit_rows(a), unit_rows(p), unit_rows(neg)
  if neg.ndim == 2:
    neg_scores = a @ neg.T
  else:
    neg_scores = np.einsum("nd,nmd->nm", a, neg)
  return float(np.mean(np.sum(a * p, axis=1) > neg_scores.max(axis=1)))
