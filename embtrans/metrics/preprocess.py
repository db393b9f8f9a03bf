"""platonic-rep's feature preparation: outlier clamping and L2 normalisation.

Before every metric, platonic-rep's `measure_alignment.py` clamps each
feature tensor to [-t, t], t the q = 0.95 quantile of its absolute values
(`remove_outliers`), then L2-normalises each layer's rows. `prepare` does
both; `clamp_outliers` the first step alone.

The quantile comes in platonic-rep's two flavours: exact=True (its
`--precise` flag, and the default of its `Alignment` class) takes entry
floor(q * size) of all |x| sorted ascending; exact=False (the default of its
measure_alignment script) averages over rows each row's q-quantile of |x|
(linear interpolation).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from embtrans.metrics import _checks
from embtrans.metrics.retrieval import l2_normalize

DEFAULT_Q = 0.95


@functools.partial(jax.jit, static_argnames=("q", "exact"))
def _clamp(x: jax.Array, q: float, exact: bool) -> jax.Array:
  magnitude = jnp.abs(x)
  if exact:
    t = jnp.sort(magnitude.reshape(-1))[int(q * x.size)]
  else:
    per_row = jnp.quantile(magnitude.reshape(x.shape[0], -1), q, axis=1)
    t = jnp.mean(per_row)
  return jnp.clip(x, -t, t)


@functools.partial(jax.jit, static_argnames=("q", "exact"))
def _prepare(x: jax.Array, q: float, exact: bool) -> jax.Array:
  return l2_normalize(_clamp(x, q, exact) if q < 1 else x)


def _check(x: Any, q: Any) -> tuple[Any, float]:
  if not hasattr(x, "shape") or not hasattr(x, "dtype"):
    x = np.asarray(x)
  if x.ndim not in (2, 3) or 0 in x.shape:
    raise ValueError(
        f"x must be a non-empty [n, d] array (or an [n, layers, d] stack),"
        f" got shape {tuple(x.shape)}.")
  if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q <= 1:
    raise ValueError(f"q must be a quantile in (0, 1], got {q!r}.")
  _checks.check_finite("x", x)
  return x, float(q)


def clamp_outliers(x: Any, q: float = DEFAULT_Q,
                   exact: bool = True) -> jax.Array:
  """x clipped to [-t, t], t a q-quantile of |x| (see the module docstring).

  Args:
    x: [n, d] features, or [n, layers, d] (platonic-rep's stacks: one
      threshold for the whole stack).
    q: the quantile in (0, 1]; 1 leaves x unchanged.
    exact: the global sorted quantile (True) or the mean of the rows'
      interpolated quantiles (False).

  Returns:
    An array of x's shape (float32, or float64 when enabled).
  """
  x, q = _check(x, q)
  (x,) = _checks.as_float_arrays(x)
  return x if q == 1 else _clamp(x, q=q, exact=bool(exact))


def prepare(x: Any, q: float = DEFAULT_Q, exact: bool = True) -> jax.Array:
  """`clamp_outliers(x, q, exact)`, then each row (last axis) L2-normalised.

  Arguments as `clamp_outliers`. platonic-rep's measure_alignment applies
  this to every space before every metric.
  """
  x, q = _check(x, q)
  (x,) = _checks.as_float_arrays(x)
  return _prepare(x, q=q, exact=bool(exact))
