"""Alignment accuracy: does the positive beat every negative?

A row counts as correct when score(anchor, positive) is strictly greater than
score(anchor, negative) for every one of its negatives; a tie counts as a
failure (the same pessimistic convention as `recall_at_k`). With the other
rows of a batch as the negatives, this is `recall_at_k(...)['recall@1']`.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from embtrans.metrics import _checks
from embtrans.metrics.retrieval import l2_normalize

DEFAULT_BLOCK_SIZE = 256


def _correct(scores: jax.Array) -> jax.Array:
  """[b] bool from scores: [b, 1 + m], the positive's score first."""
  return scores[:, 0] > jnp.max(scores[:, 1:], axis=1)


@functools.partial(jax.jit, static_argnames=("normalize",))
def _per_row_accuracy(anchor: jax.Array, positive: jax.Array,
                      negatives: jax.Array, normalize: bool) -> jax.Array:
  # Scoring the positive in the same product as the negatives makes an exact
  # copy of it among the negatives tie exactly.
  candidates = jnp.concatenate([positive[:, None], negatives], axis=1)
  if normalize:
    anchor, candidates = l2_normalize(anchor), l2_normalize(candidates)
  scores = jnp.einsum("nd,ncd->nc", anchor, candidates)
  return jnp.mean(_correct(scores), dtype=jnp.float32)


@functools.partial(jax.jit, static_argnames=("normalize", "block_size"))
def _pooled_accuracy(anchor: jax.Array, positive: jax.Array,
                     negatives: jax.Array, normalize: bool,
                     block_size: int) -> jax.Array:
  if normalize:
    anchor, positive, negatives = map(l2_normalize,
                                      (anchor, positive, negatives))
  n = anchor.shape[0]
  n_blocks = -(-n // block_size)
  pad = ((0, n_blocks * block_size - n), (0, 0))
  blocks = [jnp.pad(a, pad).reshape(n_blocks, block_size, -1)
            for a in (anchor, positive)]

  def block(anchor_and_positive):
    a, p = anchor_and_positive
    # The block's positives and the pool in one product, as above.
    scores = jnp.einsum("bd,cd->bc", a, jnp.concatenate([p, negatives]))
    pos = jnp.diagonal(scores[:, :block_size])
    return _correct(jnp.concatenate([pos[:, None], scores[:, block_size:]], 1))

  correct = jax.lax.map(block, tuple(blocks)).reshape(-1)[:n]
  return jnp.mean(correct, dtype=jnp.float32)


def alignment_accuracy(anchor: Any, positive: Any, negatives: Any, *,
                       normalize: bool = True,
                       block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """Fraction of rows whose positive scores strictly above every negative.

  Args:
    anchor: [n, d] anchors (e.g. translated vectors).
    positive: [n, d] the matching vector of each anchor.
    negatives: [n, m, d] per-row negatives, or [m, d] one pool shared by all
      rows (scored in blocks of `block_size` rows, memory O(block_size * m)).
    normalize: L2-normalise all vectors first, so scores are cosine
      similarities (default); with False the raw dot product is used.
    block_size: rows per block for a shared pool.

  Returns:
    Scalar float32 in [0, 1]. Ties count as failures; the positive is scored
    in the same matrix product as the negatives, so an exact copy of it
    among the negatives ties.

  Raises:
    ValueError: bad ranks or widths, mismatched n, empty or non-finite input
      (the finiteness check syncs with the device).
  """
  anchor = _checks.as_matrix("anchor", anchor)
  positive = _checks.as_matrix("positive", positive)
  n = _checks.check_same_rows(anchor=anchor, positive=positive)
  d = anchor.shape[1]
  if not hasattr(negatives, "dtype"):
    negatives = np.asarray(negatives)
  shape = tuple(negatives.shape)
  if len(shape) not in (2, 3) or shape[-1] != d or 0 in shape:
    raise ValueError(
        f"negatives must be [n, m, {d}] per row or [m, {d}] shared, with"
        f" m >= 1; got shape {shape}.")
  if positive.shape[1] != d:
    raise ValueError(f"anchor has {d} columns but positive has"
                     f" {positive.shape[1]}; they must share a space.")
  if len(shape) == 3 and shape[0] != n:
    raise ValueError(f"negatives has {shape[0]} rows of negatives but anchor"
                     f" has {n} rows; pass one row of negatives per anchor.")
  _checks.check_finite("negatives", negatives)
  if block_size < 1:
    raise ValueError(f"block_size must be positive, got {block_size}.")
  args = _checks.as_float_arrays(anchor, positive, negatives)
  if len(shape) == 3:
    return _per_row_accuracy(*args, normalize=bool(normalize))
  return _pooled_accuracy(*args, normalize=bool(normalize),
                          block_size=min(int(block_size), n))
