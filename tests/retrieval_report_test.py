"""The report's sentences follow the numbers: alter a number, the sentence
changes. The summary here is hand-made (no experiment runs)."""

import copy
import math
import re

import pytest

from embtrans.retrieval import findings
from embtrans.retrieval import report
from embtrans.retrieval import summaries

SELS = (1.0, 0.1, 0.001)
FACTORS = (1, 8, 64)
EFS = (10, 100)


def _cell(**values):
  row = dict(values)
  for k in ("recall", "short", "underfilled", "qps", "latency_ms", "accuracy",
            "gain", "two_stage", "embedding_only"):
    if k in row:
      row[f"{k}_lo"], row[f"{k}_hi"] = row[k] - 0.01, row[k] + 0.01
  return row


def _filters():
  rows = []
  for s in SELS:
    rows.append(_cell(path="prefilter", source="exact", knob=0,
                      selectivity=s, recall=1.0, short=0.5 if s < 0.01 else 0,
                      underfilled=0.0, qps=300.0, latency_ms=3.3,
                      passing=5555 * s))
    for ef in EFS:
      rows.append(_cell(path="chroma_where", source="hnsw", knob=ef,
                        selectivity=s, recall=1.0, short=0.0,
                        underfilled=0.0, qps=20.0, latency_ms=50.0,
                        passing=5555 * s))
    for f in FACTORS:
      recall = 1.0 if f * s >= 1 else f * s
      for source, ms in (("exact", 2.5), ("hnsw", 5.0)):
        rows.append(_cell(path="postfilter", source=source, knob=f,
                          selectivity=s, recall=recall, short=1 - recall,
                          underfilled=1 - recall, qps=1e3 / ms,
                          latency_ms=ms, passing=5555 * s))
  return rows


def make_summary():
  spaces = {"m": {"dataset": "pydocs/m", "dim": 4, "translated": False,
                  "fit_pairs": 0},
            "s": {"dataset": "pydocs/s", "dim": 4, "translated": True,
                  "fit_pairs": 4000}}
  meta = {
      "index_space": "m", "index_dim": 4, "index_dataset": "pydocs/m",
      "items": 5555, "kind_from": "syntax tree", "spaces": spaces,
      "val_queries": 300, "test_queries": 380, "test_namesake_queries": 80,
      "namesake_items": 1100, "kinds": {"method": 3, "class": 2},
      "modules": 500, "k": 10, "seeds": [0, 1, 2], "translator": "lstsq",
      "filters": {"target_recall": 0.9, "num_queries": 100,
                  "ef_search": list(EFS)},
      "decision": {"headline": "h", "candidates": 50, "query_fraction": 0.8},
      "rules": {"h": {"hard": ["module", "kind"], "rank": ["name"]}},
      "alignment_negatives": 8, "chroma": {"ef_search": 100}, "cpus": 2, "jax": "0", "jax_platform": "cpu",
      "chromadb": "1", "timing": {"data_s": 1, "index_s": 2, "filters_s": 3,
                                  "decisions_s": 4, "permission_s": 5},
      "wall_s": 60.0, "load_avg_start": 3.0, "load_avg_end": 4.0}
  decisions, gains, alignment = [], [], []
  for space, (emb, two, pre) in {"m": (0.2, 0.7, 0.95),
                                 "s": (0.1, 0.5, 0.9)}.items():
    for subset in ("all", "namesake"):
      decisions.append(_cell(space=space, method="embedding_only", rule="-",
                             K=1, subset=subset, accuracy=emb))
      decisions.append(_cell(space=space, method="prefilter", rule="h",
                             K=50, subset=subset, accuracy=pre))
      for k in (1, 10, 50, 200):
        acc = emb if k == 1 else two if k >= 50 else (emb + two) / 2
        decisions.append(_cell(space=space, method="postfilter", rule="h",
                               K=k, subset=subset, accuracy=acc))
      gains.append(_cell(space=space, subset=subset, gain=two - emb,
                         two_stage=two, embedding_only=emb))
    for neg, acc in (("random", 0.9), ("namesakes", 0.7)):
      alignment.append(_cell(space=space, negatives=neg, accuracy=acc))
  permission = [
      {"path": p, "filter": "none", "queries": 100, "returned": 1000,
       "leaks": 0, "dropped": 0} for p in ("prefilter", "chroma_where")] + [
           {"path": "control_no_permission", "filter": "none",
            "queries": 100, "returned": 100, "leaks": 97, "dropped": 0}]
  at_target = [
      _cell(path="prefilter", source="exact", selectivity=s, knob=0,
            val_recall=1.0, recall=1.0, qps=300.0, latency_ms=3.3)
      for s in SELS] + [
          _cell(path="chroma_where", source="hnsw", selectivity=s, knob=10,
                val_recall=1.0, recall=1.0, qps=20.0, latency_ms=50.0)
          for s in SELS]
  return {"meta": meta, "filters": _filters(), "at_target": at_target,
          "decisions": decisions, "gains": gains, "alignment": alignment,
          "permission": permission}


def _set(rows, value_key, value, **factors):
  row = summaries.one(rows, **factors)
  row[value_key] = value
  row[f"{value_key}_lo"], row[f"{value_key}_hi"] = value - 0.01, value + 0.01


def test_chroma_sentence_follows_its_recall():
  s = make_summary()
  text = findings.chroma_where(s)
  assert "ef_search=10: Recall@10 stays within 0.01 of exact" in text
  _set(s["filters"], "recall", 0.5, path="chroma_where", knob=10,
       selectivity=0.001)
  text = findings.chroma_where(s)
  assert ("ef_search=10: it loses recall at 0.1 % (0.500); below 0.9 at "
          "0.1 %. The loss is largest at 0.1 % selectivity, the tightest"
          in text)
  _set(s["filters"], "recall", 0.95, path="chroma_where", knob=10,
       selectivity=0.001)
  _set(s["filters"], "recall", 0.8, path="chroma_where", knob=10,
       selectivity=1.0)
  text = findings.chroma_where(s)
  assert "loses recall at 100 % (0.800) and 0.1 % (0.950); below 0.9 at " \
         "100 %" in text and "the loosest filter" in text


def test_postfilter_sentence_follows_the_factor_needed():
  s = make_summary()
  text = findings.postfilter(s)
  # From _filters: recall = min(1, factor * s).
  assert "10 % selectivity: at ×1 it returns fewer items than exist" in text
  assert "over-fetch ×64 reaches Recall@10 ≥ 0.9" in text
  assert "0.1 % selectivity" in text and "no factor up to ×64" in text
  _set(s["filters"], "recall", 0.95, path="postfilter", source="exact",
       knob=8, selectivity=0.1)
  assert "over-fetch ×8 reaches Recall@10 ≥ 0.9" in findings.postfilter(s)


def test_decision_sentences_follow_the_accuracies():
  s = make_summary()
  text = findings.decisions(s)
  assert "for 0.200 [0.190, 0.210] of the test queries" in text
  assert "a gain of 0.500 [0.490, 0.510]" in text
  assert "the gain is smaller than without (s: 0.400 vs 0.500)" in text
  _set(s["gains"], "gain", 0.6, space="s", subset="all")
  text = findings.decisions(s)
  assert "a gain of 0.600 [0.590, 0.610]" in text
  assert "the gain is larger than without (s: 0.600 vs 0.500)" in text
  sweep = findings.candidates(s)
  assert "0.200 at K=1" in sweep and "at its best at K=50 (0.700)" in sweep
  # filter-first 0.95 vs post-filter 0.7 at K=50: 0.25 lost in stage 1.
  assert "at least 0.250 of the test queries" in sweep
  _set(s["decisions"], "accuracy", 0.72, space="m", method="postfilter",
       rule="h", K=200, subset="all")
  assert "still rising at the widest net measured (+0.020 from K=50 to " \
         "K=200)" in findings.candidates(s)


def test_permission_sentence_reports_any_leak():
  s = make_summary()
  text = findings.permission(s)
  assert text.startswith("- None of the 2000 items returned through 2 path")
  assert "most similar item of all for 97 of 100 queries" in text
  s["permission"][1]["leaks"] = 2
  text = findings.permission(s)
  assert text.startswith("- 2 of 2000 returned items came from another "
                         "tenant: leaks through chroma_where (none).")


def test_latency_and_alignment_sentences_follow_the_numbers():
  s = make_summary()
  assert "fastest: filter → exact search, 15.0× the slowest" in (
      findings.latency(s))
  _set(s["at_target"], "qps", 600.0, path="chroma_where", selectivity=1.0)
  text = findings.latency(s)
  assert "100 %: ChromaDB where (ef_search=10) 600 q/s" in text
  assert "fastest: ChromaDB where (ef_search=10), 2.0× the slowest" in text
  s["at_target"][0]["knob"] = None
  text = findings.latency(s)
  assert "no knob of filter → exact search (exact) reached it there" in text
  assert "oversubscribed (load up to 4.0 on 2 CPUs)" in text
  assert "`where` costs 50.0 ms per query at 100 % selectivity" in text
  assert "against 5.0 ms for the same HNSW search (ef_search=100) without " \
         "a `where`: 10.0× the time" in text
  s["meta"]["load_avg_start"] = s["meta"]["load_avg_end"] = 1.5
  assert "oversubscribed" not in findings.latency(s)
  text = findings.alignment(s)
  assert "0.700 [0.690, 0.710] (0.200 lower)" in text
  _set(s["alignment"], "accuracy", 0.85, space="m", negatives="namesakes")
  assert "(0.050 lower)" in findings.alignment(s)


def test_readme_holds_every_answer_and_no_nan():
  s = make_summary()
  text = report.readme(copy.deepcopy(s))
  for part in (findings.decisions(s), findings.chroma_where(s),
               findings.postfilter(s), findings.permission(s),
               findings.alignment(s), findings.budget(s)):
    assert part in text
  assert not re.search(r"\bnan\b|n/a", text.lower())


def test_intervals_over_seeds():
  rows = [{"seed": i, "cell": "x", "v": v} for i, v in enumerate((1, 2, 3))]
  (row,) = summaries.aggregate(rows, ("cell",), ("v",))
  # t_{0.975, 2} = 4.302653; sd = 1; half-width = 4.302653 / sqrt(3).
  assert row["v"] == 2 and row["seeds"] == 3
  assert row["v_hi"] - 2 == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
  (clipped,) = summaries.aggregate(
      [{"c": 0, "v": x} for x in (0.0, 0.5, 1.0)], ("c",), ("v",),
      bounded=("v",))
  assert (clipped["v_lo"], clipped["v_hi"]) == (0.0, 1.0)
