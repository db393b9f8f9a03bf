"""The upgrade report's sentences, each computed from summary.json's numbers.

Every function takes the summary (see pipeline.summarize) and returns one
paragraph; tests alter the numbers and check that the sentences follow.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

GOAL = 0.98
THRESHOLDS = (0.90, 0.95, 0.98, 1.00)
MODEL = {"old": "MiniLM", "new": "E5"}
DIRECTION = {"new_to_old": "E5 queries translated into the MiniLM index",
             "old_to_new": "MiniLM queries translated into the E5 index"}
QUERY_MODEL = {"new_to_old": "new", "old_to_new": "old"}
ARCH = {"lstsq": "least squares", "procrustes": "Procrustes",
        "linear": "trained linear", "lowrank": "low-rank affine",
        "mlp": "MLP"}

Summary = Mapping[str, Any]


def pct(x: float) -> str:
  return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f} %"


def _ci(row: Mapping[str, Any], key: str) -> str:
  lo, hi = row.get(f"{key}_lo"), row.get(f"{key}_hi")
  if lo is None or not math.isfinite(lo):
    return pct(row[key])
  return f"{pct(row[key])} (95 % interval {pct(lo)} to {pct(hi)})"


def _rows(s: Summary, direction: str) -> list[Mapping[str, Any]]:
  return [r for r in s["test"] if r["direction"] == direction]


def best_on_validation(s: Summary, direction: str) -> Mapping[str, Any]:
  """The picked test row whose cell has the best mean validation R@10."""
  key = lambda r: (r["arch"], r["pairs"], r["lr"], r["steps"], r.get("loss"))
  val = {key(r): r["recall@10"] for r in s["validation"]
         if r["direction"] == direction}
  return max(_rows(s, direction), key=lambda r: (val.get(key(r), -1.0),
                                                 r["pairs"]))


def references(s: Summary) -> str:
  t = s["task"]["splits"]["test"]
  old, new = s["references"]["test"]["old"], s["references"]["test"]["new"]
  ratio = old["recall@10"] / max(new["recall@10"], 1e-12)
  return (f"On the test split ({t['queries']} queries, {t['docs']} "
          f"documents) MiniLM alone reaches Recall@10 {pct(old['recall@10'])}"
          f" (MRR {old['mrr']:.3f}) and E5 re-embedded reaches "
          f"{pct(new['recall@10'])} (MRR {new['mrr']:.3f}): MiniLM has "
          f"{pct(ratio)} of E5's Recall@10, so an index left in MiniLM is "
          + ("weaker" if ratio < 1 else "no weaker") +
          " than a re-embedded one before any translation.")


def best(s: Summary, direction: str) -> str:
  r = best_on_validation(s, direction)
  rec = r["recovered_recall@10"]
  verdict = (f"meets the {pct(GOAL)} goal" if rec >= GOAL else
             f"falls {100 * (GOAL - rec):.1f} points short of the "
             f"{pct(GOAL)} goal")
  qm = MODEL[QUERY_MODEL[direction]]
  return (f"{DIRECTION[direction]}: the best translator on the validation "
          f"split is {ARCH[r['arch']]} fitted on {r['pairs']:,} pairs; on "
          f"the test split it recovers {_ci(r, 'recovered_recall@10')} of "
          f"the Recall@10 of re-embedding with {qm} (Recall@10 "
          f"{pct(r['recall@10'])}, MRR {r['mrr']:.3f}, {pct(r['recovered_mrr'])}"
          f" of re-embedded MRR) and {verdict}.")


def thresholds(s: Summary, direction: str) -> str:
  """The fewest pairs at which any translator's mean reaches each share."""
  rows = _rows(s, direction)
  parts = []
  for th in THRESHOLDS:
    hits = [r for r in rows if r["recovered_recall@10"] >= th]
    if hits:
      r = min(hits, key=lambda r: (r["pairs"], -r["recovered_recall@10"]))
      parts.append(f"{pct(th)} with {r['pairs']:,} pairs ({ARCH[r['arch']]})")
    else:
      parts.append(f"{pct(th)} by no translator")
  top = max(r["recovered_recall@10"] for r in rows)
  return (f"{DIRECTION[direction]}, share of re-embedded Recall@10 reached "
          f"(test means): " + "; ".join(parts) +
          f". The highest share of any translator is {pct(top)}.")


def procrustes(s: Summary, direction: str) -> str:
  rows = sorted((r for r in _rows(s, direction) if r["arch"] == "procrustes"),
                key=lambda r: r["pairs"])
  if not rows:
    return f"{DIRECTION[direction]}: no Procrustes cell was run."
  each = ", ".join(f"{pct(r['recovered_recall@10'])} with {r['pairs']:,}"
                   for r in rows)
  reach = [r for r in rows if r["recovered_recall@10"] >= GOAL]
  tail = (f"it reaches the {pct(GOAL)} goal from {reach[0]['pairs']:,} pairs"
          if reach else f"it does not reach the {pct(GOAL)} goal at any size")
  return (f"{DIRECTION[direction]}, Procrustes recovers {each} pairs of "
          f"re-embedded Recall@10: {tail}.")


def identity(s: Summary, direction: str) -> str:
  r = best_on_validation(s, direction)
  easier = r["identity_recall@10"] > r["recall@10"]
  return (f"Identity retrieval is {'the easier' if easier else 'not the easier'}"
          f" task: the same {ARCH[r['arch']]} translator ({r['pairs']:,} "
          f"pairs, {DIRECTION[direction]}) finds a test text's own target "
          f"among all {s['task']['splits']['test']['texts']:,} test targets "
          f"with Recall@1 {pct(r['identity_recall@1'])} and Recall@10 "
          f"{pct(r['identity_recall@10'])}, against query -> document "
          f"Recall@10 {pct(r['recall@10'])}.")


def index_ceiling(s: Summary, direction: str) -> str:
  r = best_on_validation(s, direction)
  index = MODEL["old" if direction == "new_to_old" else "new"]
  share = r["of_index_recall@10"]
  return (f"Against the index model's own queries ({index} on both sides) "
          f"the same translated queries reach {pct(share)} of its "
          f"Recall@10: translated queries do "
          + ("better than" if share > 1 else "not beat") +
          f" native {index} queries in the {index} index.")


def grid_edges(s: Summary) -> str:
  """How many validation picks sit on the largest lr / step count tried."""
  tried = [(r["lr"], r["steps"]) for r in s["validation"]
           if r["lr"] is not None]
  picks = [p for p in s["picked"] if p["lr"] is not None]
  if not tried or not picks:
    return "No trained translator was picked."
  top_lr, top_steps = max(t[0] for t in tried), max(t[1] for t in tried)
  at_steps = sum(p["steps"] == top_steps for p in picks)
  at_lr = sum(p["lr"] == top_lr for p in picks)
  both = sum(p["steps"] == top_steps and p["lr"] == top_lr for p in picks)
  return (f"Of the {len(picks)} trained translators picked on validation, "
          f"{at_steps} use the most steps tried ({top_steps}), {at_lr} the "
          f"largest learning rate ({top_lr:g}) and {both} both"
          + (": the grid may stop short of their best setting, so their "
             "scores are lower bounds on what longer training reaches."
             if both else "."))


def resolution(s: Summary) -> str:
  """How far one test query moves the figures; what the intervals cover."""
  q = s["task"]["splits"]["test"]["queries"]
  step = 1.0 / q
  new = s["references"]["test"]["new"]["recall@10"]
  return (f"With {q} test queries one query moves Recall@10 by "
          f"{100 * step:.2f} points, and the share of E5's re-embedded "
          f"Recall@10 by {100 * step / max(new, 1e-12):.2f} points; the "
          "intervals are over training seeds only (closed-form fits, "
          "deterministic on a fixed subset, have none), not over queries.")


def all_findings(s: Summary) -> list[str]:
  out = [references(s), resolution(s), grid_edges(s)]
  for d in DIRECTION:
    if _rows(s, d):
      out += [best(s, d), thresholds(s, d), procrustes(s, d),
              index_ceiling(s, d), identity(s, d)]
  return out
