"""Closed-form translators fitted on the training split.

  lstsq       affine least squares: argmin ||[x, 1] W - y||^2.
  procrustes  orthogonal Procrustes after zero-padding both sides to a common
              dim and standard-scaling each (statistics from the training
              split), as in latent-space translation (Maiorca et al. 2023):
              y ~ unscale(pad(scale(x)) R), R orthogonal.
Both are fitted in float64 NumPy: they are small, one-off solves.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class AffineTranslator:
  """`y = ((x - x_mean) / x_scale, zero-padded) @ w * y_scale + y_mean`."""

  w: np.ndarray           # [d_pad, d_pad] or [d_in, d_out]
  x_mean: np.ndarray      # [d_in]
  x_scale: np.ndarray     # [d_in] or scalar
  y_mean: np.ndarray      # [d_out]
  y_scale: np.ndarray     # [d_out] or scalar
  out_dim: int

  def __call__(self, x: np.ndarray) -> np.ndarray:
    """x: [n, d_in] -> [n, d_out] float32."""
    z = (np.asarray(x, np.float64) - self.x_mean) / self.x_scale
    if z.shape[1] < self.w.shape[0]:
      z = np.pad(z, ((0, 0), (0, self.w.shape[0] - z.shape[1])))
    y = (z @ self.w)[:, :self.out_dim] * self.y_scale + self.y_mean
    return y.astype(np.float32)


def fit_lstsq(x: np.ndarray, y: np.ndarray) -> AffineTranslator:
  """Affine least squares on x: [n, d_in], y: [n, d_out]."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  x_mean, y_mean = x.mean(0), y.mean(0)
  w, *_ = np.linalg.lstsq(x - x_mean, y - y_mean, rcond=None)
  return AffineTranslator(w, x_mean, np.float64(1.0), y_mean, np.float64(1.0),
                          y.shape[1])


def _standard_scale(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  return a.mean(0), np.maximum(a.std(0), 1e-12)


def fit_procrustes(x: np.ndarray, y: np.ndarray) -> AffineTranslator:
  """Orthogonal Procrustes on standard-scaled, zero-padded x and y."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  (x_mean, x_scale), (y_mean, y_scale) = _standard_scale(x), _standard_scale(y)
  d = max(x.shape[1], y.shape[1])
  zx = np.pad((x - x_mean) / x_scale, ((0, 0), (0, d - x.shape[1])))
  zy = np.pad((y - y_mean) / y_scale, ((0, 0), (0, d - y.shape[1])))
  u, _, vt = np.linalg.svd(zx.T @ zy)
  return AffineTranslator(u @ vt, x_mean, x_scale, y_mean, y_scale, y.shape[1])


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], AffineTranslator]] = {
    "lstsq": fit_lstsq, "procrustes": fit_procrustes,
}


def fit_baseline(name: str, x: np.ndarray, y: np.ndarray) -> AffineTranslator:
  if name not in BASELINES:
    raise ValueError(f"Unknown baseline {name!r}. Known baselines: "
                     f"{sorted(BASELINES)}.")
  return BASELINES[name](x, y)
