"""The report's figures (matplotlib, Agg): recall vs selectivity per path,
recall vs over-fetch, decision accuracy vs the stage-1 net K.

Error bars are the 95 % intervals over seeds from summary.json.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any

import matplotlib

matplotlib.use("Agg")
# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt

from embtrans.retrieval import summaries

DPI = 90


def _save(fig, path: pathlib.Path) -> None:
  fig.tight_layout()
  fig.savefig(path, dpi=DPI)
  plt.close(fig)


def _errorbar(ax, rows: list[dict[str, Any]], x: str, y: str,
              **style: Any) -> None:
  rows = sorted(rows, key=lambda r: r[x])
  xs = [r[x] for r in rows]
  ys = [r[y] for r in rows]
  err = [[max(0.0, r[y] - r[f"{y}_lo"]) if math.isfinite(r[f"{y}_lo"])
          else 0.0 for r in rows],
         [max(0.0, r[f"{y}_hi"] - r[y]) if math.isfinite(r[f"{y}_hi"])
          else 0.0 for r in rows]]
  ax.errorbar(xs, ys, yerr=err, marker="o", ms=3, capsize=2, **style)


def _selectivity_axis(ax, sels: list[float]) -> None:
  ax.set_xscale("log")
  ax.set_xticks(sels, [f"{s * 100:g} %" for s in sels], rotation=30)
  ax.minorticks_off()
  ax.invert_xaxis()
  ax.set_xlabel("selectivity (share of items passing the filter)")
  ax.set_ylabel("Recall@10")
  ax.set_ylim(-0.03, 1.03)
  ax.grid(alpha=0.3)


def recall_vs_selectivity(summary: dict[str, Any], path: str,
                          out: pathlib.Path) -> None:
  """One line per (source, knob) of `path`."""
  rows = summaries.pick(summary["filters"], path=path)
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  cmap = plt.get_cmap("viridis")
  keys = sorted({(r["source"], r["knob"]) for r in rows})
  knobs = sorted({k for _, k in keys})
  for source, knob in keys:  # colour: the knob; dashed: HNSW stage 1
    label = {"prefilter": "exact", "chroma_where": f"ef_search={knob}"}.get(
        path, f"{source} ×{knob}")
    _errorbar(ax, summaries.pick(rows, source=source, knob=knob),
              "selectivity", "recall", label=label,
              color=cmap(knobs.index(knob) / max(1, len(knobs) - 1)),
              ls="--" if source == "hnsw" and path == "postfilter" else "-")
  _selectivity_axis(ax, sorted({r["selectivity"] for r in rows}))
  ax.set_title({"prefilter": "filter, then exact search",
                "postfilter": "search, then filter (over-fetch)",
                "chroma_where": "ChromaDB where during HNSW search"}.get(
                    path, path), fontsize=10)
  ax.legend(fontsize=7, ncol=2 if len(keys) > 6 else 1)
  _save(fig, out)


def recall_vs_overfetch(summary: dict[str, Any], out: pathlib.Path) -> None:
  """Search-then-filter: one panel per source, one line per selectivity."""
  rows = summaries.pick(summary["filters"], path="postfilter")
  sources = sorted({r["source"] for r in rows})
  fig, axes = plt.subplots(1, len(sources), figsize=(5 * len(sources), 3.8),
                           squeeze=False, sharey=True)
  sels = sorted({r["selectivity"] for r in rows}, reverse=True)
  cmap = plt.get_cmap("plasma")
  for ax, source in zip(axes[0], sources):
    for i, s in enumerate(sels):
      _errorbar(ax, summaries.pick(rows, source=source, selectivity=s),
                "knob", "recall", label=f"{s * 100:g} %",
                color=cmap(i / max(1, len(sels))))
    ax.set_xscale("log", base=2)
    factors = sorted({r["knob"] for r in rows})
    ax.set_xticks(factors, [str(f) for f in factors])
    ax.minorticks_off()
    ax.set_xlabel("over-fetch factor (candidates = k × factor)")
    ax.set_title(f"stage 1: {source}", fontsize=10)
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel("Recall@10")
  axes[0][-1].legend(title="selectivity", fontsize=7, title_fontsize=7)
  _save(fig, out)


def decisions_vs_candidates(summary: dict[str, Any],
                            out: pathlib.Path) -> None:
  """Two-stage accuracy vs K per query space; embedding-only dotted."""
  head = summary["meta"]["decision"]["headline"]
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  cmap = plt.get_cmap("tab10")
  for i, space in enumerate(summary["meta"]["spaces"]):
    rows = summaries.pick(summary["decisions"], space=space,
                          method="postfilter", rule=head, subset="all")
    _errorbar(ax, rows, "K", "accuracy", label=space, color=cmap(i))
    base = summaries.one(summary["decisions"], space=space,
                         method="embedding_only", subset="all")
    ax.axhline(base["accuracy"], color=cmap(i), ls=":", lw=1)
  ks = sorted({r["K"] for r in summary["decisions"]
               if r["method"] == "postfilter"})
  ax.set_xscale("log")
  ax.set_xticks(ks, [str(k) for k in ks])
  ax.minorticks_off()
  ax.set_xlabel("stage-1 candidates K")
  ax.set_ylabel("decision accuracy (exact item)")
  ax.set_title("two-stage (solid) vs embedding-only (dotted)", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  _save(fig, out)
