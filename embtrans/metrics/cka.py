"""Centred kernel alignment (CKA) between two embedding spaces.

CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) for Gram matrices K of
x: [n, d1] and L of y: [n, d2] over the same n items (Kornblith et al. 2019).

* `linear_cka`: K = x x^T. Computed in feature space from the cross-covariances
  ||x^T y||_F^2 (O(n d1 d2), no n x n matrix) unless the Gram form is cheaper
  (n < d). Features are centred before any product, which keeps float32
  accurate.
* `rbf_cka`: K_ij = exp(-||x_i - x_j||^2 / (2 sigma^2)) with sigma^2 =
  threshold^2 * the median squared distance over all n^2 pairs, as in the
  reference notebook of Kornblith et al. Needs the n x n Gram matrices.
* `debiased=True` replaces HSIC by the unbiased estimator of Song et al.
  (2012), computed by U-centring the Gram matrices (Szekely & Rizzo 2014).
* `streaming_linear_cka`: linear CKA from cross-covariances accumulated over
  chunks of rows; memory O(d1 d2 + d1^2 + d2^2 + chunk (d1 + d2)).
* `minibatch_cka`: the minibatch CKA of Nguyen et al. (2021): unbiased HSIC
  accumulated over consecutive batches, for the linear and RBF kernels.
* `stacked_cka`: CKA of one target against a stack of spaces, in one vmapped
  call.

All results are float32 (float64 when jax_enable_x64 is on and the inputs are
float64). A space with zero variance gives NaN.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
import numpy as np

from embtrans.metrics import _checks

KERNELS = ("linear", "rbf")
DEFAULT_CHUNK_SIZE = 2048
# The RBF Gram form keeps n^2 counts in int32.
MAX_GRAM_ROWS = 46340


# --------------------------------------------------------------------------
# Exact median of a large non-negative array, without sorting.
#
# jnp.median sorts; for the 10^8 squared distances of n = 10^4 points that
# takes ~45 s on a 2-core CPU. Instead, bisect on the float32 bit pattern
# (monotonic for non-negative floats), counting elements below a threshold in
# each pass, inside a bracket found from a strided sample and then verified.
# --------------------------------------------------------------------------

_TINY = 2.0**-60  # values below this are treated as 0
_SCALE = 2.0**100  # (t - v) * _SCALE >= 1 whenever t > v, both >= _TINY or 0
_SAMPLE = 2**20


def _bits(v: jax.Array) -> jax.Array:
  return lax.bitcast_convert_type(jnp.asarray(v, jnp.float32), jnp.int32)


def _float(b: jax.Array) -> jax.Array:
  return lax.bitcast_convert_type(b, jnp.float32)


def _step(z: jax.Array) -> jax.Array:
  """1.0 where z > 0 (z already scaled by _SCALE), else 0.0.

  Written with max and subtraction only: XLA:CPU vectorises this inside a
  reduction, while a comparison or select there runs ~4x slower.
  """
  return 1.0 - jnp.maximum(1.0 - jnp.maximum(z, 0.0), 0.0)


def _count_below(values: jax.Array, t: jax.Array) -> jax.Array:
  """Number of entries of values: [r, c] (c < 2^24) strictly below t."""
  per_row = jnp.sum(_step((t - values) * _SCALE), axis=1)  # exact in float32
  return jnp.sum(per_row.astype(jnp.int32))


def _kth_smallest(values: jax.Array, k: int | jax.Array, lo: jax.Array,
                  hi: jax.Array) -> jax.Array:
  """k-th smallest (0-based) of values: [r, c] >= 0, known to lie in [lo, hi].

  lo and hi are int32 bit patterns; the answer is the largest pattern t in
  that range with fewer than k + 1 entries below it.
  """
  def body(bounds):
    lo, hi = bounds
    mid = lo + (hi - lo + 1) // 2
    ok = _count_below(values, _float(mid)) <= k
    return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid - 1)

  lo, _ = lax.while_loop(lambda b: b[0] < b[1], body, (lo, hi))
  return _float(lo)


def _bracket(values: jax.Array, k_lo: int, k_hi: int) -> tuple[jax.Array, ...]:
  """Bit-pattern bounds [lo, hi] holding the k_lo-th..k_hi-th smallest."""
  lo, hi = _bits(_TINY), _bits(jnp.max(values))
  size = values.size
  if size <= 4 * _SAMPLE:
    return lo, hi
  sample = values.reshape(-1)[::size // _SAMPLE][:_SAMPLE].reshape(1024, -1)
  centre = k_lo * _SAMPLE // size
  margin = 4 * math.isqrt(_SAMPLE)  # 8 standard deviations of a quantile
  s_lo = _kth_smallest(sample, max(centre - margin, 0), lo, hi)
  s_hi = _kth_smallest(sample, min(centre + margin, _SAMPLE - 1), lo, hi)
  s_lo = jnp.maximum(s_lo, _TINY)
  ok = ((_count_below(values, s_lo) <= k_lo)
        & (_count_below(values, _float(_bits(s_hi) + 1)) > k_hi))
  return jnp.where(ok, _bits(s_lo), lo), jnp.where(ok, _bits(s_hi), hi)


def _flush_tiny(values: jax.Array) -> jax.Array:
  """Clips values to >= 0 and sets entries below 2^-60 to exactly 0."""
  return jnp.where(values < _TINY, 0.0, values)


def _median_nonneg(values: jax.Array) -> jax.Array:
  """Median of all entries of values: [r, c], as np.median gives it. No sort.

  values must be float32, >= 0, with no entry in (0, 2^-60) (see
  `_flush_tiny`); for such input the result is exact.
  """
  size = values.size
  k_lo, k_hi = (size - 1) // 2, size // 2
  lo, hi = _bracket(values, k_lo, k_hi)
  below = _kth_smallest(values, k_lo, lo, hi)
  below = jnp.where(_count_below(values, _TINY) > k_lo, 0.0, below)
  if k_hi == k_lo:
    return below
  # The next order statistic: `below` again if repeated, else the least
  # entry above it.
  above = _step((values - below) * _SCALE)
  least_above = jnp.min(values * above
                        + jnp.finfo(jnp.float32).max * (1.0 - above))
  repeated = _count_below(values, _float(_bits(below) + 1)) > k_hi
  return (below + jnp.where(repeated, below, least_above)) / 2


# --------------------------------------------------------------------------
# Gram matrices and HSIC.
# --------------------------------------------------------------------------


def _center(x: jax.Array) -> jax.Array:
  return x - jnp.mean(x, axis=0, keepdims=True)


def _gram_linear(x: jax.Array) -> jax.Array:
  """x: [n, d] -> [n, n] inner products."""
  return jnp.einsum("id,jd->ij", x, x)


def _gram_rbf(x: jax.Array, threshold: float | jax.Array) -> jax.Array:
  """x: [n, d] -> [n, n] RBF kernel, bandwidth from the median distance."""
  x = _center(x)  # distances are unchanged; less cancellation below
  sq_norms = jnp.sum(x * x, axis=1)
  sq_dist = sq_norms[:, None] + sq_norms[None, :] - 2.0 * _gram_linear(x)
  sq_dist = _flush_tiny(sq_dist * (1.0 - jnp.eye(x.shape[0], dtype=x.dtype)))
  sq_median = _median_nonneg(sq_dist.astype(jnp.float32)).astype(x.dtype)
  return jnp.exp(sq_dist * (-0.5 / (threshold**2 * sq_median)))


def _center_gram(gram: jax.Array, debiased: bool) -> jax.Array:
  """H K H (biased) or the U-centred K (debiased) of a symmetric [n, n] K."""
  n = gram.shape[0]
  if not debiased:
    means = jnp.mean(gram, axis=0)
    return gram - means[:, None] - means[None, :] + jnp.mean(means)
  off_diagonal = 1.0 - jnp.eye(n, dtype=gram.dtype)
  gram = gram * off_diagonal
  means = jnp.sum(gram, axis=0) / (n - 2)
  means = means - jnp.sum(means) / (2 * (n - 1))
  return (gram - means[:, None] - means[None, :]) * off_diagonal


class _HsicTerms(NamedTuple):
  """HSIC(x, y), HSIC(x, x) and HSIC(y, y), up to a common positive factor."""
  xy: jax.Array
  xx: jax.Array
  yy: jax.Array

  def cka(self) -> jax.Array:
    return self.xy / jnp.sqrt(self.xx * self.yy)


def _gram_terms(gram_x: jax.Array, gram_y: jax.Array,
                debiased: bool) -> _HsicTerms:
  """HSIC terms of two [n, n] Grams (scaled by 1/(n(n-3)) if debiased)."""
  kc, lc = _center_gram(gram_x, debiased), _center_gram(gram_y, debiased)
  n = gram_x.shape[0]
  scale = 1.0 / (n * (n - 3)) if debiased else 1.0
  return _HsicTerms(jnp.vdot(kc, lc) * scale, jnp.vdot(kc, kc) * scale,
                   jnp.vdot(lc, lc) * scale)


class _Moments(NamedTuple):
  """Sufficient statistics of centred x: [n, d1], y: [n, d2] for linear CKA.

  r_x, r_y below are the squared row norms: [n].
  """
  xy: jax.Array  # [d1, d2] x^T y
  xx: jax.Array  # [d1, d1] x^T x
  yy: jax.Array  # [d2, d2] y^T y
  rx_ry: jax.Array  # r_x . r_y
  rx_rx: jax.Array  # r_x . r_x
  ry_ry: jax.Array  # r_y . r_y
  rx_sum: jax.Array  # sum of r_x
  ry_sum: jax.Array  # sum of r_y


def _moments(xc: jax.Array, yc: jax.Array) -> _Moments:
  """Moments of centred (maybe zero-padded) xc: [n, d1], yc: [n, d2]."""
  rx, ry = jnp.sum(xc * xc, axis=1), jnp.sum(yc * yc, axis=1)
  return _Moments(
      xy=jnp.einsum("ni,nj->ij", xc, yc), xx=jnp.einsum("ni,nj->ij", xc, xc),
      yy=jnp.einsum("ni,nj->ij", yc, yc), rx_ry=jnp.dot(rx, ry),
      rx_rx=jnp.dot(rx, rx), ry_ry=jnp.dot(ry, ry), rx_sum=jnp.sum(rx),
      ry_sum=jnp.sum(ry))


def _moment_terms(m: _Moments, n: int | jax.Array,
                  debiased: bool) -> _HsicTerms:
  """HSIC terms from moments of n centred rows.

  ||x^T y||_F^2 = <K, L> for linear Grams. The unbiased estimator removes the
  diagonal of K and L; for centred features its sums reduce to the squared
  row norms (Song et al. 2012, eq. 5 with K 1 = -r_x).
  """
  xy, xx, yy = (jnp.sum(mat * mat) for mat in (m.xy, m.xx, m.yy))
  if not debiased:
    return _HsicTerms(xy, xx, yy)

  def unbiased(inner, r_dot, sum_a, sum_b):
    value = (inner - n / (n - 2) * r_dot
             + sum_a * sum_b / ((n - 1) * (n - 2)))
    return value / (n * (n - 3))

  return _HsicTerms(unbiased(xy, m.rx_ry, m.rx_sum, m.ry_sum),
                   unbiased(xx, m.rx_rx, m.rx_sum, m.rx_sum),
                   unbiased(yy, m.ry_ry, m.ry_sum, m.ry_sum))


def _linear_form(n: int, d1: int, d2: int) -> str:
  """'gram' or 'feature', whichever needs fewer multiply-adds."""
  feature_cost = d1 * d2 + d1 * d1 + d2 * d2  # per row
  return "gram" if n * (d1 + d2) < feature_cost else "feature"


def _linear_terms(x: jax.Array, y: jax.Array, debiased: bool,
                  form: str = "auto") -> _HsicTerms:
  """Linear-kernel HSIC terms of x: [n, d1], y: [n, d2].

  form: 'feature' (O(n (d1 + d2)^2)), 'gram' (O(n^2 (d1 + d2))) or 'auto',
  the cheaper of the two for these static shapes.
  """
  n = x.shape[0]
  if form == "auto":
    form = _linear_form(n, x.shape[1], y.shape[1])
  xc, yc = _center(x), _center(y)
  if form == "gram":
    return _gram_terms(_gram_linear(xc), _gram_linear(yc), debiased)
  return _moment_terms(_moments(xc, yc), n, debiased)


def _terms(x: jax.Array, y: jax.Array, kernel: str,
           threshold: float | jax.Array, debiased: bool,
           form: str = "auto") -> _HsicTerms:
  """HSIC terms of x: [n, d1], y: [n, d2] for a kernel ('form': linear only)."""
  if kernel == "linear":
    return _linear_terms(x, y, debiased, form)
  return _gram_terms(_gram_rbf(x, threshold), _gram_rbf(y, threshold),
                     debiased)


@functools.partial(jax.jit, static_argnames=("kernel", "debiased", "form"))
def _cka(x: jax.Array, y: jax.Array, threshold: float | jax.Array, kernel: str,
         debiased: bool, form: str = "auto") -> jax.Array:
  return _terms(x, y, kernel, threshold, debiased, form).cka()


@functools.partial(jax.jit, static_argnames=("kernel", "debiased"))
def _stacked_cka(spaces: jax.Array, target: jax.Array,
                 threshold: float | jax.Array, kernel: str,
                 debiased: bool) -> jax.Array:
  # Work that depends only on `target` is not batched, so it runs once.
  one = lambda x: _terms(x, target, kernel, threshold, debiased).cka()
  return jax.vmap(one)(spaces)


# --------------------------------------------------------------------------
# Argument checks and public functions.
# --------------------------------------------------------------------------


def _check_pair(x: Any, y: Any, debiased: bool) -> tuple[Any, Any]:
  x = _checks.as_matrix("x", x)
  y = _checks.as_matrix("y", y)
  n = _checks.check_same_rows(x=x, y=y)
  need = 4 if debiased else 2
  if n < need:
    raise ValueError(
        f"CKA needs at least {need} rows{' when debiased' if debiased else ''},"
        f" got n={n}.")
  return x, y


def _check_kernel(kernel: str, threshold: float) -> float:
  if kernel not in KERNELS:
    raise ValueError(f"Unknown kernel {kernel!r}; choose one of {KERNELS}.")
  if not threshold > 0:
    raise ValueError(f"threshold must be positive, got {threshold}.")
  return float(threshold)


def _check_gram_rows(n: int, name: str) -> None:
  if n > MAX_GRAM_ROWS:
    raise ValueError(
        f"{name} builds n x n Gram matrices and supports n <="
        f" {MAX_GRAM_ROWS}, got n={n}; use minibatch_cka for larger n.")


def linear_cka(x: Any, y: Any, debiased: bool = False) -> jax.Array:
  """Linear CKA between x: [n, d1] and y: [n, d2] (rows paired).

  Computed from feature-space cross-covariances of the centred inputs when
  n >= d (no n x n matrix), else from the Gram matrices.

  Args:
    x: [n, d1] first space.
    y: [n, d2] second space, row i describing the same item as x[i].
    debiased: use the unbiased HSIC estimator (needs n >= 4).

  Returns:
    Scalar CKA in [0, 1] (the debiased value can be slightly negative).

  Raises:
    ValueError: wrong ranks, mismatched n, too few rows, NaN/inf (syncs).
  """
  x, y = _check_pair(x, y, debiased)
  form = _linear_form(x.shape[0], x.shape[1], y.shape[1])
  return _cka(*_checks.as_float_arrays(x, y), 1.0, kernel="linear",
              debiased=bool(debiased), form=form)


def rbf_cka(x: Any, y: Any, threshold: float = 0.5,
            debiased: bool = False) -> jax.Array:
  """RBF-kernel CKA between x: [n, d1] and y: [n, d2] (rows paired).

  sigma^2 = threshold^2 * median of the n^2 squared distances (diagonal
  included), per space, as in Kornblith et al. (2019). Builds n x n Grams;
  for large n use `minibatch_cka(..., kernel='rbf')`.

  Args:
    x: [n, d1] first space.
    y: [n, d2] second space.
    threshold: bandwidth as a fraction of the median distance.
    debiased: use the unbiased HSIC estimator (needs n >= 4).

  Returns:
    Scalar CKA.

  Raises:
    ValueError: as `linear_cka`, or threshold <= 0, or n > 46340.
  """
  threshold = _check_kernel("rbf", threshold)
  x, y = _check_pair(x, y, debiased)
  _check_gram_rows(x.shape[0], "rbf_cka")
  return _cka(*_checks.as_float_arrays(x, y), threshold, kernel="rbf",
              debiased=bool(debiased))


def stacked_cka(spaces: Any, target: Any, kernel: str = "linear",
                threshold: float = 0.5, debiased: bool = False) -> jax.Array:
  """CKA of each of m spaces against one target, in one vmapped call.

  Args:
    spaces: [m, n, d1] stack of spaces (e.g. m translators' outputs).
    target: [n, d2] the target space.
    kernel: 'linear' or 'rbf'.
    threshold: RBF bandwidth fraction (ignored for 'linear').
    debiased: use the unbiased HSIC estimator.

  Returns:
    [m] CKA of spaces[i] against target.
  """
  threshold = _check_kernel(kernel, threshold)
  if np.ndim(spaces) != 3:
    raise ValueError(f"spaces must be a 3-D stack [m, n, d], got shape"
                     f" {tuple(np.shape(spaces))}.")
  if min(np.shape(spaces)) == 0:
    raise ValueError(f"spaces has an empty axis: shape {np.shape(spaces)}.")
  _checks.check_finite("spaces", spaces)
  _check_pair(spaces[0], target, debiased)
  if kernel == "rbf":
    _check_gram_rows(np.shape(target)[0], "stacked_cka(kernel='rbf')")
  return _stacked_cka(*_checks.as_float_arrays(spaces, target), threshold, kernel=kernel,
                      debiased=bool(debiased))


# --------------------------------------------------------------------------
# Streaming linear CKA: chunks of rows, two passes (means, then moments).
# --------------------------------------------------------------------------


@jax.jit
def _add_sums(sums: tuple[jax.Array, jax.Array], x: jax.Array,
              y: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Adds the column sums of one zero-padded chunk x: [c, d1], y: [c, d2]."""
  return sums[0] + jnp.sum(x, axis=0), sums[1] + jnp.sum(y, axis=0)


@jax.jit
def _add_moments(total: _Moments, x: jax.Array, y: jax.Array,
                 sums: tuple[jax.Array, jax.Array], n: jax.Array,
                 n_valid: jax.Array) -> _Moments:
  """Adds the moments of one padded chunk x: [c, d1], y: [c, d2].

  The rows are centred with the column sums / n of all n rows. Rows from
  n_valid on are padding; they are zeroed after centring.
  """
  valid = (jnp.arange(x.shape[0]) < n_valid)[:, None]
  xc = jnp.where(valid, x - sums[0] / n, 0.0)
  yc = jnp.where(valid, y - sums[1] / n, 0.0)
  return jax.tree.map(jnp.add, total, _moments(xc, yc))


@functools.partial(jax.jit, static_argnames=("debiased",))
def _finish_streaming(total: _Moments, n: jax.Array,
                      debiased: bool) -> jax.Array:
  return _moment_terms(total, n, debiased).cka()


@functools.partial(jax.jit, static_argnames=("size",))
def _take_rows(x: jax.Array, start: jax.Array, size: int) -> jax.Array:
  """Rows start .. start + size - 1 of x, zero past the end (one compile)."""
  rows = start + jnp.arange(size)
  return jnp.take(x, rows, axis=0, mode="fill", fill_value=0)


def _chunk(x: Any, start: int, size: int) -> Any:
  """Rows start .. start + size - 1 of x: [n, d], zero-padded past the end."""
  if isinstance(x, jax.Array):
    return _take_rows(x, start, size)
  rows = np.asarray(x[start:start + size])
  return np.pad(rows, ((0, size - rows.shape[0]), (0, 0)))


def _chunks(x: Any, y: Any, size: int):
  """Yields (x_chunk, y_chunk, n_valid), each chunk `size` rows."""
  n = x.shape[0]
  for start in range(0, n, size):
    yield _chunk(x, start, size), _chunk(y, start, size), min(size, n - start)


def streaming_linear_cka(x: Any, y: Any, debiased: bool = False,
                         chunk_size: int = DEFAULT_CHUNK_SIZE) -> jax.Array:
  """Linear CKA of x: [n, d1], y: [n, d2] from chunks of rows.

  Pass 1 sums the chunks for the means; pass 2 accumulates, per chunk, the
  cross-covariances x_c^T y_c, x_c^T x_c, y_c^T y_c of the centred rows
  (float32 chunk products added in float32). No n x n matrix is formed:
  memory is O(d1 d2 + d1^2 + d2^2 + chunk_size (d1 + d2)) besides x and y,
  which may stay on the host (numpy arrays, memmaps) and are moved one chunk
  at a time. The last chunk is padded and masked: one compile per chunk
  shape, whatever n is.

  Args:
    x: [n, d1] first space.
    y: [n, d2] second space.
    debiased: use the unbiased HSIC estimator (needs n >= 4).
    chunk_size: rows per chunk.

  Returns:
    Scalar CKA, equal to `linear_cka(x, y, debiased)` up to rounding.
  """
  x, y = _check_pair(x, y, debiased)
  if chunk_size < 1:
    raise ValueError(f"chunk_size must be positive, got {chunk_size}.")
  n, d1, d2 = x.shape[0], x.shape[1], y.shape[1]
  dtype = _checks.float_dtype(x, y)
  size = min(int(chunk_size), n)
  zeros = lambda *shape: jnp.asarray(np.zeros(shape, dtype))
  sums = (zeros(d1), zeros(d2))
  # Each update is waited for: dispatch is asynchronous, and otherwise every
  # chunk's device copy would be queued at once (memory O(n d) again).
  for xs, ys, _ in _chunks(x, y, size):
    sums = _add_sums(sums, *_checks.as_float_arrays(xs, ys))
    jax.block_until_ready(sums)
  total = _Moments(zeros(d1, d2), zeros(d1, d1), zeros(d2, d2),
                   *(zeros() for _ in range(5)))
  for xs, ys, rows in _chunks(x, y, size):
    total = _add_moments(total, *_checks.as_float_arrays(xs, ys), sums, n,
                         rows)
    jax.block_until_ready(total)
  return _finish_streaming(total, n, debiased=bool(debiased))


# --------------------------------------------------------------------------
# Minibatch CKA (Nguyen, Raghu & Kornblith 2021).
# --------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("batch_size", "kernel"))
def _minibatch_cka(x: jax.Array, y: jax.Array, threshold: float | jax.Array,
                   batch_size: int, kernel: str) -> jax.Array:
  n_batches = x.shape[0] // batch_size
  used = n_batches * batch_size
  xb = x[:used].reshape(n_batches, batch_size, -1)
  yb = y[:used].reshape(n_batches, batch_size, -1)
  terms = lax.map(lambda b: _terms(b[0], b[1], kernel, threshold, True),
                  (xb, yb))
  return _HsicTerms(*(jnp.sum(t) for t in terms)).cka()


def minibatch_cka(x: Any, y: Any, batch_size: int, kernel: str = "linear",
                  threshold: float = 0.5) -> jax.Array:
  """Minibatch CKA: unbiased HSIC accumulated over batches of rows.

  The rows are cut into consecutive batches of `batch_size` (shuffle first if
  the order is not random; a final partial batch is dropped). For each batch
  the unbiased HSIC(x, y), HSIC(x, x), HSIC(y, y) are computed, summed over
  batches, and CKA = sum HSIC(x, y) / sqrt(sum HSIC(x, x) * sum HSIC(y, y))
  (Nguyen et al. 2021). Memory is O(batch_size^2). With one batch of all n
  rows it equals the debiased full CKA. For the RBF kernel the bandwidth is
  set per batch from that batch's median distance.

  Args:
    x: [n, d1] first space.
    y: [n, d2] second space.
    batch_size: rows per batch, 4 <= batch_size <= n.
    kernel: 'linear' or 'rbf'.
    threshold: RBF bandwidth fraction (ignored for 'linear').

  Returns:
    Scalar CKA estimate.
  """
  threshold = _check_kernel(kernel, threshold)
  x, y = _check_pair(x, y, debiased=True)
  n = x.shape[0]
  if isinstance(batch_size, bool) or not 4 <= batch_size <= n:
    raise ValueError(
        f"batch_size must be an int in [4, n={n}], got {batch_size!r}; the"
        " unbiased HSIC needs at least 4 rows per batch.")
  _check_gram_rows(batch_size, "minibatch_cka")
  return _minibatch_cka(*_checks.as_float_arrays(x, y), threshold,
                        batch_size=int(batch_size), kernel=kernel)
