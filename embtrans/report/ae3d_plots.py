"""The PNGs of the ae3d report: 3-D views and B's distortion by training set."""

from __future__ import annotations

import pathlib
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from embtrans.report import ae3d_findings as findings  # pylint: disable=g-import-not-at-top,wrong-import-position
from embtrans.report import pages  # pylint: disable=g-import-not-at-top,wrong-import-position

TRAINS = ("a", "b", "both")


def views(path: pathlib.Path, panels: Sequence[tuple[str, np.ndarray,
                                                     np.ndarray]],
          names: Sequence[str], max_points: int = 1500) -> None:
  """One 3-D scatter per (title, codes_a [n_a, 3], codes_b [n_b, 3])."""
  cols = min(4, max(1, len(panels)))
  rows = max(1, -(-len(panels) // cols))
  fig = plt.figure(figsize=(4.2 * cols, 4.0 * rows))
  rng = np.random.default_rng(0)
  for i, (title, a, b) in enumerate(panels):
    ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
    for pts, name, colour in ((a, names[0], pages.COLORS[0]),
                              (b, names[1], pages.COLORS[1])):
      keep = rng.choice(len(pts), min(len(pts), max_points), replace=False)
      p = pts[keep]
      ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=3, alpha=0.6, c=colour,
                 label=name.split(" (")[0])
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=6)
    if i == 0:
      ax.legend(fontsize=7, markerscale=4, loc="upper left")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def distortion(path: pathlib.Path, rows: Sequence[Mapping[str, Any]],
               key: str = "b/trust@10") -> None:
  """Mean +- 95 % interval of `key` per (method, loss) and training set."""
  cells = sorted({(r["method"], r["loss"]) for r in rows})
  fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(cells) + 2), 4))
  width = 0.8 / len(TRAINS)
  for j, train in enumerate(TRAINS):
    means, halves = [], []
    for method, loss in cells:
      m, h = findings.interval(findings.values(findings.select(
          rows, method=method, loss=loss, train=train), key))
      means.append(m)
      halves.append(0.0 if np.isnan(h) else h)
    x = np.arange(len(cells)) + (j - 1) * width
    ax.bar(x, means, width, yerr=halves, capsize=2,
           label=f"fitted on {train}")
  ax.set_xticks(np.arange(len(cells)))
  ax.set_xticklabels([f"{findings.LABELS.get(m, m)}\n{l}" for m, l in cells],
                     fontsize=7, rotation=30, ha="right")
  vals = findings.values(rows, key)
  if len(vals):
    ax.set_ylim(max(0.0, vals.min() - 0.05), min(1.0, vals.max() + 0.03))
  ax.set_ylabel(f"{key} (test)")
  ax.legend(fontsize=8)
  ax.set_title("Population B's structure kept in 3-D, by training population")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
