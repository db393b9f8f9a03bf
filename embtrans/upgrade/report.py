"""docs/results/upgrade: README (findings from the numbers), tables, plot."""

from __future__ import annotations

import csv
import json
import pathlib
from typing import Any, Mapping, Sequence

from embtrans.retrieval import summaries
from embtrans.upgrade import findings

PLOT = "recovered_vs_pairs.png"
ARCH_ORDER = ("lstsq", "procrustes", "linear", "lowrank", "mlp")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
  return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def references_table(s: Mapping[str, Any]) -> str:
  rows = []
  for split in ("validation", "test"):
    for name in ("old", "new"):
      r = s["references"][split][name]
      rows.append([split, findings.MODEL[name] + (" re-embedded" if name ==
                                                   "new" else " alone"),
                   f"{r['recall@1']:.3f}", f"{r['recall@10']:.3f}",
                   f"{r['mrr']:.3f}"])
  return _table(["split", "queries and index", "R@1", "R@10", "MRR"], rows)


def _sorted(rows):
  return sorted(rows, key=lambda r: (ARCH_ORDER.index(r["arch"]), r["pairs"]))


def direction_table(s: Mapping[str, Any], direction: str) -> str:
  ci = summaries.fmt_ci
  rows = []
  for r in _sorted(x for x in s["test"] if x["direction"] == direction):
    choice = ("closed form" if r["lr"] is None else
              f"{r.get('loss')}, lr {r['lr']:g}, {r['steps']} steps")
    rows.append([findings.ARCH[r["arch"]], f"{r['pairs']:,}", choice,
                 str(r["seeds"]), ci(r, "recall@1"), ci(r, "recall@10"),
                 ci(r, "mrr"), ci(r, "recovered_recall@10"),
                 ci(r, "recovered_mrr"), f"{r['of_index_recall@10']:.3f}",
                 ci(r, "identity_recall@1"), ci(r, "identity_recall@10")])
  return _table(["translator", "pairs", "picked on validation", "seeds",
                 "R@1", "R@10", "MRR", "R@10 recovered", "MRR recovered",
                 "R@10 / index model's", "identity R@1", "identity R@10"],
                rows)


def write_csv(rows: Sequence[Mapping[str, Any]], path: pathlib.Path) -> None:
  keys = sorted({k for r in rows for k in r})
  with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)


def plot(s: Mapping[str, Any], path: pathlib.Path) -> None:
  """Recall@10 recovered vs training pairs, one line per translator."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
  for ax, direction in zip(axes, findings.DIRECTION):
    rows = [r for r in s["test"] if r["direction"] == direction]
    for arch in ARCH_ORDER:
      pts = sorted((r for r in rows if r["arch"] == arch),
                   key=lambda r: r["pairs"])
      if not pts:
        continue
      y = [r["recovered_recall@10"] for r in pts]
      err = [[max(0.0, v - (r.get("recovered_recall@10_lo") or v)) for v, r
              in zip(y, pts)], [max(0.0, (r.get("recovered_recall@10_hi") or v)
                                    - v) for v, r in zip(y, pts)]]
      ax.errorbar([r["pairs"] for r in pts], y, yerr=err, marker="o",
                  capsize=3, label=findings.ARCH[arch])
    ax.axhline(findings.GOAL, color="k", ls="--", lw=0.8, label="98 % goal")
    ax.axhline(1.0, color="gray", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training pairs")
    ax.set_title(findings.DIRECTION[direction], fontsize=10)
  axes[0].set_ylabel("Recall@10 / re-embedded Recall@10 (test)")
  axes[0].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def readme(s: Mapping[str, Any]) -> str:
  t = s["task"]
  sp = t["splits"]
  grid = sorted({(r["lr"], r["steps"], r.get("loss")) for r in
                 s["validation"] if r["lr"] is not None})
  lines = [
      "# Index upgrades without re-embedding: MiniLM <-> E5 on pydocs", "",
      "A corpus indexed with one model, queries embedded with another, and a"
      " translator putting the queries into the index's space. Query = a "
      "standard-library docstring's summary line, document = its body, "
      "relevant = the same docstring. Old model: MiniLM (all-MiniLM-L6-v2);"
      " new model: multilingual-e5-small (`query: ` mode for queries, "
      "`passage: ` for documents). Numbers: `summary.json`; per-seed rows: "
      "`test_rows.csv`, `validation.csv`.", "", "## Findings", ""]
  lines += [f"- {p}" for p in findings.all_findings(s)] + [""]
  lines += [
      "## Setup", "",
      f"Docstrings are split, not texts: {sp['test']['queries']} test "
      f"queries against {sp['test']['docs']} test documents, "
      f"{sp['validation']['queries']} validation queries against "
      f"{sp['validation']['docs']} documents (carved from train), and "
      f"{t['fit_pairs']['all']:,} fit texts (summaries and bodies of the "
      "remaining docstrings) whose first 100, 1,000 or all (a fixed random "
      "order) are the translator's training pairs: the same text embedded "
      "by both models in query mode. Translators: least squares and "
      "Procrustes (closed form), and trained linear, low-rank affine (rank "
      "64, identity + correction) and MLP (one hidden layer of width 384, "
      "GELU), batch 64, "
      f"{len({r['seed'] for r in s['test_rows'] if r['lr'] is not None})} "
      "seeds each (the 95 % intervals are Student-t over seeds). The "
      "loss, learning rate and step count of each trained translator (grid:"
      f" {', '.join(f'{c} lr {a:g} x {b} steps' for a, b, c in grid)}) are"
      " picked "
      "per direction and size on the validation split's Recall@10, from the"
      " sweep's float16 validation translations; the picked members are "
      "then restored in float32 and scored once on the test split. "
      "'Recovered' divides by re-embedding with the query model; "
      "'R@10 / index model's' divides by the index model's own queries.",
      "", "## Tables", "", "References (no translator):", "",
      references_table(s), ""]
  for d in findings.DIRECTION:
    lines += [f"{findings.DIRECTION[d]} (test split; mean [95 % interval]):",
              "", direction_table(s, d), ""]
  lines += [f"![recall recovered vs pairs]({PLOT})", "",
            "Apply speed (exported translators next to a NumPy matmul of the"
            " same shape, and a ChromaDB collection translated into a new "
            "one): `bench_apply.txt`, the output of `python -m embtrans.bench"
            " apply` with the load average it ran under.", "",
            "## What was cut for the CPU budget", "",
            "Two shared CPU cores: a grid of two learning rates x two step "
            "counts at one batch size and one width per architecture (the "
            "InfoNCE loss only at the larger step count, and for linear and "
            "MLP only), one fixed subset per size (seeds vary initialisation"
            " and batch order, not which pairs), exact search over a few "
            "hundred documents rather than an ANN index over a large corpus. "
            "A GPU run would add a 100k-passage corpus (MS MARCO-like), "
            "residual MLPs and wider low-rank ranks, loss and width choices "
            "on validation, resampled subsets per seed and 10 seeds.", "",
            "## Reproduce", "", "```",
            "python -m embtrans.upgrade prepare --workdir=W",
            "python -m embtrans.sweep --config=configs/upgrade.py "
            "--workdir=W/sweep",
            "python -m embtrans.upgrade evaluate --workdir=W "
            "--report=docs/results/upgrade", "```", "",
            f"The evaluation took {s['seconds']:.0f} s (load average "
            f"{s['load_avg'][0]:.1f} at the start, 2 cores).", ""]
  return "\n".join(lines)


def write(s: Mapping[str, Any], out: pathlib.Path) -> pathlib.Path:
  out.mkdir(parents=True, exist_ok=True)
  (out / "summary.json").write_text(json.dumps(s, indent=1, sort_keys=True,
                                               default=str) + "\n")
  write_csv(s["test_rows"], out / "test_rows.csv")
  write_csv(s["validation"], out / "validation.csv")
  plot(s, out / PLOT)
  (out / "README.md").write_text(readme(s))
  return out
