"""The grid's questions, answered with numbers from its rows.

Each function returns Markdown lines computed from the rows, never written
in advance. Choices (which member of a pair is shown, which direction is
easier) are made on the validation scores (`val/...`); the test scores
(`test/...`) are reported for what was chosen. Intervals are 95 % Student-t
intervals over seeds; two archs are compared per pair by the seed-paired
difference, and a pair counts as higher (lower) only when that difference's
interval lies above (below) 0.
"""

from __future__ import annotations

import math
import pathlib
from typing import Mapping, Sequence

from scipy import stats

from embtrans.report import io
from embtrans.report import tables

Curves = Mapping[str, list[tuple[int, float]]]  # member key -> (step, loss)

CLOSED = ("lstsq", "procrustes")
CHOICE_KEY = "val/recall@1"      # which member of a pair is shown
DIRECTION_KEY = "val/r2"         # which direction of a pair is easier
RAW = {"CKA": "test/cka/source/linear_cka",
       "CKNNA@10": "test/platonic/source/cknna@10",
       "SVCCA@10": "test/svcca/source/svcca@10"}
TRANSLATED = {"CKA": "test/cka/linear_cka",
              "CKNNA@10": "test/platonic/cknna@10",
              "SVCCA@10": "test/svcca/svcca@10"}


def resolve(rows: Sequence[tables.Row], key: str) -> str:
  """`key`, or the key the rows hold for the same metric at another size
  (SVCCA of spaces narrower than 10 dims is written `svcca@<dim>`)."""
  if any(key in r for r in rows):
    return key
  stem = key.rsplit("@", 1)[0] + "@"
  found = sorted({k for r in rows for k in r if k.startswith(stem)
                  and "/" not in k[len(stem):]})
  return found[0] if found else key


def load_curves(workdir: pathlib.Path, rows: Sequence[tables.Row]) -> Curves:
  """Training-loss curves of the trained members' first seed."""
  out = {}
  for r in rows:
    seeds = io.seed_dirs(workdir / "cells" / r["key"])
    if r.get("kind") != "trained" or not seeds:
      continue
    steps, values = io.curve(seeds[0])
    out[r["key"]] = list(zip(steps.tolist(), values.tolist()))
  return out


def _label(arch: str) -> str:
  return tables.ARCH_LABELS.get(arch, arch)


def trained_archs(rows: Sequence[tables.Row]) -> list[str]:
  return sorted({r["arch"] for r in rows if r.get("kind") == "trained"},
                key=tables.arch_rank)


def check_val(rows: Sequence[tables.Row]) -> None:
  """Raises if no trained row has validation scores to choose on."""
  if not any(r.get(CHOICE_KEY) is not None for r in rows
             if r.get("kind") == "trained"):
    raise ValueError(
        f"No trained cell has validation scores ({CHOICE_KEY}): this grid "
        "ran without a validation split. Rerun it with configs/grid.py "
        "(config.data.val_percent > 0) so choices are not made on test.")


def choose(cells: Mapping[str, tables.Row], archs: Sequence[str],
           key: str = CHOICE_KEY) -> str | None:
  """The arch of `archs` with the highest mean `key` (ties: the first)."""
  scored = [(tables.value(cells.get(a), key), -i, a)
            for i, a in enumerate(archs)
            if not math.isnan(tables.value(cells.get(a), key))]
  return max(scored)[2] if scored else None


def chosen(rows: Sequence[tables.Row], key: str = CHOICE_KEY
           ) -> dict[tuple[str, str], str]:
  """(source, target) -> the trained arch chosen on `key`."""
  archs = trained_archs(rows)
  out = {}
  for pair, cells in tables.index(rows).items():
    arch = choose(cells, archs, key)
    if arch is not None:
      out[pair] = arch
  return out


def _ci(row, key: str, spec: str = ".3f") -> str:
  return tables.fmt_interval(*tables.interval(row, key), spec)


def chosen_table(rows: Sequence[tables.Row]) -> str:
  """Per pair: the member chosen on val, its val and test scores, the arch
  test would have picked, and the closed-form rows' test Recall@1."""
  picks, test_picks = chosen(rows), chosen(rows, "test/recall@1")
  body = []
  for pair, cells in tables.index(rows).items():
    if pair not in picks:
      continue
    row = cells[picks[pair]]
    body.append([
        f"{pair[0]} → {pair[1]}", _label(picks[pair]),
        _ci(row, CHOICE_KEY), _ci(row, "test/recall@1"),
        _ci(row, "test/r2"), _label(test_picks.get(pair, "?")),
        *[tables.fmt_value(tables.value(cells.get(c), "test/recall@1"), ".3f")
          for c in CLOSED]])
  return tables.markdown_table(
      ["source → target", "chosen on val", "val R@1", "test R@1",
       "test R²", "best on test", "lstsq test R@1",
       "Procrustes test R@1"], body)


def choice_summary(rows: Sequence[tables.Row]) -> list[str]:
  """How often the val choice is also the test-best arch, and the cost."""
  picks, test_picks = chosen(rows), chosen(rows, "test/recall@1")
  index = tables.index(rows)
  same = [p for p in picks if test_picks.get(p) == picks[p]]
  gaps = [tables.value(index[p][test_picks[p]], "test/recall@1") -
          tables.value(index[p][picks[p]], "test/recall@1")
          for p in picks if p not in same and p in test_picks]
  line = (f"- Validation Recall@1 chose the arch that also has the highest "
          f"test Recall@1 on {len(same)}/{len(picks)} pairs")
  if gaps:
    line += (f"; on the other {len(gaps)} the chosen member's test Recall@1"
             f" is {max(gaps):.4f} below the test-best arch at most (mean "
             f"{tables.mean(gaps):.4f})")
  return [line + "."]


def _budget(rows: Sequence[tables.Row], a: str, b: str) -> str:
  """How the two archs' training budgets compare, from their rows."""
  ra = next(r for r in rows if r["arch"] == a and r.get("kind") == "trained")
  rb = next(r for r in rows if r["arch"] == b and r.get("kind") == "trained")
  if (ra["steps"], ra["batch_size"]) == (rb["steps"], rb["batch_size"]):
    text = (f"equal budgets ({ra['steps']} steps at batch "
            f"{ra['batch_size']}, {tables.epochs(ra):.1f} epochs each)")
  else:
    text = (f"unequal budgets ({tables.epochs(ra):.1f} vs "
            f"{tables.epochs(rb):.1f} epochs, {ra['steps']} vs "
            f"{rb['steps']} steps), so the difference mixes budget and "
            "architecture")
  lr_a, lr_b = ra["learning_rate"], rb["learning_rate"]
  return text + (f", peak lr {lr_a:g} vs {lr_b:g}" if lr_a != lr_b else
                 f", the same peak lr {lr_a:g}")


def effect(rows: Sequence[tables.Row], a: str, b: str, key: str
           ) -> tuple[float, int, int, int]:
  """Seed-paired b - a of `key` per pair -> (mean over pairs, pairs with
  the interval above 0, below 0, across 0)."""
  means, signs = [], []
  for cells in tables.index(rows).values():
    m, hw, n = tables.paired_difference(cells.get(a), cells.get(b), key)
    if n:
      means.append(m)
      signs.append(tables.sign(m, hw))
  return (tables.mean(means), signs.count(1), signs.count(-1),
          signs.count(0))


def compare(rows: Sequence[tables.Row], a: str, b: str) -> str:
  """One bullet: arch a -> b on test R^2 and Recall@1, with its budgets."""
  parts, n = [], 0
  for key, name, spec in (("test/r2", "test R²", "+.4f"),
                          ("test/recall@1", "test Recall@1", "+.3f")):
    m, up, down, zero = effect(rows, a, b, key)
    n = up + down + zero
    parts.append(f"{name} {format(m, spec)} (higher on {up}, lower on "
                 f"{down}, interval across 0 on {zero})")
  return (f"- {_label(a)} → {_label(b)}, at {_budget(rows, a, b)}; mean "
          f"change over {n} pairs: " + "; ".join(parts) + ".")


def _available(rows, comparisons):
  archs = set(trained_archs(rows))
  return [(a, b) for a, b in comparisons if a in archs and b in archs]


def width(rows: Sequence[tables.Row]) -> list[str]:
  comps = _available(rows, [(f"mlp{l}_w1", f"mlp{l}_w{w}")
                            for l in (1, 2) for w in (8, 32)])
  return [compare(rows, a, b) for a, b in comps]


def depth(rows: Sequence[tables.Row]) -> list[str]:
  comps = _available(rows, [("linear", "mlp1_w1")] +
                     [(f"mlp1_w{w}", f"mlp2_w{w}") for w in (1, 8, 32)])
  return [compare(rows, a, b) for a, b in comps]


def direction(rows: Sequence[tables.Row]) -> list[str]:
  """Per unordered pair: the direction with the higher val R^2 of its
  val-chosen member is called easier; test R^2 and Recall@1 follow."""
  by_pair, picks = tables.index(rows), chosen(rows, DIRECTION_KEY)
  out, agree, n = [], 0, 0
  for (s, t) in by_pair:
    if (t, s) not in by_pair or s > t or (s, t) not in picks or (
        t, s) not in picks:
      continue
    f_row, b_row = by_pair[(s, t)][picks[(s, t)]], by_pair[(t, s)][
        picks[(t, s)]]
    forward = tables.value(f_row, DIRECTION_KEY) >= tables.value(
        b_row, DIRECTION_KEY)
    easy, e_row, hard, h_row = f"{s} → {t}", f_row, f"{t} → {s}", b_row
    if not forward:
      easy, e_row, hard, h_row = hard, h_row, easy, e_row
    (e_test, e_hw), (h_test, h_hw) = (tables.interval(e_row, "test/r2"),
                                      tables.interval(h_row, "test/r2"))
    same = e_test > h_test
    n, agree = n + 1, agree + same
    apart = not (math.isnan(e_hw) or math.isnan(h_hw)) and (
        abs(e_test - h_test) > e_hw + h_hw)
    out.append(
        f"- {easy} is easier than {hard} by validation R² "
        f"({tables.value(e_row, DIRECTION_KEY):.3f} vs "
        f"{tables.value(h_row, DIRECTION_KEY):.3f}; members chosen on val R²: "
        f"{_label(e_row['arch'])}, {_label(h_row['arch'])}). Test R² "
        f"{_ci(e_row, 'test/r2')} vs {_ci(h_row, 'test/r2')}: "
        + ("the same order" if same else "the other order")
        + (", intervals apart" if apart else ", intervals overlapping")
        + f"; test Recall@1 {_ci(e_row, 'test/recall@1')} ({easy}) vs "
        f"{_ci(h_row, 'test/recall@1')} ({hard}).")
  if n:
    out.insert(0, f"- Validation and test agree on the direction with the "
               f"higher R² for {agree}/{n} pairs of spaces.")
  return out


def _position(value: float, row: tables.Row, key: str) -> int:
  """-1 / +1 / 0: `value` below / above / inside the row's interval."""
  m, hw = tables.interval(row, key)
  return -tables.sign(m - value, hw)


def closed_form(rows: Sequence[tables.Row]) -> list[str]:
  """The val-chosen member of each pair against lstsq and Procrustes."""
  index, picks = tables.index(rows), chosen(rows)
  out = []
  for name in CLOSED:
    ratio, gap, where = [], [], []
    for pair, arch in picks.items():
      row, ref = index[pair][arch], index[pair].get(name)
      r1 = tables.value(ref, "test/recall@1")
      if ref is None or math.isnan(r1):
        continue
      ratio.append(tables.value(row, "test/mse") /
                   tables.value(ref, "test/mse"))
      gap.append(tables.value(row, "test/recall@1") - r1)
      where.append(_position(r1, row, "test/recall@1"))
    if ratio:
      out.append(
          f"- Chosen member vs {_label(name)}: test MSE ratio "
          f"{tables.mean(ratio):.3f} on average (range {min(ratio):.3f}–"
          f"{max(ratio):.3f}); test Recall@1 {tables.mean(gap):+.3f} on "
          f"average; {_label(name)}'s Recall@1 lies below the member's seed"
          f" interval on {where.count(-1)}/{len(where)} pairs, above it on "
          f"{where.count(1)}, inside on {where.count(0)}.")
  return out


def procrustes_vs_lstsq(rows: Sequence[tables.Row]) -> list[str]:
  change, better, n = tables.relative_change(rows, "lstsq", "procrustes")
  if not n:
    return []
  r1 = [tables.value(c.get("procrustes"), "test/recall@1") -
        tables.value(c.get("lstsq"), "test/recall@1")
        for c in tables.index(rows).values()]
  higher = sum(x > 0 for x in r1 if not math.isnan(x))
  return [f"- Procrustes vs lstsq (deterministic fits, no seeds): test MSE "
          f"{100 * change:+.1f} % on average (lower on {better}/{n}), test "
          f"Recall@1 {tables.mean(r1):+.3f} (higher on {higher}/{n})."]


def _raw(cells: Mapping[str, tables.Row], key: str) -> float:
  """A raw-space score of the pair (the same in every row that has it)."""
  return tables.mean(tables.value(r, key) for r in cells.values())


def similarity(rows: Sequence[tables.Row]) -> list[str]:
  """Raw-space CKA / CKNNA / SVCCA per pair of spaces, how they track the
  chosen member's test Recall@1, and what translation does to them."""
  index, picks = tables.index(rows), chosen(rows)
  seen, parts = set(), []
  for (s, t), cells in index.items():
    vals = {m: _raw(cells, resolve(rows, k)) for m, k in RAW.items()}
    if frozenset((s, t)) in seen or all(map(math.isnan, vals.values())):
      continue
    seen.add(frozenset((s, t)))
    parts.append(f"{s} / {t} " + " / ".join(
        tables.fmt_value(v, ".3f") for v in vals.values()))
  if not parts:
    return []
  out = ["- Raw spaces on the test split (" + " / ".join(RAW) + "): "
         + "; ".join(parts) + "."]
  recall = [tables.value(index[p][a], "test/recall@1")
            for p, a in picks.items()]
  rhos = []
  for metric, key in RAW.items():
    raw = [_raw(index[p], resolve(rows, key)) for p in picks]
    ok = [(x, y) for x, y in zip(raw, recall)
          if not (math.isnan(x) or math.isnan(y))]
    if len(ok) >= 3:
      rhos.append(f"{metric} {stats.spearmanr(*zip(*ok))[0]:+.2f}")
  if rhos:
    out.append(f"- Spearman ρ over the {len(recall)} directed pairs between "
               "the raw spaces' similarity and the chosen member's test "
               "Recall@1: " + ", ".join(rhos) + ".")
  moves = []
  for metric in ("CKNNA@10", "SVCCA@10"):
    before = [_raw(index[p], resolve(rows, RAW[metric])) for p in picks]
    after = [tables.value(index[p][a], resolve(rows, TRANSLATED[metric]))
             for p, a in picks.items()]
    if not all(map(math.isnan, after)):
      moves.append(f"{metric} {tables.mean(before):.3f} → "
                   f"{tables.mean(after):.3f}")
  if moves:
    out.append("- Against the target, the chosen members' translations move "
               "the mean over pairs from the raw source's to: "
               + ", ".join(moves) + ".")
  return out


def focus(rows: Sequence[tables.Row], a: str, b: str) -> list[str]:
  """Both directions between spaces a and b, ranked among all pairs."""
  index, picks = tables.index(rows), chosen(rows)
  ranked = sorted(picks, key=lambda p: -tables.value(
      index[p][picks[p]], "test/recall@1"))
  out = []
  for pair in ((a, b), (b, a)):
    if pair not in picks:
      continue
    row, cells = index[pair][picks[pair]], index[pair]
    closed = [f"{_label(c)} " + tables.fmt_value(
        tables.value(cells.get(c), "test/recall@1"), ".3f") for c in CLOSED]
    out.append(
        f"- {pair[0]} → {pair[1]}: {_label(picks[pair])} (chosen on val), "
        f"test Recall@1 {_ci(row, 'test/recall@1')}, R² "
        f"{_ci(row, 'test/r2')}, CKNNA@10 {_ci(row, TRANSLATED['CKNNA@10'])}"
        f", SVCCA {_ci(row, resolve(rows, TRANSLATED['SVCCA@10']))}; rank "
        f"{ranked.index(pair) + 1} of {len(ranked)} directed pairs by test "
        f"Recall@1; test Recall@1 of " + ", ".join(closed) + ".")
  return out
