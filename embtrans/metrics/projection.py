"""How well a low-dimensional projection (e.g. 3-D) keeps a space's structure.

Rows of `x: [n, d]` (the original vectors) and `y: [n, c]` (their
projections) are the same points. Distances are `x_metric` in the original
space ('cosine' by default: 1 - cos) and `y_metric` in the projection
('euclidean' by default: what a viewer sees).

* `trustworthiness(x, y, k)`: Venna & Kaski (2001); penalises points that
  are among a point's k nearest in y but not in x, by their rank in x. Equal
  to `sklearn.manifold.trustworthiness` (whose input metric is `x_metric` and
  whose embedded metric is euclidean), computed block by block in one
  compiled kernel without an n x n rank matrix.
* `continuity(x, y, k)`: the same with the spaces swapped: penalises points
  that are among the k nearest in x but not in y.
* `trust_and_continuity(x, y, ks)`: both, at several k, in one pass.
* `knn_preservation(x, y, k)`: mean fraction of each point's k nearest in x
  that are also among its k nearest in y.
* `similarity_spearman(x, y)`: Spearman correlation, over all pairs of a
  sample of points, between the cosine in x and the similarity in y
  (negative distance), in NumPy/SciPy.
* `cross_recall(a, b, pairs)`: Recall@k of known cross-population pairs
  (population a -> b and b -> a), through `metrics.recall_at_k`.
* `population_gap(a, b)`: distance between the two population means divided
  by their pooled RMS spread (`|mu_a - mu_b| / sqrt((s_a^2 + s_b^2) / 2)`,
  s^2 = mean squared distance of a population's points to its mean); scale
  free, so values before and after a projection compare.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from embtrans.metrics import _checks
from embtrans.metrics import knn as knn_lib
from embtrans.metrics import retrieval

METRICS = ("cosine", "euclidean")
DEFAULT_BLOCK_SIZE = 128


def _distances(queries: jax.Array, keys: jax.Array, metric: str
               ) -> jax.Array:
  """[b, d] x [n, d] -> [b, n]: 1 - cos, or the squared euclidean distance."""
  if metric == "cosine":
    q, k = retrieval.l2_normalize(queries), retrieval.l2_normalize(keys)
    return 1.0 - q @ k.T
  sq_q = jnp.sum(queries * queries, -1)[:, None]
  sq_k = jnp.sum(keys * keys, -1)[None, :]
  return jnp.maximum(sq_q + sq_k - 2.0 * queries @ keys.T, 0.0)


def _penalties(rows: jax.Array, d_in: jax.Array, d_out: jax.Array,
               ks: tuple[int, ...]) -> jax.Array:
  """Trustworthiness penalties of one block of query rows, for each k.

  Args:
    rows: [b] global row of each query (>= n for padding rows).
    d_in: [b, n] distances in the input space, +inf at the query itself.
    d_out: [b, n] the same in the output space.
    ks: neighbour counts.

  Returns:
    [b, len(ks)]: for each k, the sum over the k nearest of each query in the
    output space of max(0, r - k), where r is the neighbour's 1-based rank
    in the input space (ties broken by the lower index).
  """
  n = d_in.shape[1]
  cols = jnp.arange(n)
  nbrs = jax.lax.top_k(-d_out, max(ks))[1]                  # [b, K]
  d_nbr = jnp.take_along_axis(d_in, nbrs, axis=1)           # [b, K]
  closer = d_in[:, None, :] < d_nbr[:, :, None]             # [b, K, n]
  tied_before = ((d_in[:, None, :] == d_nbr[:, :, None])
                 & (cols[None, None, :] < nbrs[:, :, None]))
  rank = 1 + jnp.sum(closer | tied_before, axis=-1)         # [b, K]
  per_k = [jnp.sum(jnp.maximum(rank[:, :k] - k, 0), axis=-1) for k in ks]
  return jnp.where((rows < n)[:, None], jnp.stack(per_k, axis=-1), 0)


def _block_penalties(rows: jax.Array, xq: jax.Array, yq: jax.Array,
                     x: jax.Array, y: jax.Array, ks: tuple[int, ...],
                     x_metric: str, y_metric: str, continuity: bool
                     ) -> jax.Array:
  """[b, 1 or 2, len(ks)] penalties of trustworthiness (and continuity).

  xq, yq: [b, d], [b, c] the queries in both spaces; x, y: [n, d], [n, c].
  """
  is_self = rows[:, None] == jnp.arange(x.shape[0])[None, :]
  dx = jnp.where(is_self, jnp.inf, _distances(xq, x, x_metric))
  dy = jnp.where(is_self, jnp.inf, _distances(yq, y, y_metric))
  out = [_penalties(rows, dx, dy, ks)]
  if continuity:
    out.append(_penalties(rows, dy, dx, ks))
  return jnp.stack(out, axis=1)


@functools.partial(jax.jit, static_argnames=(
    "ks", "x_metric", "y_metric", "continuity", "block_size"))
def _trust_scores(x: jax.Array, y: jax.Array, ks: tuple[int, ...],
                  x_metric: str, y_metric: str, continuity: bool,
                  block_size: int) -> jax.Array:
  """[1 or 2, len(ks)]: trustworthiness (and continuity) at each k."""
  n = x.shape[0]
  n_blocks = -(-n // block_size)
  padded = n_blocks * block_size
  rows = jnp.arange(padded).reshape(n_blocks, block_size)
  pad = lambda a: jnp.pad(a, ((0, padded - n), (0, 0))).reshape(
      n_blocks, block_size, -1)
  penalties = jax.lax.map(
      lambda r: _block_penalties(r[0], r[1], r[2], x, y, ks, x_metric,
                                 y_metric, continuity),
      (rows, pad(x), pad(y)))
  total = jnp.sum(penalties.astype(jnp.float32), axis=(0, 1))
  k = jnp.asarray(ks, jnp.float32)
  return 1.0 - total * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))


def _check_pair(x: Any, y: Any, ks: Sequence[int], metrics: Sequence[str]
                ) -> tuple[jax.Array, jax.Array, tuple[int, ...]]:
  x = _checks.as_matrix("x", x)
  y = _checks.as_matrix("y", y)
  n = _checks.check_same_rows(x=x, y=y)
  for m in metrics:
    if m not in METRICS:
      raise ValueError(f"Unknown metric {m!r}; choose one of {METRICS}.")
  for k in ks:
    if not 1 <= int(k) < n / 2:
      raise ValueError(f"k must be in [1, n/2) = [1, {n / 2:g}) for n={n} "
                       f"points, got {k}; use fewer neighbours or more "
                       "points.")
  x, y = _checks.as_float_arrays(x, y)
  return x, y, tuple(int(k) for k in ks)


def trust_and_continuity(x: Any, y: Any, ks: Sequence[int] = (10,),
                         x_metric: str = "cosine",
                         y_metric: str = "euclidean",
                         block_size: int = DEFAULT_BLOCK_SIZE
                         ) -> dict[str, float]:
  """{'trust@k', 'cont@k'} for each k, from one compiled pass over blocks.

  x: [n, d], y: [n, c]; each k in [1, n / 2). Memory is
  O(block_size * max(ks) * n).
  """
  x, y, ks = _check_pair(x, y, ks, (x_metric, y_metric))
  scores = np.asarray(_trust_scores(
      x, y, ks=ks, x_metric=x_metric, y_metric=y_metric, continuity=True,
      block_size=min(block_size, x.shape[0])))
  return {**{f"trust@{k}": float(v) for k, v in zip(ks, scores[0])},
          **{f"cont@{k}": float(v) for k, v in zip(ks, scores[1])}}


def trustworthiness(x: Any, y: Any, k: int, x_metric: str = "cosine",
                    y_metric: str = "euclidean",
                    block_size: int = DEFAULT_BLOCK_SIZE) -> float:
  """Trustworthiness at k of the projection y: [n, c] of x: [n, d].

  In [0, 1] (1: every k-NN in y is a k-NN in x); needs 1 <= k < n / 2.
  Memory is O(block_size * k * n).
  """
  x, y, ks = _check_pair(x, y, (k,), (x_metric, y_metric))
  return float(_trust_scores(x, y, ks=ks, x_metric=x_metric,
                             y_metric=y_metric, continuity=False,
                             block_size=min(block_size, x.shape[0]))[0, 0])


def continuity(x: Any, y: Any, k: int, x_metric: str = "cosine",
               y_metric: str = "euclidean",
               block_size: int = DEFAULT_BLOCK_SIZE) -> float:
  """Continuity at k: `trustworthiness` with x and y swapped.

  In [0, 1] (1: every k-NN in x stays a k-NN in y).
  """
  return trustworthiness(y, x, k, y_metric, x_metric, block_size)


@functools.partial(jax.jit, static_argnames=("k",))
def _overlap(a: jax.Array, b: jax.Array, k: int) -> jax.Array:
  """a, b: [n, k] neighbour lists -> mean |a_i & b_i| / k."""
  hits = jnp.sum(a[:, :, None] == b[:, None, :], axis=(1, 2))
  return jnp.mean(hits.astype(jnp.float32)) / k


def knn_preservation(x: Any, y: Any, k: int, x_metric: str = "cosine",
                     y_metric: str = "euclidean") -> float:
  """Mean over points of |kNN_x(i) & kNN_y(i)| / k, in [0, 1]."""
  x, y, (k,) = _check_pair(x, y, (k,), (x_metric, y_metric))
  a = knn_lib.knn_indices(x, k, metric=x_metric)
  b = knn_lib.knn_indices(y, k, metric=y_metric)
  return float(_overlap(a, b, k=k))


def _np_distances(x: np.ndarray, metric: str) -> np.ndarray:
  x = np.asarray(x, np.float64)
  if metric == "cosine":
    u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return 1.0 - u @ u.T
  sq = np.sum(x * x, 1)
  return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0))


def similarity_spearman(x: Any, y: Any, sample: int = 1000, seed: int = 0,
                        x_metric: str = "cosine",
                        y_metric: str = "euclidean") -> float:
  """Spearman rho between the pairwise similarities in x and in y.

  Over all pairs i < j of `sample` points drawn without replacement (all
  points if there are fewer); similarity = -distance in each space.
  """
  x, y, _ = _check_pair(x, y, (), (x_metric, y_metric))
  x, y = np.asarray(x), np.asarray(y)
  if len(x) < 3:
    raise ValueError(f"similarity_spearman needs >= 3 points, got {len(x)}.")
  pick = np.random.default_rng(seed).permutation(len(x))[:sample]
  iu = np.triu_indices(len(pick), 1)
  dx = _np_distances(x[pick], x_metric)[iu]
  dy = _np_distances(y[pick], y_metric)[iu]
  return float(scipy.stats.spearmanr(dx, dy)[0])


def _positives(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """pairs [p, 2] -> (unique query rows [q], positive columns [q, m], -1
  padded)."""
  queries, inverse = np.unique(pairs[:, 0], return_inverse=True)
  width = int(np.bincount(inverse).max())
  pos = -np.ones((len(queries), width), np.int64)
  fill = np.zeros(len(queries), np.int64)
  for q, key in zip(inverse, pairs[:, 1]):
    pos[q, fill[q]] = key
    fill[q] += 1
  return queries, pos


def _as_keys(v: np.ndarray, metric: str, side: str) -> np.ndarray:
  """Vectors whose dot product ranks like -euclidean distance (or cosine)."""
  if metric == "cosine":
    return v
  half_sq = -0.5 * np.sum(v * v, axis=1, keepdims=True)
  extra = np.ones_like(half_sq) if side == "query" else half_sq
  return np.concatenate([v, extra], axis=1)


def check_pairs(pairs: Any, n_a: int, n_b: int) -> np.ndarray:
  """pairs: int [p, 2] of (row in a, row in b), checked; returned as int64."""
  pairs = np.asarray(pairs)
  if pairs.ndim != 2 or pairs.shape[1] != 2 or not len(pairs):
    raise ValueError(f"pairs must be a non-empty int array [p, 2] of (row in "
                     f"a, row in b), got shape {pairs.shape}.")
  if not np.issubdtype(pairs.dtype, np.integer):
    raise ValueError(f"pairs must hold integer rows, got {pairs.dtype}.")
  if (pairs.min(0) < 0).any() or pairs[:, 0].max() >= n_a or (
      pairs[:, 1].max() >= n_b):
    raise ValueError(f"pairs index rows out of range: a has {n_a} rows and "
                     f"b has {n_b}.")
  return pairs.astype(np.int64)


def cross_recall(a: Any, b: Any, pairs: Any, ks: Sequence[int] = (1, 10),
                 metric: str = "euclidean") -> dict[str, float]:
  """Recall@k of known pairs across populations, both directions.

  Args:
    a: [n_a, c], b: [n_b, c] the two populations in one space.
    pairs: int [p, 2], (row in a, row in b) of each known pair; a row with
      several partners is ranked by its best one.
    ks: cutoffs.
    metric: 'euclidean' (nearest in the view) or 'cosine'.

  Returns:
    {'a2b/recall@k': ..., 'b2a/recall@k': ...} for each k.
  """
  if metric not in METRICS:
    raise ValueError(f"Unknown metric {metric!r}; choose one of {METRICS}.")
  a = np.asarray(_checks.as_matrix("a", a), np.float32)
  b = np.asarray(_checks.as_matrix("b", b), np.float32)
  pairs = check_pairs(pairs, len(a), len(b))
  out = {}
  for name, q, keys, p in (("a2b", a, b, pairs), ("b2a", b, a, pairs[:, ::-1])):
    rows, pos = _positives(p)
    capped = {k: min(k, len(keys)) for k in ks}  # recall@k = 1 for k >= n
    stats = retrieval.recall_at_k(
        _as_keys(q[rows], metric, "query"), _as_keys(keys, metric, "key"),
        ks=tuple(capped.values()), positives=pos,
        normalize=metric == "cosine")
    out.update({f"{name}/recall@{k}": float(stats[f"recall@{c}"])
                for k, c in capped.items()})
  return out


def population_gap(a: Any, b: Any) -> float:
  """|mean(a) - mean(b)| / sqrt((s_a^2 + s_b^2) / 2); a: [n_a, c],
  b: [n_b, c], s^2 the mean squared distance to the population's mean."""
  a = np.asarray(_checks.as_matrix("a", a), np.float64)
  b = np.asarray(_checks.as_matrix("b", b), np.float64)
  if a.shape[1] != b.shape[1]:
    raise ValueError(f"a has {a.shape[1]} columns and b {b.shape[1]}; both "
                     "populations must live in one space.")
  mu_a, mu_b = a.mean(0), b.mean(0)
  spread2 = 0.5 * (np.mean(np.sum((a - mu_a) ** 2, 1))
                   + np.mean(np.sum((b - mu_b) ** 2, 1)))
  return float(np.linalg.norm(mu_a - mu_b) / max(np.sqrt(spread2), 1e-12))
