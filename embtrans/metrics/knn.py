"""k-nearest-neighbour structure of a space, and its agreement across spaces.

`knn_indices(x, k)` lists each point's k nearest other points, nearest first.
The agreement metrics compare, row by row, the list A of a point in space x
with the list B of the same point in space y, and average over points:

* `knn_jaccard`: |A & B| / |A | B| (Jaccard index of the sets).
* `mutual_knn`: |A & B| / k, the mutual-kNN alignment of Huh et al. (2024).
* `knn_rank_agreement`: extrapolated rank-biased overlap, RBO_ext (Webber,
  Moffat & Zobel 2010, eq. 32) with persistence p, which weighs agreement at
  the top of the lists most; 1 for identical lists, 0 for disjoint ones.
* `knn_edit_distance`: Levenshtein distance between the ordered lists, in
  [0, k]; 0 for identical lists.
* `knn_edit_similarity`: 1 - that distance / k, in [0, 1] (platonic-rep's
  `edit_distance_knn`).
* `lcs_knn`: length of the longest common subsequence of the ordered lists,
  in [0, k] (platonic-rep's `lcs_knn`).
* `cycle_knn`: whether i is in the x-list of one of the members of its
  y-list (platonic-rep's `cycle_knn`; not symmetric).

`knn_search(queries, keys, k, mask)` is the query-side kernel: the k best
keys of each query among the keys its mask allows (an exact filtered search;
see embtrans.retrieval).

Similarities are computed in blocks of query rows (block x n tiles) under
lax.map with `lax.top_k`, so n = 100,000 runs in O(block_size * n) memory.
The point itself is excluded. Ties are broken by the lower index:
`lax.top_k` returns equal values in index order. platonic-rep ranks by the
inner product of its (L2-normalised) features, which is the default
metric='cosine' here.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from embtrans.metrics import _checks
from embtrans.metrics.retrieval import l2_normalize

METRICS = ("cosine", "dot", "euclidean")
DEFAULT_BLOCK_SIZE = 512
DEFAULT_RBO_P = 0.9


def _prepare(x: jax.Array, metric: str) -> tuple[jax.Array, jax.Array]:
  """Vectors and per-key score offsets so that score = q . k + offset."""
  if metric == "cosine":
    x = l2_normalize(x)
  if metric == "euclidean":
    # -|q - k|^2 / 2 = q.k - |k|^2 / 2 - |q|^2 / 2; the last term is the
    # same for every key of a query, so it does not change the ranking.
    return x, -0.5 * jnp.sum(x * x, axis=1)
  return x, jnp.zeros(x.shape[0], x.dtype)


def _block_topk(rows: jax.Array, queries: jax.Array, keys: jax.Array,
                offsets: jax.Array, k: int,
                exclude_self: bool = True) -> tuple[jax.Array, jax.Array]:
  """k best keys of each query, by default excluding the query's own row.

  Args:
    rows: [b] global row index of each query.
    queries: [b, d] query vectors.
    keys: [n, d] all vectors.
    offsets: [n] per-key score offsets.
    k: neighbours per query.
    exclude_self: leave the query's own row out of its list.

  Returns:
    ([b, k] scores, [b, k] int32 key indices), best first, ties to the lower
    index.
  """
  scores = jnp.einsum("bd,nd->bn", queries, keys) + offsets
  if exclude_self:
    is_self = rows[:, None] == jnp.arange(keys.shape[0])
    scores = jnp.where(is_self, -jnp.inf, scores)
  return lax.top_k(scores, k)


def pad_blocks(x: jax.Array, block_size: int) -> jax.Array:
  """x: [n, ...] zero-padded and cut into [n_blocks, block_size, ...]."""
  n_blocks = -(-x.shape[0] // block_size)
  widths = [(0, n_blocks * block_size - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
  padded = jnp.pad(x, widths)
  return padded.reshape((n_blocks, block_size) + x.shape[1:])


def blocked_topk(x: jax.Array, k: int, metric: str, block_size: int,
                 exclude_self: bool = True) -> tuple[jax.Array, jax.Array]:
  """([n, k] scores, [n, k] neighbour lists) of x: [n, d], block by block.

  For metric 'dot' the scores are the inner products x_i . x_j.
  """
  n = x.shape[0]
  x, offsets = _prepare(x, metric)
  rows = pad_blocks(jnp.arange(n), block_size)
  queries = pad_blocks(x, block_size)
  values, lists = lax.map(
      lambda rq: _block_topk(rq[0], rq[1], x, offsets, k, exclude_self),
      (rows, queries))
  return values.reshape(-1, k)[:n], lists.reshape(-1, k)[:n]


def _blocked_knn(x: jax.Array, k: int, metric: str,
                 block_size: int) -> jax.Array:
  """[n, k] neighbour lists of x: [n, d], computed block by block."""
  return blocked_topk(x, k, metric, block_size)[1]


_knn = jax.jit(_blocked_knn, static_argnames=("k", "metric", "block_size"))


@functools.partial(jax.jit, static_argnames=("k", "metric", "block_size"))
def _knn_pair(x: jax.Array, y: jax.Array, k: int, metric: str,
              block_size: int) -> tuple[jax.Array, jax.Array]:
  return (_blocked_knn(x, k, metric, block_size),
          _blocked_knn(y, k, metric, block_size))


def _masked_block_topk(queries: jax.Array, mask: jax.Array, keys: jax.Array,
                       offsets: jax.Array, k: int
                       ) -> tuple[jax.Array, jax.Array]:
  """k best allowed keys of each query.

  Args:
    queries: [b, d] query vectors.
    mask: [b, n] or [1, n] bool, True where a key is allowed.
    keys: [n, d] all key vectors.
    offsets: [n] per-key score offsets.
    k: keys per query.

  Returns:
    ([b, k] scores, [b, k] int32 key indices), best first, ties to the lower
    index; slots beyond the allowed keys score -inf.
  """
  scores = jnp.einsum("bd,nd->bn", queries, keys) + offsets
  return lax.top_k(jnp.where(mask, scores, -jnp.inf), k)


@functools.partial(jax.jit, static_argnames=("k", "metric", "block_size"))
def search_kernel(queries: jax.Array, keys: jax.Array, mask: jax.Array,
                  k: int, metric: str, block_size: int
                  ) -> tuple[jax.Array, jax.Array]:
  """Unchecked, compiled core of `knn_search` (for callers that validated).

  queries: [q, d]; keys: [n, d]; mask: [q, n] per query or [1, n] shared;
  q must be a multiple of block_size. Returns [q, k] scores and indices.
  """
  keys, offsets = _prepare(keys, metric)
  if metric == "cosine":
    queries = l2_normalize(queries)
  n_blocks = queries.shape[0] // block_size
  q_blocks = queries.reshape(n_blocks, block_size, -1)
  if mask.shape[0] == 1:
    scores, rows = lax.map(
        lambda q: _masked_block_topk(q, mask, keys, offsets, k), q_blocks)
  else:
    m_blocks = mask.reshape(n_blocks, block_size, -1)
    scores, rows = lax.map(
        lambda qm: _masked_block_topk(qm[0], qm[1], keys, offsets, k),
        (q_blocks, m_blocks))
  return scores.reshape(-1, k), rows.reshape(-1, k)


# --------------------------------------------------------------------------
# Agreement between two lists a, b: [n, k] of distinct indices per row.
# --------------------------------------------------------------------------


def _matches(a: jax.Array, b: jax.Array) -> jax.Array:
  """[n, k, k] bool, [i, s, t] = (a[i, s] == b[i, t])."""
  return a[:, :, None] == b[:, None, :]


@jax.jit
def _overlap(a: jax.Array, b: jax.Array) -> jax.Array:
  """[n] |A & B| per row (entries within a row are distinct)."""
  return jnp.sum(_matches(a, b), axis=(1, 2), dtype=jnp.int32)


@jax.jit
def _jaccard(a: jax.Array, b: jax.Array) -> jax.Array:
  both = _overlap(a, b).astype(jnp.float32)
  return jnp.mean(both / (2 * a.shape[1] - both))


@jax.jit
def _mutual(a: jax.Array, b: jax.Array) -> jax.Array:
  return jnp.mean(_overlap(a, b).astype(jnp.float32)) / a.shape[1]


@jax.jit
def _rbo(a: jax.Array, b: jax.Array, p: float | jax.Array) -> jax.Array:
  """Mean extrapolated RBO of the rows of a, b: [n, k]."""
  k = a.shape[1]
  # Overlap at depth d = |a[:d] & b[:d]|: 2-D prefix sums of the matches.
  prefix = jnp.cumsum(jnp.cumsum(_matches(a, b), axis=1, dtype=jnp.int32),
                      axis=2)
  overlap = jnp.diagonal(prefix, axis1=1, axis2=2).astype(jnp.float32)
  depth = jnp.arange(1, k + 1, dtype=jnp.float32)
  weights = (1 - p) / p * p**depth
  rbo = jnp.sum(overlap / depth * weights, axis=1) + overlap[:, -1] / k * p**k
  return jnp.mean(rbo)


def _levenshtein(a: jax.Array, b: jax.Array) -> jax.Array:
  """Edit distance between sequences a: [k] and b: [m] (int32 scalar).

  Row i of the DP table is D[i, j] = min(D[i-1, j] + 1, D[i-1, j-1] +
  [a_i != b_j], D[i, j-1] + 1). The last (insertion) term chains along the
  row; it is resolved at once as D[i, j] = j + cummin_j'(T[j'] - j'), where T
  holds the first two terms, so each row is O(m) vector work and the scan has
  k steps.
  """
  cols = jnp.arange(b.shape[0] + 1, dtype=jnp.int32)

  def row(prev, i_and_ai):
    i, ai = i_and_ai
    diagonal = prev[:-1] + (ai != b).astype(jnp.int32)
    upper = prev[1:] + 1
    first = jnp.concatenate([i[None], jnp.minimum(diagonal, upper)])
    return lax.cummin(first - cols) + cols, None

  steps = jnp.arange(1, a.shape[0] + 1, dtype=jnp.int32)
  last, _ = lax.scan(row, cols, (steps, a))
  return last[-1]


@jax.jit
def _edit_distance(a: jax.Array, b: jax.Array) -> jax.Array:
  return jnp.mean(jax.vmap(_levenshtein)(a, b).astype(jnp.float32))


@jax.jit
def _edit_similarity(a: jax.Array, b: jax.Array) -> jax.Array:
  return 1.0 - _edit_distance(a, b) / a.shape[1]


def _lcs_length(a: jax.Array, b: jax.Array) -> jax.Array:
  """Longest common subsequence of a: [k] and b: [m] (int32 scalar).

  Row i of the DP table is D[i, j] = max(D[i-1, j], D[i, j-1], D[i-1, j-1]
  + [a_i == b_j]) (equal to the textbook recurrence: on a match the last term
  is never smaller than the other two). The D[i, j-1] term chains along the
  row; it is resolved at once as a running maximum over j of the other two
  terms, so each row is O(m) vector work and the scan has k steps.
  """
  zeros = jnp.zeros(b.shape[0] + 1, jnp.int32)

  def row(prev, ai):
    diagonal = prev[:-1] + (ai == b).astype(jnp.int32)
    first = jnp.concatenate([zeros[:1], jnp.maximum(diagonal, prev[1:])])
    return lax.cummax(first), None

  last, _ = lax.scan(row, zeros, a)
  return last[-1]


@jax.jit
def _lcs(a: jax.Array, b: jax.Array) -> jax.Array:
  return jnp.mean(jax.vmap(_lcs_length)(a, b).astype(jnp.float32))


def rows_in_lists(lists: jax.Array, owners: jax.Array,
                  block_size: int) -> jax.Array:
  """[n, m] bool, [i, s] = (i is in lists[owners[i, s]]), block by block.

  Args:
    lists: [n, k] neighbour lists.
    owners: [n, m] row indices into lists.
    block_size: rows per block; memory is O(block_size * m * k).
  """
  n = owners.shape[0]

  def block(rows_and_owners):
    rows, own = rows_and_owners
    return jnp.any(lists[own] == rows[:, None, None], axis=2)

  found = lax.map(block, (pad_blocks(jnp.arange(n), block_size),
                          pad_blocks(owners, block_size)))
  return found.reshape(-1, owners.shape[1])[:n]


@functools.partial(jax.jit, static_argnames=("block_size",))
def _cycle(a: jax.Array, b: jax.Array, block_size: int) -> jax.Array:
  """Fraction of rows i found in a[j] for some j in b[i]."""
  back = jnp.any(rows_in_lists(a, b, block_size), axis=1)
  return jnp.mean(back.astype(jnp.float32))


@functools.partial(jax.jit, static_argnames=("block_size",))
def _all_agreements(a: jax.Array, b: jax.Array, p: float | jax.Array,
                    block_size: int) -> dict[str, jax.Array]:
  """Every agreement metric of the lists a, b: [n, k], in one compile."""
  return {"jaccard": _jaccard(a, b), "mutual_knn": _mutual(a, b),
          "rank_agreement": _rbo(a, b, p),
          "edit_distance": _edit_distance(a, b),
          "edit_similarity": _edit_similarity(a, b), "lcs": _lcs(a, b),
          "cycle_knn": _cycle(a, b, block_size=block_size)}


# --------------------------------------------------------------------------
# Public functions.
# --------------------------------------------------------------------------


def _check_args(k: Any, n: int, metric: str, block_size: int) -> int:
  if metric not in METRICS:
    raise ValueError(f"Unknown metric {metric!r}; choose one of {METRICS}.")
  if block_size < 1:
    raise ValueError(f"block_size must be positive, got {block_size}.")
  return _checks.check_k(
      k, n - 1, what=f"the point itself is excluded, so k <= n - 1 = {n - 1}")


def knn_indices(x: Any, k: int, metric: str = "cosine",
                block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Indices of each point's k nearest other points, nearest first.

  Args:
    x: [n, d] points.
    k: neighbours per point, 1 <= k <= n - 1.
    metric: 'cosine' (default), 'dot' (inner product) or 'euclidean'.
    block_size: query rows per block; memory is O(block_size * n).

  Returns:
    [n, k] int32. Row i never contains i. Ties go to the lower index.

  Raises:
    ValueError: bad rank, empty or non-finite x (syncs), k out of range,
      unknown metric.
  """
  x = _checks.as_matrix("x", x, min_rows=2)
  k = _check_args(k, x.shape[0], metric, block_size)
  (x,) = _checks.as_float_arrays(x)
  return _knn(x, k=k, metric=metric, block_size=min(block_size, x.shape[0]))


def knn_pair(x: Any, y: Any, k: int, metric: str = "cosine",
             block_size: int = DEFAULT_BLOCK_SIZE
             ) -> tuple[jax.Array, jax.Array]:
  """[n, k] neighbour lists of the same n points in x: [n, d1], y: [n, d2].

  Arguments as `knn_jaccard`; validated here.
  """
  x = _checks.as_matrix("x", x, min_rows=2)
  y = _checks.as_matrix("y", y, min_rows=2)
  n = _checks.check_same_rows(x=x, y=y)
  k = _check_args(k, n, metric, block_size)
  return _knn_pair(*_checks.as_float_arrays(x, y), k=k, metric=metric,
                   block_size=min(block_size, n))


def _check_p(p: float) -> float:
  if not 0 < p < 1:
    raise ValueError(f"The RBO persistence p must be in (0, 1), got {p}.")
  return float(p)


def knn_jaccard(x: Any, y: Any, k: int, metric: str = "cosine",
                block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Mean Jaccard index |A & B| / |A | B| of each point's k-NN sets.

  Args:
    x: [n, d1] points in the first space.
    y: [n, d2] the same points in the second space.
    k: neighbours per point, 1 <= k <= n - 1.
    metric: 'cosine', 'dot' or 'euclidean', used in both spaces.
    block_size: query rows per block.

  Returns:
    Scalar in [0, 1]; 1 when the k-NN sets coincide.
  """
  return _jaccard(*knn_pair(x, y, k, metric, block_size))


def mutual_knn(x: Any, y: Any, k: int, metric: str = "cosine",
               block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Mean |A & B| / k of each point's k-NN sets (Huh et al. 2024).

  Arguments as `knn_jaccard`. Returns a scalar in [0, 1].
  """
  return _mutual(*knn_pair(x, y, k, metric, block_size))


def knn_rank_agreement(x: Any, y: Any, k: int, p: float = DEFAULT_RBO_P,
                       metric: str = "cosine",
                       block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Mean extrapolated rank-biased overlap of the ordered k-NN lists.

  RBO_ext = X_k / k * p^k + (1 - p) / p * sum_{d=1..k} X_d / d * p^d, with X_d
  the overlap of the top-d prefixes (Webber et al. 2010, eq. 32). Depth d
  has weight proportional to p^d, so with p = 0.9 the top 10 carry most of
  the weight.

  Args:
    x, y, k, metric, block_size: as `knn_jaccard`.
    p: persistence in (0, 1); smaller p weighs the top of the list more.

  Returns:
    Scalar in [0, 1]; 1 for identical ordered lists.
  """
  p = _check_p(p)
  return _rbo(*knn_pair(x, y, k, metric, block_size), p)


def knn_edit_distance(x: Any, y: Any, k: int, metric: str = "cosine",
                      block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Mean Levenshtein distance between the ordered k-NN lists.

  Insertions, deletions and substitutions of one neighbour cost 1 each.

  Arguments as `knn_jaccard`. Returns a scalar in [0, k]; 0 for identical
  ordered lists.
  """
  return _edit_distance(*knn_pair(x, y, k, metric, block_size))


def knn_edit_similarity(x: Any, y: Any, k: int, metric: str = "cosine",
                        block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """1 - mean Levenshtein distance / k of the ordered k-NN lists.

  platonic-rep's `edit_distance_knn` (Huh et al. 2024): `knn_edit_distance`
  rescaled so that 1 means identical ordered lists and 0 means no neighbour
  kept in place (distance k).

  Arguments as `knn_jaccard`. Returns a scalar in [0, 1].
  """
  return _edit_similarity(*knn_pair(x, y, k, metric, block_size))


def lcs_knn(x: Any, y: Any, k: int, metric: str = "cosine",
            block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Mean length of the longest common subsequence of the ordered k-NN lists.

  platonic-rep's `lcs_knn` (Huh et al. 2024): neighbours shared by both
  lists in the same relative order. Like platonic-rep, the mean length is
  returned, not a fraction: divide by k for one.

  Arguments as `knn_jaccard`. Returns a scalar in [0, k]; k for identical
  ordered lists.
  """
  return _lcs(*knn_pair(x, y, k, metric, block_size))


def cycle_knn(x: Any, y: Any, k: int, metric: str = "cosine",
              block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Fraction of points that a k-NN cycle y -> x leads back to.

  platonic-rep's `cycle_knn` (Huh et al. 2024): point i counts when i is
  among the k nearest neighbours in x of at least one of its own k nearest
  neighbours in y. Not symmetric in x and y, and it can be below 1 even
  for x = y (an outlier need not be any of its neighbours' neighbours).

  Arguments as `knn_jaccard`; the lookup of the neighbours' lists runs in
  blocks of `block_size` rows. Returns a scalar in [0, 1].
  """
  a, b = knn_pair(x, y, k, metric, block_size)
  return _cycle(a, b, block_size=min(block_size, a.shape[0]))


def knn_agreement(x: Any, y: Any, k: int, p: float = DEFAULT_RBO_P,
                  metric: str = "cosine",
                  block_size: int = DEFAULT_BLOCK_SIZE) -> dict[str, jax.Array]:
  """All the agreement metrics from one k-NN search per space.

  Returns:
    {'jaccard', 'mutual_knn', 'rank_agreement', 'edit_distance',
     'edit_similarity', 'lcs', 'cycle_knn'}: scalars as `knn_jaccard`,
    `mutual_knn`, `knn_rank_agreement`, `knn_edit_distance`,
    `knn_edit_similarity`, `lcs_knn` and `cycle_knn` give them.
  """
  p = _check_p(p)
  a, b = knn_pair(x, y, k, metric, block_size)
  return _all_agreements(a, b, p, block_size=min(block_size, a.shape[0]))


def _check_mask(mask: Any, n_queries: int, n_keys: int) -> np.ndarray:
  """The mask as [n_queries or 1, n_keys] bool; raises on a bad one."""
  if mask is None:
    return np.ones((1, n_keys), bool)
  mask = np.asarray(mask)
  if mask.dtype != np.bool_:
    raise ValueError(f"mask must be boolean, got dtype {mask.dtype}.")
  if mask.ndim == 1:
    mask = mask[None]
  if mask.ndim != 2 or mask.shape[1] != n_keys or mask.shape[0] not in (
      1, n_queries):
    raise ValueError(
        f"mask must be [{n_keys}] (shared) or [{n_queries}, {n_keys}] (one "
        f"row per query), got shape {tuple(np.shape(mask))}.")
  return mask


def knn_search(queries: Any, keys: Any, k: int, mask: Any = None,
               metric: str = "cosine",
               block_size: int = DEFAULT_BLOCK_SIZE
               ) -> tuple[jax.Array, jax.Array]:
  """The k best keys of each query among the keys its mask allows.

  Args:
    queries: [q, d] query vectors.
    keys: [n, d] key vectors.
    k: keys per query, 1 <= k <= n.
    mask: None (all keys), [n] bool shared by all queries, or [q, n] bool.
    metric: 'cosine' (default), 'dot' or 'euclidean'.
    block_size: query rows per block; memory is O(block_size * n).

  Returns:
    (scores, indices): [q, k] float and [q, k] int32, best first, ties to
    the lower index. A query with m < k allowed keys gets -inf scores in its
    last k - m slots (their indices mean nothing). Cosine and dot scores are
    the similarities; euclidean scores rank like -|q - k|^2 / 2.

  Raises:
    ValueError: bad ranks, widths that differ, empty or non-finite inputs
      (syncs), k out of range, a bad mask, unknown metric.
  """
  queries = _checks.as_matrix("queries", queries)
  keys = _checks.as_matrix("keys", keys)
  if queries.shape[1] != keys.shape[1]:
    raise ValueError(f"queries have {queries.shape[1]} columns but keys have "
                     f"{keys.shape[1]}; both must live in the same space.")
  if metric not in METRICS:
    raise ValueError(f"Unknown metric {metric!r}; choose one of {METRICS}.")
  if block_size < 1:
    raise ValueError(f"block_size must be positive, got {block_size}.")
  n_q, n = queries.shape[0], keys.shape[0]
  k = _checks.check_k(k, n, what=f"there are {n} keys")
  mask = _check_mask(mask, n_q, n)
  block = min(int(block_size), n_q)
  padded = -(-n_q // block) * block
  queries, keys = _checks.as_float_arrays(queries, keys)
  queries = jnp.pad(queries, ((0, padded - n_q), (0, 0)))
  if mask.shape[0] > 1:
    mask = np.pad(mask, ((0, padded - n_q), (0, 0)))
  scores, rows = search_kernel(queries, keys, jnp.asarray(mask), k=k,
                               metric=metric, block_size=block)
  return scores[:n_q], rows[:n_q]
