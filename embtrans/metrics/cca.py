"""SVCCA (Raghu et al. 2017), with platonic-rep's definition and defaults.

Each column of x: [n, d1] and y: [n, d2] is centred and divided by its
standard deviation (ddof=1) + 1e-8; the top `cca_dim` (default 10) left
singular vectors of each standardised space are kept; SVCCA is the mean of
the cca_dim canonical correlations between the two sets of directions.

platonic-rep (`metrics.py`, `svcca`) takes the singular vectors from
`torch.svd_lowrank(q=cca_dim)`: a randomised approximation with two power
iterations and no oversampling, so its value is approximate and changes
from call to call. On 200 points in 16 and 24 dimensions, unit-norm rows,
three of its calls gave 0.596, 0.603 and 0.602; with its randomised SVD
swapped for an exact one it gave 0.659, as this function does. The
singular vectors here are exact.

Its CCA step (scikit-learn's iterative CCA, then the correlation of each
pair of canonical variates) yields the canonical correlations, computed here
directly: for orthonormal bases U, V of the two (centred) subspaces they are
the singular values of U^T V. Only the subspaces matter, so each basis comes
from the smaller eigenproblem: the d x d matrix X^T X (basis X W, W its top
eigenvectors) when d <= n, else the n x n X X^T; then a QR factorisation
makes it orthonormal. Cost O(n d^2 + d^3) per space; no n x n matrix unless
n < d.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from embtrans.metrics import _checks

DEFAULT_CCA_DIM = 10


def _standardize(x: jax.Array) -> jax.Array:
  """Columns of x: [n, d] centred and divided by their std (ddof=1) + 1e-8."""
  x = x - jnp.mean(x, axis=0)
  return x / (jnp.std(x, axis=0, ddof=1) + 1e-8)


def _top_directions(x: jax.Array, q: int) -> jax.Array:
  """[n, q] orthonormal basis of the top-q left singular space of x: [n, d]."""
  n, d = x.shape
  if d <= n:
    _, vectors = jnp.linalg.eigh(x.T @ x)  # ascending eigenvalues
    basis = x @ vectors[:, -q:]
  else:
    _, basis = jnp.linalg.eigh(x @ x.T)
    basis = basis[:, -q:]
  return jnp.linalg.qr(basis)[0]


@functools.partial(jax.jit, static_argnames=("cca_dim",))
def _svcca(x: jax.Array, y: jax.Array, cca_dim: int) -> jax.Array:
  u = _top_directions(_standardize(x), cca_dim)
  v = _top_directions(_standardize(y), cca_dim)
  return jnp.mean(jnp.linalg.svd(u.T @ v, compute_uv=False))


def svcca(x: Any, y: Any, cca_dim: int = DEFAULT_CCA_DIM) -> jax.Array:
  """SVCCA between x: [n, d1] and y: [n, d2] (rows paired).

  See the module docstring: platonic-rep's definition, with exact singular
  vectors in place of its randomised ones. Invariant to translation,
  isotropic scaling and any per-column scaling of either space, and to
  signed permutations of its columns; not to general rotations, since each
  column is standardised before the SVD.

  Args:
    x: [n, d1] first space.
    y: [n, d2] second space, row i describing the same item as x[i].
    cca_dim: singular directions kept per space, 1 <= cca_dim <=
      min(d1, d2, n - 1).

  Returns:
    Scalar in [0, 1]: 1 when the two top-cca_dim subspaces coincide. If a
    space has fewer than cca_dim directions of non-zero variance, the extra
    directions are rounding noise and so is the value.

  Raises:
    ValueError: bad ranks, mismatched n, fewer than 2 rows, NaN/inf
      (syncs), cca_dim out of range.
  """
  x = _checks.as_matrix("x", x, min_rows=2)
  y = _checks.as_matrix("y", y, min_rows=2)
  n = _checks.check_same_rows(x=x, y=y)
  limit = min(x.shape[1], y.shape[1], n - 1)
  if (isinstance(cca_dim, bool) or not isinstance(cca_dim, int)
      or not 1 <= cca_dim <= limit):
    raise ValueError(
        f"cca_dim must be an int in [1, min(d1, d2, n - 1) = {limit}], got"
        f" {cca_dim!r}.")
  return _svcca(*_checks.as_float_arrays(x, y), cca_dim=int(cca_dim))
