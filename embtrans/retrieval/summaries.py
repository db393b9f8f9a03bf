"""Per-seed rows -> mean and 95 % interval over seeds.

A row is a flat dict (seed, the factors that name a cell, and values). Cells
are the rows grouped by every factor except the seed; the interval is the
Student-t 95 % interval of the per-seed values (half-width
t_{0.975, s-1} * sd / sqrt(s)), NaN with fewer than two seeds.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

Row = dict[str, Any]


def interval(values: Sequence[float]) -> tuple[float, float, float]:
  """(mean, low, high) of the finite values; NaNs when there are none."""
  v = np.asarray([x for x in values if x is not None and math.isfinite(x)],
                 np.float64)
  if not len(v):
    return math.nan, math.nan, math.nan
  mean = float(v.mean())
  if len(v) < 2:
    return mean, math.nan, math.nan
  half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1)
               / math.sqrt(len(v)))
  return mean, mean - half, mean + half


def aggregate(rows: Iterable[Row], factors: Sequence[str],
              values: Sequence[str], bounded: Sequence[str] = ()
              ) -> list[Row]:
  """One row per cell: the factors, `<value>` (mean), `<value>_lo/_hi`.

  Cells keep the order in which they first appear; `seeds` counts rows.
  The intervals of the `bounded` values (shares) are clipped to [0, 1].
  """
  cells: dict[tuple, list[Row]] = {}
  for r in rows:
    cells.setdefault(tuple(r[f] for f in factors), []).append(r)
  out = []
  for key, group in cells.items():
    row = dict(zip(factors, key))
    row["seeds"] = len(group)
    for v in values:
      row[v], row[f"{v}_lo"], row[f"{v}_hi"] = interval(
          [g[v] for g in group if v in g])
      if v in bounded and math.isfinite(row[f"{v}_lo"]):
        row[f"{v}_lo"] = max(0.0, row[f"{v}_lo"])
        row[f"{v}_hi"] = min(1.0, row[f"{v}_hi"])
    out.append(row)
  return out


def pick(rows: Iterable[Row], **factors: Any) -> list[Row]:
  """The rows whose factors equal the given values."""
  return [r for r in rows if all(r.get(k) == v for k, v in factors.items())]


def one(rows: Iterable[Row], **factors: Any) -> Row:
  """The single row matching `factors`; KeyError naming them otherwise."""
  found = pick(rows, **factors)
  if len(found) != 1:
    raise KeyError(f"{len(found)} rows match {factors}; expected one.")
  return found[0]


def fmt_ci(row: Mapping[str, Any], key: str, digits: int = 3) -> str:
  """'0.912 [0.901, 0.923]' (or just the mean when there is no interval)."""
  mean, lo, hi = row[key], row.get(f"{key}_lo"), row.get(f"{key}_hi")
  if mean is None or not math.isfinite(mean):
    return "n/a"
  if lo is None or not math.isfinite(lo):
    return f"{mean:.{digits}f}"
  return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
