"""The seed's questions, answered with numbers from the grid's rows.

Each function returns Markdown bullet lines. Verdicts are derived from the
numbers (never written in advance), and every comparison says over how many
directed pairs it holds.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Mapping, Sequence

from embtrans.report import io
from embtrans.report import tables

Curves = Mapping[str, list[tuple[int, float]]]  # member key -> (step, loss)

MLP_ARCHS = ("mlp1_w1", "mlp1_w8", "mlp1_w32", "mlp2_w1", "mlp2_w8",
             "mlp2_w32")


def load_curves(workdir: pathlib.Path, rows: Sequence[tables.Row]) -> Curves:
  """Training-loss curves of the trained members (from metrics.jsonl)."""
  out = {}
  for r in rows:
    seeds = io.seed_dirs(workdir / "cells" / r["key"])
    if r.get("kind") != "trained" or not seeds:
      continue
    steps, values = io.curve(seeds[0])
    out[r["key"]] = list(zip(steps.tolist(), values.tolist()))
  return out


def _pct(x: float) -> str:
  return "n/a" if math.isnan(x) else f"{100 * x:+.1f} %"


def _loss_at(curves: Curves, row: tables.Row | None, step: int) -> float:
  if row is None:
    return math.nan
  return dict(curves.get(row["key"], [])).get(step, math.nan)


def _common_step(curves: Curves, rows: Sequence[tables.Row],
                 archs: Sequence[str]) -> int | None:
  """The largest step logged by every member of `archs`."""
  steps = None
  for r in rows:
    if r["arch"] in archs and r["key"] in curves:
      logged = {s for s, _ in curves[r["key"]]}
      steps = logged if steps is None else steps & logged
  return max(steps) if steps else None


def _equal_step_changes(curves: Curves, rows: Sequence[tables.Row],
                        arch_a: str, arch_b: str
                        ) -> tuple[int | None, list[float]]:
  """(step, per-pair relative train-loss changes a -> b at that step)."""
  step = _common_step(curves, rows, (arch_a, arch_b))
  changes = []
  if step is not None:
    for cells in tables.index(rows).values():
      a = _loss_at(curves, cells.get(arch_a), step)
      b = _loss_at(curves, cells.get(arch_b), step)
      if not (math.isnan(a) or math.isnan(b)):
        changes.append((b - a) / a)
  return step, changes


def _steps(rows: Sequence[tables.Row], arch: str) -> str:
  found = [r for r in rows if r["arch"] == arch]
  return str(found[0]["steps"]) if found else "?"


def _compare(rows, curves, arch_a: str, arch_b: str) -> str:
  change, better, n = tables.relative_change(rows, arch_a, arch_b)
  r1 = tables.mean(
      tables.value(c.get(arch_b), "test/recall@1") -
      tables.value(c.get(arch_a), "test/recall@1")
      for c in tables.index(rows).values())
  la, lb = tables.ARCH_LABELS[arch_a], tables.ARCH_LABELS[arch_b]
  text = (f"{la} → {lb} ({_steps(rows, arch_a)} vs {_steps(rows, arch_b)} "
          f"steps): test MSE {_pct(change)} on average, lower on {better}/{n}"
          f" pairs; Recall@1 {r1:+.3f}")
  step, changes = _equal_step_changes(curves, rows, arch_a, arch_b)
  if changes:
    text += (f"; at equal steps (train loss, window ending at step {step}) "
             f"{_pct(tables.mean(changes))}, lower on "
             f"{sum(c < 0 for c in changes)}/{len(changes)}")
  return text + "."


def _summary(rows, curves, comparisons: Sequence[tuple[str, str]],
             what: str) -> str:
  """One line: over all (pair, comparison), how often the second arch wins,
  on test MSE at the run's budgets and on train loss at equal steps."""
  won = total = eq_won = eq_total = 0
  for a, b in comparisons:
    _, better, n = tables.relative_change(rows, a, b)
    won, total = won + better, total + n
    _, changes = _equal_step_changes(curves, rows, a, b)
    eq_won += sum(c < 0 for c in changes)
    eq_total += len(changes)
  return (f"- **Summary:** {what} lowers test MSE in {won}/{total} (pair, "
          f"comparison) cases at this run's step budgets, and lowers the "
          f"training loss at equal steps in {eq_won}/{eq_total}.")


def _available(rows, pairs_of_archs):
  archs = {r["arch"] for r in rows}
  return [(a, b) for a, b in pairs_of_archs if a in archs and b in archs]


def width(rows: Sequence[tables.Row], curves: Curves) -> list[str]:
  comps = _available(rows, [(f"mlp{l}_w1", f"mlp{l}_w{w}")
                            for l in (1, 2) for w in (8, 32)])
  if not comps:
    return []
  return [_summary(rows, curves, comps, "widening (1× → 8× or 32×)")] + [
      "- " + _compare(rows, curves, a, b) for a, b in comps]


def depth(rows: Sequence[tables.Row], curves: Curves) -> list[str]:
  comps = _available(rows, [(f"mlp1_w{w}", f"mlp2_w{w}") for w in (1, 8, 32)])
  if not comps:
    return []
  return [_summary(rows, curves, comps, "a second hidden layer")] + [
      "- " + _compare(rows, curves, a, b) for a, b in comps]


def direction(rows: Sequence[tables.Row]) -> list[str]:
  """Per unordered pair: which direction has the higher best R^2 and R@1."""
  by_pair = tables.index(rows)
  trained = [a for a in tables.ARCH_ORDER if a not in ("lstsq", "procrustes")]
  out = []
  for (s, t) in by_pair:
    if (t, s) not in by_pair or s > t:
      continue
    fwd, bwd = by_pair[(s, t)], by_pair[(t, s)]
    _, r2_f = tables.best_of(fwd, trained, "test/r2", max)
    _, r2_b = tables.best_of(bwd, trained, "test/r2", max)
    _, r1_f = tables.best_of(fwd, trained, "test/recall@1", max)
    _, r1_b = tables.best_of(bwd, trained, "test/recall@1", max)
    if math.isnan(r2_f) or math.isnan(r2_b):
      continue
    (easy, hard) = ((f"{s} → {t}", f"{t} → {s}") if r2_f >= r2_b else
                    (f"{t} → {s}", f"{s} → {t}"))
    agree = (r2_f >= r2_b) == (r1_f >= r1_b)
    out.append(
        f"- {easy} is easier than {hard} by R² (best trained member "
        f"{max(r2_f, r2_b):.3f} vs {min(r2_f, r2_b):.3f}); Recall@1 "
        f"{r1_f:.3f} ({s} → {t}) vs {r1_b:.3f} ({t} → {s})"
        + ("" if agree else " — retrieval ranks the directions the other way")
        + ".")
  return out


def closed_form(rows: Sequence[tables.Row]) -> list[str]:
  """How close the best MLP (by test MSE) gets to lstsq and Procrustes."""
  mse_ratio, r1_gap_l, r1_gap_p, beats_l, beats_p, n = [], [], [], 0, 0, 0
  for cells in tables.index(rows).values():
    arch, mse = tables.best_of(cells, MLP_ARCHS, "test/mse", min)
    lstsq = tables.value(cells.get("lstsq"), "test/mse")
    if arch is None or math.isnan(lstsq):
      continue
    n += 1
    mse_ratio.append(mse / lstsq)
    beats_l += mse < lstsq
    r1 = tables.value(cells[arch], "test/recall@1")
    r1_gap_l.append(r1 - tables.value(cells.get("lstsq"), "test/recall@1"))
    r1_proc = tables.value(cells.get("procrustes"), "test/recall@1")
    r1_gap_p.append(r1 - r1_proc)
    beats_p += r1 > r1_proc
  if not n:
    return []
  return [
      f"- Best MLP per pair (by test MSE) vs lstsq: MSE ratio "
      f"{tables.mean(mse_ratio):.3f} on average (range "
      f"{min(mse_ratio):.3f}–{max(mse_ratio):.3f}), lower MSE on "
      f"{beats_l}/{n} pairs; Recall@1 {tables.mean(r1_gap_l):+.3f} vs lstsq.",
      f"- Same MLPs vs Procrustes: Recall@1 {tables.mean(r1_gap_p):+.3f} on "
      f"average, higher on {beats_p}/{n} pairs.",
  ]


def procrustes_vs_lstsq(rows: Sequence[tables.Row]) -> list[str]:
  change, better, n = tables.relative_change(rows, "lstsq", "procrustes")
  if not n:
    return []
  r1 = [tables.value(c.get("procrustes"), "test/recall@1") -
        tables.value(c.get("lstsq"), "test/recall@1")
        for c in tables.index(rows).values()]
  higher = sum(x > 0 for x in r1 if not math.isnan(x))
  line = (f"- Procrustes vs lstsq: test MSE {_pct(change)} on average (lower "
          f"on {better}/{n}), Recall@1 {tables.mean(r1):+.3f} (higher on "
          f"{higher}/{n})")
  if better < n / 2 <= higher:
    line += (": the orthogonal map cannot rescale into the target's "
             "covariance (higher MSE) yet keeps the geometry that retrieval "
             "ranks by")
  return [line + "."]


def source_similarity(rows: Sequence[tables.Row]) -> list[str]:
  """CKA(source, target) per unordered pair: how alike the raw spaces are."""
  seen, out = set(), []
  for r in rows:
    pair = frozenset((r["source"], r["target"]))
    cka = tables.value(r, "test/cka/source/linear_cka")
    if pair in seen or math.isnan(cka):
      continue
    seen.add(pair)
    out.append(f"{r['source']} / {r['target']} {cka:.3f}")
  return ["- Linear CKA between the raw spaces (test split): "
          + ", ".join(out) + "."] if out else []
