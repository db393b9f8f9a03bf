"""The report's answers, each computed from summary.json's numbers.

Every function takes the summary (see evaluation.summarize) and returns
Markdown text; nothing here is written by hand about the outcome, so a
change in the numbers changes the sentences (tests/retrieval_report_test.py).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from embtrans.retrieval import summaries

Summary = dict[str, Any]


def pct(s: float) -> str:
  """A selectivity as a percentage: 1.0 -> '100 %', 0.001 -> '0.1 %'."""
  return f"{s * 100:g} %"


def _num(x: float, digits: int = 3) -> str:
  return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _join(parts: Sequence[str]) -> str:
  parts = list(parts)
  if len(parts) <= 1:
    return "".join(parts)
  return ", ".join(parts[:-1]) + " and " + parts[-1]


def space_label(summary: Summary, space: str) -> str:
  meta = summary["meta"]
  info = meta["spaces"][space]
  if not info["translated"]:
    return f"{space} (the index space)"
  return (f"{space} translated into {meta['index_space']} by "
          f"{meta['translator']} (fitted on {info['fit_pairs']} train pairs)")


def _acc(summary: Summary, **factors: Any) -> dict[str, Any]:
  return summaries.one(summary["decisions"], **factors)


def decisions(summary: Summary) -> str:
  """Embedding-only vs two-stage decision accuracy, per query space."""
  meta, d = summary["meta"], summary["meta"]["decision"]
  head, k = d["headline"], d["candidates"]
  rule = meta["rules"][head]
  lines = []
  for space in meta["spaces"]:
    g = summaries.one(summary["gains"], space=space, subset="all")
    gn = summaries.one(summary["gains"], space=space, subset="namesake")
    pre = _acc(summary, space=space, method="prefilter", rule=head, K=k,
               subset="all")
    lines.append(
        f"- **{space_label(summary, space)}**: embedding-only retrieval "
        f"returns the exact item for {summaries.fmt_ci(g, 'embedding_only')}"
        f" of the test queries; the two-stage decision (the {k} most "
        f"similar items, then {' and '.join(rule['hard'])} must match and "
        f"{' then '.join(rule['rank']) or 'nothing'} ranks) for "
        f"{summaries.fmt_ci(g, 'two_stage')}, a gain of "
        f"{summaries.fmt_ci(g, 'gain')} (paired over seeds). On queries "
        f"whose item has a namesake in another module the gain is "
        f"{summaries.fmt_ci(gn, 'gain')} ({_num(gn['embedding_only'])} → "
        f"{_num(gn['two_stage'])}). Pushing the hard attributes into stage 1"
        f" (filter, then exact search) reaches "
        f"{summaries.fmt_ci(pre, 'accuracy')}.")
  gains = {s: summaries.one(summary["gains"], space=s, subset="all")["gain"]
           for s in meta["spaces"]}
  native = [s for s in gains if not meta["spaces"][s]["translated"]]
  moved = [s for s in gains if meta["spaces"][s]["translated"]]
  if native and moved:
    n = gains[native[0]]
    verdicts = [f"{s}: {_num(gains[s])} vs {_num(n)}" for s in moved]
    bigger = [s for s in moved if gains[s] > n]
    same = [s for s in moved if abs(gains[s] - n) < 0.005]
    trend = ("about the same as" if len(same) == len(moved) else
             "larger than" if len(bigger) == len(moved) else
             "smaller than" if not bigger else
             "larger for some spaces and smaller for others than")
    lines.append(f"- With a translator in stage 1 the gain is {trend} "
                 f"without ({_join(verdicts)}).")
  return "\n".join(lines)


def _at(r: dict[str, Any]) -> str:
  return f"{pct(r['selectivity'])} ({_num(r['recall'])})"


def _filter_rows(summary: Summary, path: str, source: str,
                 knob: Any) -> list[dict[str, Any]]:
  rows = summaries.pick(summary["filters"], path=path, source=source,
                        knob=knob)
  return sorted(rows, key=lambda r: -r["selectivity"])


def chroma_where(summary: Summary, loss: float = 0.01) -> str:
  """Where ChromaDB's in-search filtering loses recall (vs exact = 1)."""
  target = summary["meta"]["filters"]["target_recall"]
  efs = sorted({r["knob"] for r in summary["filters"]
                if r["path"] == "chroma_where"})
  lines = []
  for ef in efs:
    rows = _filter_rows(summary, "chroma_where", "hnsw", ef)
    lost = [r for r in rows if r["recall"] < 1 - loss]
    low = [r for r in rows if r["recall"] < target]
    worst = min(rows, key=lambda r: r["recall"])
    if not lost:
      lines.append(f"- ef_search={ef}: Recall@10 stays within {loss} of "
                   f"exact at every selectivity (lowest "
                   f"{_num(worst['recall'])} at {pct(worst['selectivity'])}).")
      continue
    where = "the loosest" if worst is rows[0] else (
        "the tightest" if worst is rows[-1] else "a middle")
    below = (f"below {target} at {_join([pct(r['selectivity']) for r in low])}"
             if low else f"never below {target}")
    lines.append(
        f"- ef_search={ef}: it loses recall at {_join(map(_at, lost))}; "
        f"{below}. The loss is largest at {pct(worst['selectivity'])} "
        f"selectivity, {where} filter measured.")
  return "\n".join(lines)


def postfilter(summary: Summary, source: str = "exact") -> str:
  """Where search-then-filter returns too few: factor needed per s."""
  target = summary["meta"]["filters"]["target_recall"]
  rows = summaries.pick(summary["filters"], path="postfilter", source=source)
  factors = sorted({r["knob"] for r in rows})
  lines = []
  for s in sorted({r["selectivity"] for r in rows}, reverse=True):
    cell = {r["knob"]: r for r in rows if r["selectivity"] == s}
    enough = [f for f in factors if cell[f]["recall"] >= target]
    first, last = cell[factors[0]], cell[factors[-1]]
    need = (f"over-fetch ×{enough[0]} reaches Recall@10 ≥ {target}"
            if enough else f"no factor up to ×{factors[-1]} reaches "
            f"Recall@10 {target} (best {_num(last['recall'])})")
    lines.append(
        f"- {pct(s)} selectivity: at ×{factors[0]} it returns fewer items "
        f"than exist (fewer than min(k, passing)) for "
        f"{_num(first['underfilled'] * 100, 0)} % of queries, at "
        f"×{factors[-1]} for {_num(last['underfilled'] * 100, 0)} %; {need}.")
  return "\n".join(lines)


def short_of_k(summary: Summary) -> str:
  """Queries that get fewer than k because fewer than k items pass."""
  rows = _filter_rows(summary, "prefilter", "exact", 0)
  tight = [r for r in rows if r["short"] > 0]
  if not tight:
    return ("- Every query had at least k passing items at every "
            "selectivity measured, so exact filtered search always returned k.")
  parts = [f"{_num(r['short'] * 100, 0)} % of queries at "
           f"{pct(r['selectivity'])} (mean {_num(r['passing'], 1)} passing "
           "items)" for r in tight]
  return ("- Exact filtered search returns fewer than k only when fewer than "
          f"k items pass: {_join(parts)}.")


PATH_LABELS = {"prefilter": "filter → exact search",
               "postfilter": "search → filter",
               "chroma_where": "ChromaDB where"}


def path_label(r: dict[str, Any]) -> str:
  label = PATH_LABELS.get(r["path"], r["path"])
  if r["path"] == "postfilter":
    label += f" ({r['source']}, ×{r['knob']})"
  elif r["path"] == "chroma_where":
    label += f" (ef_search={r['knob']})"
  return label


def latency(summary: Summary) -> str:
  """Queries/s at the target recall, knob chosen on validation queries."""
  meta = summary["meta"]
  target = meta["filters"]["target_recall"]
  lines = []
  for s in sorted({r["selectivity"] for r in summary["at_target"]},
                  reverse=True):
    rows = [r for r in summary["at_target"] if r["selectivity"] == s]
    ok = sorted((r for r in rows if r["knob"] is not None),
                key=lambda r: -r["qps"])
    miss = [PATH_LABELS.get(r["path"], r["path"]) + f" ({r['source']})"
            for r in rows if r["knob"] is None]
    parts = [f"{path_label(r)} {_num(r['qps'], 0)} q/s (Recall@10 "
             f"{_num(r['recall'])})" for r in ok]
    tail = (f"; no knob of {_join(miss)} reached it there" if miss else "")
    fastest = (f"fastest: {path_label(ok[0])}, "
               f"{_num(ok[0]['qps'] / ok[-1]['qps'], 1)}× the slowest"
               if len(ok) > 1 else "")
    lines.append(f"- {pct(s)}: {_join(parts) or 'no path'}"
                 f"{'; ' + fastest if fastest else ''}{tail}.")
  load = max(meta["load_avg_start"], meta["load_avg_end"])
  busy = (f" The machine was oversubscribed (load up to {_num(load, 1)} on "
          f"{meta['cpus']} CPUs), so absolute latencies are inflated; the "
          "paths were called query by query, interleaved, so their ratios "
          "are the fairer reading." if load > meta["cpus"] else "")
  return (f"Single queries, one after another; for each path the cheapest "
          f"knob whose Recall@10 on validation queries reaches {target}, "
          f"with test numbers (1-min load average "
          f"{_num(meta['load_avg_start'], 1)} at the start and "
          f"{_num(meta['load_avg_end'], 1)} at the end, on "
          f"{meta['cpus']} CPUs).{busy}\n\n" + "\n".join(lines)
          + "\n" + _where_cost(summary))


def _where_cost(summary: Summary) -> str:
  """ChromaDB's where at 100 % (tenant clause only) vs no where at all."""
  ef = summary["meta"]["chroma"]["ef_search"]
  where = summaries.pick(summary["filters"], path="chroma_where", knob=ef,
                         selectivity=1.0)
  plain = summaries.pick(summary["filters"], path="postfilter",
                         source="hnsw", knob=1, selectivity=1.0)
  if not where or not plain:
    return ""
  w, p = where[0]["latency_ms"], plain[0]["latency_ms"]
  return (f"- ChromaDB's `where` costs {_num(w, 1)} ms per query at 100 % "
          f"selectivity, where its only clause is the tenant (every item "
          f"passes), against {_num(p, 1)} ms for the same HNSW search "
          f"(ef_search={ef}) without a `where`: {_num(w / p, 1)}× the time "
          "for the same graph search, so the difference is the cost of "
          "evaluating the `where`.")


def permission(summary: Summary) -> str:
  """Leaks of planted near-copies through every path (should be none)."""
  rows = [r for r in summary["permission"]
          if r["path"] != "control_no_permission"]
  control = summaries.one(summary["permission"],
                          path="control_no_permission")
  leaks = sum(r["leaks"] for r in rows)
  returned = sum(r["returned"] for r in rows)
  leaky = sorted({f"{r['path']} ({r['filter']})" for r in rows if r["leaks"]})
  head = (f"- {leaks} of {returned} returned items came from another "
          f"tenant: leaks through {_join(leaky)}." if leaks else
          f"- None of the {returned} items returned through "
          f"{len(rows)} path × filter combinations came from another tenant")
  return (f"{head}{'' if leaks else ','} while without the permission "
          f"filter the planted near-copy was the most similar item of all for "
          f"{control['leaks']} of {control['queries']} queries.")


def alignment(summary: Summary) -> str:
  """Positive beats all negatives: random negatives vs namesakes."""
  m = summary["meta"]["alignment_negatives"]
  lines = []
  for space in summary["meta"]["spaces"]:
    r = summaries.one(summary["alignment"], space=space, negatives="random")
    h = summaries.one(summary["alignment"], space=space,
                      negatives="namesakes")
    lines.append(
        f"- {space_label(summary, space)}: the right item beats {m} random "
        f"items for {summaries.fmt_ci(r, 'accuracy')} of queries, but beats "
        f"its namesakes in other modules for "
        f"{summaries.fmt_ci(h, 'accuracy')} ({_num(r['accuracy'] - h['accuracy'])}"
        " lower).")
  return "\n".join(lines)


def candidates(summary: Summary) -> str:
  """How the two-stage accuracy grows with the stage-1 net K, and what the
  net loses.

  At the same K, every query the filter-first variant decides right and the
  post-filter decision gets wrong lost its right item in stage 1 (the
  post-filter candidates of the item's module and kind are a subset of the
  filter-first ones), so the accuracy difference is a lower bound on the
  share of queries whose right item was not among the K nearest of all.
  """
  d = summary["meta"]["decision"]
  space, k = summary["meta"]["index_space"], d["candidates"]
  rows = sorted(summaries.pick(summary["decisions"], space=space,
                               method="postfilter", rule=d["headline"],
                               subset="all"), key=lambda r: r["K"])
  at_k = _acc(summary, space=space, method="postfilter", rule=d["headline"],
              K=k, subset="all")["accuracy"]
  pre = _acc(summary, space=space, method="prefilter", rule=d["headline"],
             K=k, subset="all")["accuracy"]
  best = max(rows, key=lambda r: r["accuracy"])
  if best is rows[-1] and len(rows) > 1:
    trend = (f"still rising at the widest net measured (+"
             f"{_num(rows[-1]['accuracy'] - rows[-2]['accuracy'])} from "
             f"K={rows[-2]['K']} to K={rows[-1]['K']})")
  else:
    trend = f"at its best at K={best['K']} ({_num(best['accuracy'])})"
  return (f"- With {space} queries the two-stage accuracy is "
          f"{_num(rows[0]['accuracy'])} at K={rows[0]['K']} (the embedding's "
          f"own top 1), {_num(at_k)} at K={k} (the configured net) and "
          f"{_num(rows[-1]['accuracy'])} at K={rows[-1]['K']}, {trend}. At "
          f"K={k}, at least {_num(max(0.0, pre - at_k))} of the test queries "
          f"(filter-first {_num(pre)} minus post-filter {_num(at_k)}) lose "
          f"the right item in stage 1: it is not among the {k} nearest of "
          "all items, though it is among the nearest of its module and kind.")


def budget(summary: Summary) -> str:
  """What was cut for the CPU budget and what a GPU run would add."""
  meta = summary["meta"]
  f = meta["filters"]
  return (
      f"Cut for the CPU budget: {f['num_queries']} queries per draw and "
      f"{len(meta['seeds'])} seeds for the filter benchmark, "
      f"{len(f['ef_search'])} ef_search values (one ChromaDB collection "
      f"each: ChromaDB 1.5 fixes ef_search when an index is loaded), "
      f"{meta['items']} indexed items, one index space ({meta['index_space']})"
      f" and closed-form translators only. A GPU run would add batched "
      f"exact search over many queries at once (one matmul and top-k per "
      f"block instead of one dispatch per query), a trained translator in "
      f"stage 1, and a corpus large enough that the exact path's cost per "
      f"query, not its dispatch overhead, dominates its latency.")
