"""The two-stage report: README.md, tables (CSV + Markdown), PNG figures.

    report.write(summary, out_dir)    # summary: evaluation.summarize(...)

The README's answers come from findings.py (computed from the numbers); the
rest is tables of those numbers and a description filled in from the
summary's meta data.
"""

from __future__ import annotations

import csv
import pathlib
from typing import Any, Sequence

from embtrans.retrieval import findings
from embtrans.retrieval import plots
from embtrans.retrieval import summaries

PATHS = ("prefilter", "postfilter", "chroma_where")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]
                   ) -> str:
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
  lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
  return "\n".join(lines)


def write_csv(rows: Sequence[dict[str, Any]], path: pathlib.Path) -> None:
  keys = list(dict.fromkeys(k for r in rows for k in r))
  with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)


def _filter_keys(summary: dict[str, Any]) -> list[tuple[str, str, Any]]:
  keys = {(r["path"], r["source"], r["knob"]) for r in summary["filters"]}
  return sorted(keys, key=lambda k: (PATHS.index(k[0]), k[1], k[2]))


def _selectivities(summary: dict[str, Any]) -> list[float]:
  return sorted({r["selectivity"] for r in summary["filters"]}, reverse=True)


def filter_table(summary: dict[str, Any], cell) -> str:
  """Rows: path (source, knob); columns: selectivity; cell(row) -> str."""
  sels = _selectivities(summary)
  rows = []
  for path, source, knob in _filter_keys(summary):
    label = findings.path_label(
        {"path": path, "source": source, "knob": knob})
    rows.append([label] + [cell(summaries.one(
        summary["filters"], path=path, source=source, knob=knob,
        selectivity=s)) for s in sels])
  return markdown_table(["path"] + [findings.pct(s) for s in sels], rows)


def target_table(summary: dict[str, Any]) -> str:
  sels = _selectivities(summary)
  keys = sorted({(r["path"], r["source"]) for r in summary["at_target"]},
                key=lambda k: (PATHS.index(k[0]), k[1]))
  rows = []
  for path, source in keys:
    cells = []
    for s in sels:
      r = summaries.one(summary["at_target"], path=path, source=source,
                        selectivity=s)
      cells.append("—" if r["knob"] is None else
                   f"{r['qps']:.0f} q/s (knob {r['knob']}, R@10 "
                   f"{r['recall']:.3f})")
    rows.append([f"{findings.PATH_LABELS[path]} ({source})"] + cells)
  return markdown_table(["path"] + [findings.pct(s) for s in sels], rows)


def decision_table(summary: dict[str, Any]) -> str:
  k = summary["meta"]["decision"]["candidates"]
  rows = []
  for space in summary["meta"]["spaces"]:
    for r in summaries.pick(summary["decisions"], space=space,
                            subset="all"):
      if r["method"] != "embedding_only" and r["K"] != k:
        continue
      n = summaries.one(summary["decisions"], space=space, subset="namesake",
                        method=r["method"], rule=r["rule"], K=r["K"])
      rows.append([space, r["method"], r["rule"], str(r["K"]),
                   summaries.fmt_ci(r, "accuracy"),
                   summaries.fmt_ci(n, "accuracy")])
  return markdown_table(["query space", "method", "rule", "K",
                         "accuracy (all)", "accuracy (namesakes)"], rows)


def sweep_table(summary: dict[str, Any]) -> str:
  head = summary["meta"]["decision"]["headline"]
  spaces = list(summary["meta"]["spaces"])
  ks = sorted({r["K"] for r in summary["decisions"]
               if r["method"] == "postfilter"})
  rows = [[str(k)] + [summaries.fmt_ci(summaries.one(
      summary["decisions"], space=s, method="postfilter", rule=head, K=k,
      subset="all"), "accuracy") for s in spaces] for k in ks]
  return markdown_table(["K"] + spaces, rows)


def alignment_table(summary: dict[str, Any]) -> str:
  rows = [[s] + [summaries.fmt_ci(summaries.one(
      summary["alignment"], space=s, negatives=n), "accuracy")
                 for n in ("random", "namesakes")]
          for s in summary["meta"]["spaces"]]
  m = summary["meta"]["alignment_negatives"]
  return markdown_table(["query space", f"{m} random negatives",
                         f"{m} namesake negatives"], rows)


def permission_table(summary: dict[str, Any]) -> str:
  return markdown_table(
      ["path", "filter", "queries", "returned", "other-tenant items",
       "dropped by the host check"],
      [[r["path"], r["filter"], str(r["queries"]), str(r["returned"]),
        str(r["leaks"]), str(r["dropped"])] for r in summary["permission"]])


def _header(summary: dict[str, Any]) -> list[str]:
  m = summary["meta"]
  t = m["timing"]
  return [
      "# Two-stage retrieval: candidates from the space, decisions from "
      "attributes", "",
      "Made by `python -m embtrans.retrieval --config=configs/two_stage.py "
      "--workdir=W` (which writes this report into W/report; `--report_only "
      "--report=docs/results/two_stage` rewrites it from W/summary.json; "
      "the summary.json next to this README is that file) in "
      f"{m['wall_s'] / 60:.1f} min on {m['cpus']} CPUs shared with other "
      f"jobs (1-min load average {m['load_avg_start']:.1f} at the start, "
      f"{m['load_avg_end']:.1f} at the end; data {t['data_s']:.0f} s, "
      f"indexes {t['index_s']:.0f} s, filter benchmark "
      f"{t['filters_s']:.0f} s, decisions {t['decisions_s']:.0f} s, "
      f"permission audit {t['permission_s']:.0f} s). JAX "
      f"{m['jax']} ({m['jax_platform']}), ChromaDB {m['chromadb']}. "
      "Intervals are 95 % Student-t intervals over "
      f"{len(m['seeds'])} seeds; a seed draws new queries and new filters "
      "and, for decisions, refits the translator.", ""]


def _task(summary: dict[str, Any]) -> list[str]:
  m = summary["meta"]
  kinds = ", ".join(f"{v} {k}" for k, v in sorted(
      m["kinds"].items(), key=lambda kv: -kv[1]))
  spaces = "; ".join(findings.space_label(summary, s) for s in m["spaces"])
  return [
      "## The task", "",
      f"The index holds the summary record of every docstring of "
      f"{m['index_dataset']} ({m['items']} items from {m['modules']} modules:"
      f" {kinds}), embedded with {m['index_space']} ({m['index_dim']}-d), "
      "with the attributes tenant, package, module, qualname, name, kind "
      f"(from the {m['kind_from']}) and bucket (a uniform hash in [0, 1000) "
      "for filters of chosen selectivity). A query is the *body* paragraph "
      "of a docstring whose summary is indexed, plus the attributes that "
      "decide (module, kind, name); the right answer is that docstring's "
      f"summary. {m['namesake_items']} items have a namesake (same name and"
      " kind) in another module. This is fair to the embedding: the query "
      "text is never the indexed text, and every method sees the same query"
      " vector; the attributes given are the ones a caller who knows what "
      "it wants (\"gzip's `read` method\") would give, and none of them "
      f"names the answer's id. Queries: {m['val_queries']} validation "
      f"(carved from the train split; knobs are chosen on them) and "
      f"{m['test_queries']} test ({m['test_namesake_queries']} with a "
      f"namesake); {m['decision']['query_fraction']:.0%} of the test queries "
      f"per seed for decisions, {m['filters']['num_queries']} per draw for "
      f"the filter benchmark. Query spaces: {spaces}. A translator is fitted"
      " on train records only and never sees a record of a validation or "
      "test docstring.", ""]


def _answers(summary: dict[str, Any]) -> list[str]:
  target = summary["meta"]["filters"]["target_recall"]
  return [
      "## Answers", "",
      "### How much two-stage decisions gain over embedding-only", "",
      findings.decisions(summary), findings.candidates(summary), "",
      "### Where ChromaDB's in-search filtering loses recall", "",
      "Against the exact top-10 among the items that pass (filter, then "
      "exact search, is exact by construction):", "",
      findings.chroma_where(summary), "",
      "### Where search-then-filter returns too few results", "",
      "Stage 1 exact (the HNSW stage 1 is in the tables):", "",
      findings.postfilter(summary, "exact"), findings.short_of_k(summary), "",
      f"### Speed at Recall@10 ≥ {target}", "", findings.latency(summary), "",
      "### Alignment accuracy (the right item beats every negative)", "",
      findings.alignment(summary), "",
      "### Permission", "", findings.permission(summary), ""]


def _tables(summary: dict[str, Any]) -> list[str]:
  pct = lambda x: f"{x * 100:.0f} %"  # pylint: disable=unnecessary-lambda-assignment
  return [
      "## Tables", "",
      "Decision accuracy (the exact item), test queries:", "",
      decision_table(summary), "",
      "Two-stage accuracy by stage-1 net K (headline rule):", "",
      sweep_table(summary), "",
      "Recall@10 by selectivity (mean [95 % interval]):", "",
      filter_table(summary, lambda r: summaries.fmt_ci(r, "recall")), "",
      "Queries that get fewer than k items, and (in brackets) fewer than "
      "min(k, items that pass):", "",
      filter_table(summary, lambda r: f"{pct(r['short'])} "
                   f"({pct(r['underfilled'])})"), "",
      "Mean latency per query (ms):", "",
      filter_table(summary, lambda r: f"{r['latency_ms']:.1f}"), "",
      "Queries/s at Recall@10 ≥ target (cheapest knob whose validation "
      "recall reaches it; test numbers):", "",
      target_table(summary), "",
      "Alignment accuracy:", "", alignment_table(summary), "",
      "Permission audit (near-copies planted in another tenant):", "",
      permission_table(summary), ""]


def _figures() -> list[str]:
  return ["## Figures", "",
          "![recall vs selectivity, filter then exact search]"
          "(recall_vs_selectivity_prefilter.png)",
          "![recall vs selectivity, search then filter]"
          "(recall_vs_selectivity_postfilter.png)",
          "![recall vs selectivity, ChromaDB where]"
          "(recall_vs_selectivity_chroma_where.png)",
          "![recall vs over-fetch](recall_vs_overfetch.png)",
          "![decision accuracy vs K](decisions_vs_candidates.png)", ""]


def readme(summary: dict[str, Any]) -> str:
  return "\n".join(_header(summary) + _answers(summary) + _task(summary)
                   + _tables(summary) + _figures()
                   + ["## What was cut", "", findings.budget(summary), ""])


def write(summary: dict[str, Any], out: pathlib.Path) -> pathlib.Path:
  """Writes README.md, tables/*.csv and the PNGs into `out`; returns it."""
  out = pathlib.Path(out)
  (out / "tables").mkdir(parents=True, exist_ok=True)
  for name in ("filters", "at_target", "decisions", "gains", "alignment",
               "permission"):
    write_csv(summary[name], out / "tables" / f"{name}.csv")
  for path in PATHS:
    plots.recall_vs_selectivity(summary, path,
                                out / f"recall_vs_selectivity_{path}.png")
  plots.recall_vs_overfetch(summary, out / "recall_vs_overfetch.png")
  plots.decisions_vs_candidates(summary, out / "decisions_vs_candidates.png")
  (out / "README.md").write_text(readme(summary))
  return out
