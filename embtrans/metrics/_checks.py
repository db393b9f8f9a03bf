"""Host-side argument checks shared by the metric kernels.

The kernels themselves are jitted and cannot raise on bad values, so every
public entry point validates its arguments here first. The finiteness check
reads the values: for device arrays it runs one small reduction and waits for
its result (a host sync). Inside a caller's `jax.jit` the arrays are tracers;
their shapes are still checked but their values cannot be, so the value check
is skipped.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


_CHECK_BLOCK = 2**22  # elements per host-side finiteness check


@jax.jit
def _all_finite(x: jax.Array) -> jax.Array:
  return jnp.isfinite(x).all()


def _is_tracer(x: Any) -> bool:
  return isinstance(x, jax.core.Tracer)


def as_matrix(name: str, x: Any, *, min_rows: int = 1) -> Any:
  """Checks that `x` is a finite, non-empty [n, d] float array; returns it.

  Numpy inputs stay numpy (no copy); jax arrays stay on their device.
  """
  if not hasattr(x, "shape") or not hasattr(x, "dtype"):
    x = np.asarray(x)
  if x.ndim != 2:
    raise ValueError(
        f"{name} must be a 2-D array [n, d], got shape {tuple(x.shape)}."
        " Reshape it to one row per item.")
  n, d = x.shape
  if n < min_rows or d == 0:
    raise ValueError(
        f"{name} has shape {tuple(x.shape)}; it needs at least {min_rows}"
        " row(s) and at least one column.")
  if not (jnp.issubdtype(x.dtype, jnp.floating)
          or jnp.issubdtype(x.dtype, jnp.integer)):
    raise ValueError(f"{name} must hold real numbers, got dtype {x.dtype}.")
  check_finite(name, x)
  return x


def check_finite(name: str, x: Any) -> None:
  """Raises if `x` holds NaN or inf (skipped for tracers; syncs otherwise)."""
  if _is_tracer(x):
    return
  if isinstance(x, jax.Array):
    finite = bool(_all_finite(x))
  else:  # in row blocks, so the temporary stays small for large inputs
    step = max(1, _CHECK_BLOCK // max(1, int(np.prod(x.shape[1:]))))
    finite = all(np.isfinite(x[i:i + step]).all()
                 for i in range(0, x.shape[0], step))
  if not finite:
    raise ValueError(
        f"{name} contains NaN or inf values; remove or impute those rows"
        " before computing the metric.")


def check_same_rows(**arrays: Any) -> int:
  """Raises unless all arrays have the same number of rows; returns it."""
  rows = {name: arr.shape[0] for name, arr in arrays.items()}
  if len(set(rows.values())) != 1:
    listed = ", ".join(f"{name} has {n}" for name, n in rows.items())
    raise ValueError(
        f"The inputs must be paired row by row, but {listed} rows.")
  return next(iter(rows.values()))


def check_k(k: Any, limit: int, *, what: str) -> int:
  """Checks 1 <= k <= limit for an integer k; `what` explains the limit."""
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
    raise ValueError(f"k must be an int, got {k!r}.")
  if not 1 <= k <= limit:
    raise ValueError(f"k={k} is out of range: need 1 <= k <= {limit} ({what}).")
  return int(k)


def float_dtype(*arrays: Any) -> jnp.dtype:
  """The float dtype to compute in: at least float32, float64 if enabled."""
  dtype = np.result_type(*(np.dtype(a.dtype) for a in arrays), np.float32)
  return jax.dtypes.canonicalize_dtype(dtype)


def as_float_arrays(*arrays: Any) -> list[jax.Array]:
  """The arrays as jax arrays of one float dtype (see `float_dtype`).

  Host arrays are converted on the host, so no conversion kernel is compiled.
  """
  dtype = float_dtype(*arrays)
  return [a.astype(dtype) if isinstance(a, jax.Array)
          else jnp.asarray(np.asarray(a, dtype)) for a in arrays]
