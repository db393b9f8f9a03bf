"""CKNNA: kernel alignment restricted to mutual nearest neighbours.

The metric of Huh et al. (2024, "The Platonic Representation Hypothesis"),
as defined in their repository (platonic-rep, `metrics.py`). With K = x x^T
and L = y y^T (rows L2-normalised first, by default), for two kernels P, Q:

  M_ij = [j in top_k(P_i)] [j in top_k(Q_i)],   sim(P, Q) = HSIC(M o P, M o Q)

where top_k(P_i) holds the k largest entries of row i of P (the diagonal
left out when unbiased) and HSIC is the unbiased estimator of Song et al.
(2012, eq. 5), or the biased trace(K H L H) with unbiased=False. Then

  CKNNA = sim(K, L) / sqrt(sim(K, K) sim(L, L)).

M o P is not symmetric; like platonic-rep we apply the estimator's formula
as written: tr(K~ L~) = sum_ij K~_ij L~_ji, (1^T K~ 1)(1^T L~ 1) and
1^T K~ L~ 1 = sum_j colsum_j(K~) rowsum_j(L~).

No n x n matrix is formed. M is non-zero only on the k-NN lists, so each
term is a sum over list entries (i, j = a[i, s]):
* M_ij P_ij is the score of that entry in P's top-k search, kept where j is
  also in Q's list; M_ij Q_ij is then the matching score of Q's search.
* Row sums are per row, column sums are segment sums over the list indices.
* tr(K~ L~) needs M_ji: whether i is in both lists of j, looked up in j's
  lists.
The k-NN searches run in blocks of rows (`knn.blocked_topk`), the look-ups
too, so memory is O(block_size * n) during the search and O(n k) after it.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from embtrans.metrics import _checks
from embtrans.metrics import knn
from embtrans.metrics.retrieval import l2_normalize

DEFAULT_BLOCK_SIZE = 512


def _entries(rows: jax.Array, a: jax.Array, b: jax.Array, pa: jax.Array,
             qb: jax.Array, lists_a: jax.Array,
             lists_b: jax.Array) -> tuple[jax.Array, ...]:
  """Masked kernel values on one block of list entries.

  Args:
    rows: [r] row index i of each row of the block.
    a: [r, k] the rows' lists under P; pa: [r, k] P at those entries.
    b: [r, k] the rows' lists under Q; qb: [r, k] Q at those entries.
    lists_a: [n, k] all lists under P; lists_b: [n, k] all lists under Q.

  Returns:
    [r, k] each, for j = a[i, s]: M_ij P_ij, M_ij Q_ij and M_ji (bool).
  """
  same = a[:, :, None] == b[:, None, :]  # [r, k, k]
  p = jnp.where(jnp.any(same, axis=2), pa, 0.0)
  q = jnp.sum(jnp.where(same, qb[:, None, :], 0.0), axis=2)
  target = rows[:, None, None]
  back = (jnp.any(lists_a[a] == target, axis=2)
          & jnp.any(lists_b[a] == target, axis=2))
  return p, q, back


def _masked_hsic(a: jax.Array, pa: jax.Array, b: jax.Array, qb: jax.Array,
                 unbiased: bool, block_size: int) -> jax.Array:
  """HSIC(M o P, M o Q) from the [n, k] lists a, b and scores pa, qb."""
  n, k = a.shape
  blocks = [knn.pad_blocks(v, block_size)
            for v in (jnp.arange(n), a, b, pa, qb)]
  p, q, back = lax.map(lambda blk: _entries(*blk, a, b), blocks)
  p, q, back = (v.reshape(-1, k)[:n] for v in (p, q, back))
  rows_p, rows_q = jnp.sum(p, axis=1), jnp.sum(q, axis=1)
  cols_p = jax.ops.segment_sum(p.reshape(-1), a.reshape(-1), n)
  cols_q = jax.ops.segment_sum(q.reshape(-1), a.reshape(-1), n)
  trace = jnp.sum(jnp.where(back, p * q, 0.0))  # Q_ji = Q_ij
  sums = jnp.sum(rows_p) * jnp.sum(rows_q)
  n = float(n)  # n^2 overflows int32 from n = 46,341 on
  if unbiased:
    value = (trace + sums / ((n - 1) * (n - 2))
             - 2.0 / (n - 2) * jnp.dot(cols_p, rows_q))
    return value / (n * (n - 3))
  return (trace - (jnp.dot(cols_q, rows_p) + jnp.dot(cols_p, rows_q)) / n
          + sums / n**2)


@functools.partial(jax.jit, static_argnames=("k", "unbiased", "normalize",
                                             "block_size"))
def _cknna(x: jax.Array, y: jax.Array, eps: float | jax.Array, k: int,
           unbiased: bool, normalize: bool, block_size: int) -> jax.Array:
  if normalize:
    x, y = l2_normalize(x), l2_normalize(y)
  # With metric 'dot' the search's scores are the kernel values x_i . x_j.
  kv, a = knn.blocked_topk(x, k, "dot", block_size, exclude_self=unbiased)
  lv, b = knn.blocked_topk(y, k, "dot", block_size, exclude_self=unbiased)
  sim = functools.partial(_masked_hsic, unbiased=unbiased,
                          block_size=block_size)
  return sim(a, kv, b, lv) / (jnp.sqrt(sim(a, kv, a, kv) * sim(b, lv, b, lv))
                              + eps)


def _check_cknna_k(k: Any, n: int, unbiased: bool) -> int:
  k = n - 1 if k is None else k
  limit = n - 1 if unbiased else n
  k = _checks.check_k(k, limit, what=(
      f"the point itself is excluded, so k <= n - 1 = {n - 1}" if unbiased
      else f"k <= n = {n}"))
  if k < 2:
    raise ValueError(f"CKNNA needs k >= 2 (as platonic-rep requires), got"
                     f" k={k}.")
  return k


def cknna(x: Any, y: Any, k: int | None, unbiased: bool = True,
          normalize: bool = True, eps: float = 0.0,
          block_size: int = DEFAULT_BLOCK_SIZE) -> jax.Array:
  """CKNNA between x: [n, d1] and y: [n, d2] (rows paired), Huh et al. 2024.

  Definition and defaults as platonic-rep's `cknna` (see the module
  docstring), run on the features as platonic-rep's measure_alignment passes
  them: L2-normalised rows (normalize=True) with k = 10 as its usual topk.
  Where platonic-rep has a quirk, this function does the sensible thing:
  * its `topk=None` default is meant to use all n - 1 other points, but its
    check `topk < 2` runs first and raises a TypeError; here k=None does
    mean n - 1 (then CKNNA equals the debiased linear CKA of the inputs,
    at O(n^2) memory for the lists);
  * it adds 1e-6 to the denominator, which lowers the value by a relative
    0.1% at n = 1,000 and 0.3% at n = 4,000 for unit-norm features with
    k = 10 (measured; it grows with n) and breaks invariance to scale. The
    default eps=0 is the exact ratio; eps=1e-6 reproduces platonic-rep's
    digits.
  * its `distance_agnostic=True` returns a matrix that its own `.item()`
    rejects; it is not offered.

  Args:
    x: [n, d1] first space.
    y: [n, d2] second space, row i describing the same item as x[i].
    k: neighbours per point, 2 <= k <= n - 1 (<= n if not unbiased), or
      None for all n - 1 other points.
    unbiased: debiased HSIC and neighbour lists without the point itself
      (platonic-rep's default); False for the biased HSIC with the point
      allowed in its own list.
    normalize: L2-normalise rows first, so the kernels are cosine
      similarities; False takes the inner products of the rows as given.
    eps: added to the denominator (see above).
    block_size: query rows per block; memory is O(block_size * n).

  Returns:
    Scalar CKNNA: 1 when y is x rotated and scaled. The numerator's mask
    is the intersection of both spaces' lists and the denominator's are
    each space's own, so it is not the cosine of two fixed vectors and no
    bound of 1 is guaranteed. NaN when a space's own similarity is not
    positive.

  Raises:
    ValueError: bad ranks, mismatched n, too few rows (4 when unbiased),
      NaN/inf (syncs), k out of range, negative eps, block_size < 1.
  """
  x = _checks.as_matrix("x", x, min_rows=4 if unbiased else 2)
  y = _checks.as_matrix("y", y, min_rows=4 if unbiased else 2)
  n = _checks.check_same_rows(x=x, y=y)
  k = _check_cknna_k(k, n, bool(unbiased))
  if not eps >= 0:
    raise ValueError(f"eps must be >= 0, got {eps}.")
  if block_size < 1:
    raise ValueError(f"block_size must be positive, got {block_size}.")
  return _cknna(*_checks.as_float_arrays(x, y), float(eps), k=k,
                unbiased=bool(unbiased), normalize=bool(normalize),
                block_size=min(int(block_size), n))
