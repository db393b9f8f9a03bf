"""Seed statistics of the ablation: scaled scores, Student-t intervals,
paired comparisons and the plateau test at any threshold.

Scaled score of a retrieval score r (i2t R@1 unless said otherwise):
  (r - r_mean_pool) / (r_oracle - r_mean_pool)
with the closed-form references of the cell's own data (`reference_<name>/`
in its results): 0 = what mean pooling + ridge reaches, 1 = the planted
oracle (ridge on the signal tokens).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import scipy.stats

R1 = "test/i2t/recall@1"
ZERO, ONE = "mean_pool_ridge", "planted_oracle"
LEVEL = 0.95


def seeds(cell: dict) -> list[str]:
  """'seed_<s>' names of the cell's members (from its curves)."""
  return sorted(cell["curves"]) or ["seed_0"]


def seed_value(cell: dict, seed: str, key: str) -> float:
  r = cell["results"]
  v = r.get(f"{seed}/{key}", r.get(key, np.nan))
  return float(np.nan if v is None else v)


def seed_values(cell: dict, key: str = R1) -> dict[str, float]:
  return {s: seed_value(cell, s, key) for s in seeds(cell)}


def reference(cell: dict, name: str, key: str = R1) -> float:
  """The closed-form reference `name` of the cell's data (NaN if absent)."""
  score = key.removeprefix("test/")
  v = cell["results"].get(f"reference_{name}/{score}")
  return float("nan") if v is None else float(v)


def scale(r, zero: float, one: float):
  """(r - zero) / (one - zero): 0 at `zero`, 1 at `one`."""
  return (np.asarray(r, float) - zero) / (one - zero)


def scaled_seeds(cell: dict, key: str = R1) -> dict[str, float]:
  """Per seed: the scaled score of `key` against the cell's references."""
  zero, one = reference(cell, ZERO, key), reference(cell, ONE, key)
  return {s: float(scale(v, zero, one))
          for s, v in seed_values(cell, key).items()}


def interval(values: Sequence[float], level: float = LEVEL
             ) -> tuple[float, float, float, int]:
  """(mean, lo, hi, n) of the finite values: Student-t interval of the mean
  at `level` (lo = hi = NaN with fewer than two values)."""
  x = np.asarray([v for v in values if np.isfinite(v)], float)
  n = len(x)
  if not n:
    return math.nan, math.nan, math.nan, 0
  mean = float(np.mean(x))
  if n < 2:
    return mean, math.nan, math.nan, n
  half = float(scipy.stats.t.ppf(0.5 + level / 2, n - 1) *
               np.std(x, ddof=1) / math.sqrt(n))
  return mean, mean - half, mean + half, n


def paired(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
  """a - b over the seeds both have: mean, t-interval, n, wins (a > b)."""
  common = [s for s in a if s in b and np.isfinite(a[s]) and
            np.isfinite(b[s])]
  diff = [a[s] - b[s] for s in common]
  mean, lo, hi, n = interval(diff)
  return {"mean": mean, "lo": lo, "hi": hi, "n": n,
          "wins": int(sum(d > 0 for d in diff))}


def fmt_interval(stats: tuple[float, float, float, int], scale_by: float = 1,
                 digits: int = 2) -> str:
  """'m [lo, hi]' (or 'm' with one value, '—' with none)."""
  mean, lo, hi, n = stats
  if not n:
    return "—"
  if not np.isfinite(lo):
    return f"{mean * scale_by:.{digits}f}"
  return (f"{mean * scale_by:.{digits}f} [{lo * scale_by:.{digits}f}, "
          f"{hi * scale_by:.{digits}f}]")


def chance_loss(cell: dict) -> float:
  return math.log(cell["config"]["batch_size"])


def loss_ratios(cell: dict) -> np.ndarray:
  """Per seed: final full-dim InfoNCE / ln(batch) (NaN if diverged)."""
  return np.array([seed_value(cell, s, "train/final_loss_full")
                   for s in seeds(cell)]) / chance_loss(cell)


def plateaued(cell: dict, fraction: float) -> int:
  """Seeds whose final loss >= fraction x ln(batch) (or NaN)."""
  return int(np.sum(~(loss_ratios(cell) < fraction)))


def unpaired(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
  """mean(a) - mean(b) with a Welch t-interval at LEVEL."""
  x = np.asarray([v for v in a if np.isfinite(v)], float)
  y = np.asarray([v for v in b if np.isfinite(v)], float)
  if len(x) < 2 or len(y) < 2:
    d = float(np.mean(x) - np.mean(y)) if len(x) and len(y) else math.nan
    return {"mean": d, "lo": math.nan, "hi": math.nan}
  vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
  se = math.sqrt(vx + vy)
  df = (vx + vy) ** 2 / max(vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1),
                            1e-300)
  half = float(scipy.stats.t.ppf(0.5 + LEVEL / 2, df)) * se
  d = float(np.mean(x) - np.mean(y))
  return {"mean": d, "lo": d - half, "hi": d + half}
