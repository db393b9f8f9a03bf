"""Recall@K, mean rank and median rank for cross-space retrieval.

Each query is scored against every key by a dot product (cosine by default).
The rank of a query is the 1-based position of its best-scoring positive key.

Tie rule. Keys that score exactly as high as the best positive count
against it: rank = 1 + the number of *other* (non-positive) keys scoring at
least as high (the strict, pessimistic convention). So a degenerate space
in which all scores are equal gets the worst rank, not the best, and when a
key is an exact duplicate of a query's positive (the same text embedded
twice under two ids, say), the query cannot reach rank 1. With
`tie_optimistic=True` the tie-optimistic figures come beside the strict
ones: rank = 1 + the number of non-positive keys scoring strictly higher,
under `optimistic_`-prefixed names. The two agree when no negative ties a
positive; the gap between them measures how much ties cost.

Ranks come from these counts, never from sorting the scores, and queries
are processed in fixed-size blocks so that memory is O(block_size * n_keys).

Both retrieval directions are one call each:

  fwd = recall_at_k(translated, target)    # translated row i -> target row i
  rev = recall_at_k(target, translated)
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from embtrans.metrics import _checks

DEFAULT_BLOCK_SIZE = 256


def l2_normalize(x: jax.Array, eps: float = 1e-12) -> jax.Array:
  """Rows of x: [n, d] scaled to unit norm; all-zero rows stay zero."""
  norm = jnp.linalg.norm(x, axis=-1, keepdims=True)
  return x / jnp.maximum(norm, eps)


def _pad_rows(x: jax.Array, rows: int, value: Any) -> jax.Array:
  pad = rows - x.shape[0]
  widths = [(0, pad)] + [(0, 0)] * (x.ndim - 1)
  return jnp.pad(x, widths, constant_values=value)


def _block_ranks(queries: jax.Array, positives: jax.Array,
                 keys: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Strict and tie-optimistic ranks of one block of queries.

  Args:
    queries: [b, d] query vectors.
    positives: [b, p] key indices of each query's positives, -1 = padding.
    keys: [m, d] all key vectors.

  Returns:
    ([b], [b]) int32: 1 + the number of non-positive keys whose score is
    >= (strict) or > (optimistic) the best positive's score.
  """
  scores = jnp.einsum("bd,md->bm", queries, keys)
  valid = positives >= 0
  pos_scores = jnp.take_along_axis(scores, jnp.maximum(positives, 0), axis=1)
  best = jnp.max(jnp.where(valid, pos_scores, -jnp.inf), axis=1, keepdims=True)
  n_at_least = jnp.sum(scores >= best, axis=1, dtype=jnp.int32)
  pos_at_least = jnp.sum(valid & (pos_scores >= best), axis=1, dtype=jnp.int32)
  # No positive scores above the best one, so every key above it is negative.
  n_above = jnp.sum(scores > best, axis=1, dtype=jnp.int32)
  return 1 + n_at_least - pos_at_least, 1 + n_above


def _sorted_stat(counts: jax.Array, index: int) -> jax.Array:
  """Value at 0-based `index` of the sorted sample whose histogram is counts."""
  return jnp.searchsorted(jnp.cumsum(counts), index + 1, side="left")


def _rank_stats(ranks: jax.Array, ks: tuple[int, ...], n_keys: int,
                prefix: str) -> dict[str, jax.Array]:
  """Recall@k, mean and median rank of ranks: [n_queries] in [1, n_keys]."""
  stats = {f"{prefix}recall@{k}": jnp.mean(ranks <= k, dtype=jnp.float32)
           for k in ks}
  stats[f"{prefix}mean_rank"] = jnp.mean(ranks, dtype=jnp.float32)
  stats[f"{prefix}mrr"] = jnp.mean(1.0 / ranks.astype(jnp.float32))
  # Median from the histogram of ranks: no sort needed.
  n = ranks.shape[0]
  counts = jnp.bincount(ranks, length=n_keys + 1)
  lower = _sorted_stat(counts, (n - 1) // 2)
  upper = _sorted_stat(counts, n // 2)
  stats[f"{prefix}median_rank"] = (lower + upper).astype(jnp.float32) / 2
  return stats


@functools.partial(jax.jit, static_argnames=("ks", "normalize", "block_size",
                                             "tie_optimistic"))
def _recall_stats(queries: jax.Array, keys: jax.Array, positives: jax.Array,
                  ks: tuple[int, ...], normalize: bool, block_size: int,
                  tie_optimistic: bool = False) -> dict[str, jax.Array]:
  """Jitted core of `recall_at_k`; arguments are already validated."""
  n_queries, n_keys = queries.shape[0], keys.shape[0]
  if normalize:
    queries, keys = l2_normalize(queries), l2_normalize(keys)
  n_blocks = -(-n_queries // block_size)
  padded = n_blocks * block_size
  q_blocks = _pad_rows(queries, padded, 0).reshape(n_blocks, block_size, -1)
  p_blocks = _pad_rows(positives, padded, -1).reshape(
      n_blocks, block_size, -1)
  strict, optimistic = jax.lax.map(
      lambda qp: _block_ranks(qp[0], qp[1], keys), (q_blocks, p_blocks))
  stats = _rank_stats(strict.reshape(padded)[:n_queries], ks, n_keys, "")
  if tie_optimistic:
    stats.update(_rank_stats(optimistic.reshape(padded)[:n_queries], ks,
                             n_keys, "optimistic_"))
  return stats


def _check_positives(positives: Any, n_queries: int, n_keys: int) -> np.ndarray:
  """Validates `positives`; returns it as an int32 [n_queries, p] array."""
  pos = np.asarray(positives)
  if pos.ndim == 1:
    pos = pos[:, None]
  if pos.ndim != 2 or pos.shape[0] != n_queries or pos.shape[1] == 0:
    raise ValueError(
        f"positives must have shape [n_queries] or [n_queries, p] with"
        f" n_queries={n_queries}, got {tuple(np.shape(positives))}.")
  if not np.issubdtype(pos.dtype, np.integer):
    raise ValueError(
        f"positives must hold integer key indices, got dtype {pos.dtype}.")
  if pos.min() < -1 or pos.max() >= n_keys:
    raise ValueError(
        f"positives must be key indices in [0, {n_keys}) or -1 for padding;"
        f" found values in [{pos.min()}, {pos.max()}].")
  valid = pos >= 0
  if not valid.any(axis=1).all():
    row = int(np.flatnonzero(~valid.any(axis=1))[0])
    raise ValueError(
        f"Query {row} has no positive key (all entries are -1); every query"
        " needs at least one.")
  ordered = np.sort(np.where(valid, pos, -1 - np.arange(pos.shape[1])), axis=1)
  if (np.diff(ordered, axis=1) == 0).any():
    raise ValueError("A query lists the same positive key twice; remove the"
                     " duplicates from positives.")
  return pos.astype(np.int32)


def _check_ks(ks: Any, n_keys: int) -> tuple[int, ...]:
  ks = (ks,) if isinstance(ks, (int, np.integer)) else tuple(ks)
  if not ks:
    raise ValueError("ks is empty; pass at least one cutoff, e.g. ks=(1, 5).")
  for k in ks:
    _checks.check_k(k, n_keys, what="a cutoff cannot exceed the number of keys")
  return tuple(dict.fromkeys(int(k) for k in ks))


def recall_at_k(queries: Any, keys: Any, ks: Sequence[int] = (1, 5, 10),
                positives: Any = None, *, normalize: bool = True,
                tie_optimistic: bool = False, mrr: bool = False,
                block_size: int = DEFAULT_BLOCK_SIZE) -> dict[str, jax.Array]:
  """Recall@k for each k in ks, and the mean and median rank.

  Args:
    queries: [n_q, d] query vectors.
    keys: [n_k, d] key vectors.
    ks: cutoffs, each in [1, n_k].
    positives: None for one-to-one retrieval (n_q == n_k, query i matches key
      i), or int [n_q] / [n_q, p] key indices of each query's positives, -1
      for padding (e.g. [n_images, 5] for five captions per image). A query is
      ranked by its best positive.
    normalize: L2-normalise queries and keys first, so the score is cosine
      similarity (default). With False the raw dot product is used.
    tie_optimistic: also return the tie-optimistic figures (see below).
    mrr: also return 'mrr', the mean reciprocal rank (mean of 1 / rank).
    block_size: queries scored per block; memory is O(block_size * n_k).

  Returns:
    {'recall@k': fraction of queries with rank <= k for each k,
     'mean_rank': mean rank, 'median_rank': median rank} as float32 scalars.
    Ranks are 1-based. Tie rule: keys scoring exactly as high as the best
    positive rank ahead of it (strict). With tie_optimistic=True the same
    statistics with ties resolved in the positive's favour follow, named
    'optimistic_recall@k', 'optimistic_mean_rank', 'optimistic_median_rank'.

  Raises:
    ValueError: wrong ranks or widths, mismatched rows, empty or non-finite
      inputs, bad positives or ks. The finiteness check syncs with the device.
  """
  queries = _checks.as_matrix("queries", queries)
  keys = _checks.as_matrix("keys", keys)
  if queries.shape[1] != keys.shape[1]:
    raise ValueError(
        f"queries have {queries.shape[1]} columns but keys have"
        f" {keys.shape[1]}; both must live in the same space.")
  n_queries, n_keys = queries.shape[0], keys.shape[0]
  if positives is None:
    _checks.check_same_rows(queries=queries, keys=keys)
    positives = np.arange(n_queries, dtype=np.int32)[:, None]
  else:
    positives = _check_positives(positives, n_queries, n_keys)
  ks = _check_ks(ks, n_keys)
  if block_size < 1:
    raise ValueError(f"block_size must be positive, got {block_size}.")
  stats = _recall_stats(
      *_checks.as_float_arrays(queries, keys),
      jnp.asarray(positives), ks=ks, normalize=bool(normalize),
      block_size=min(int(block_size), n_queries),
      tie_optimistic=bool(tie_optimistic))
  names = [f"recall@{k}" for k in ks] + ["mean_rank", "median_rank"]
  if mrr:
    names.append("mrr")
  if tie_optimistic:
    names += [f"optimistic_{name}" for name in names]
  return {name: stats[name] for name in names}  # in the order of ks
