"""Tables and findings of the init ablation, computed from its own numbers.

Cells are read by part (`part`): `main` (latent std x lr x LN on latents at
batch 64), `batch` (batch 128 at equal examples / equal updates), `control`
(forced-uniform attention, attention pool), `fraction` (share of signal
tokens), `faults` (`ablation_faults.py`). Scores are scaled between the
mean-pool reference (0) and the planted oracle (1) (`ablation_stats`), with
95% Student-t intervals over seeds. A seed run *plateaus* at threshold f when
its final full-dim InfoNCE is >= f x ln(batch); f is swept over THRESHOLDS.
Every sentence below is generated from the cells' results and curves.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from embtrans.report import ablation_stats as st

PLATEAU_FRACTION = 0.9
THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))
LRS = (2e-4, 2e-3)
STDS = (0.02, 0.1, 0.3, 1.0)
ENTROPY = "train/entropy/cross_attn_0"
MASS = "train/signal_mass/cross_attn_0"
MASS_UNIFORM = "train/signal_mass/uniform"
# Where the plateau verdict's runs differ (factor, label).
FACTORS = (("std", "latent std"), ("lr", "lr"), ("ln", "LN on latents"),
           ("batch", "batch"), ("steps", "steps"))


def level(cell: dict, key: str) -> Any:
  """A cell's factor, defaults filled in (std: the latent init's std)."""
  f = cell["factors"]
  if key in ("std", "ln") and f.get("head", "perceiver") != "perceiver":
    return None
  if key == "std":
    init = f.get("latent_init", "correct")
    return {"bug": 0.02, "correct": 1.0}.get(
        init, f.get("latent_init_std", 0.02))
  if key == "ln":
    return f.get("latent_ln", True)
  if key == "steps":
    return cell["config"]["num_train_steps"]
  if key == "batch":
    return cell["config"]["batch_size"]
  defaults = {"latent_init": "correct", "head": "perceiver", "batch": 64,
              "uniform": False, "fraction": 0.0, "fault": None}
  return f.get(key, defaults.get(key))


def part(cell: dict) -> str:
  f = cell["factors"]
  if "fault" in f:
    return "faults"
  if "fraction" in f:
    return "fraction"
  if f.get("uniform") or f.get("head") == "attention_pool":
    return "control"
  if f.get("batch", 64) != 64 or "steps" in f:
    return "batch"
  return "main"


def fmt(v: Any) -> str:
  if isinstance(v, bool):
    return "on" if v else "off"
  return f"{v:g}" if isinstance(v, float) else str(v)


def init_label(cell: dict) -> str:
  init = level(cell, "latent_init")
  return f"{init} (std {fmt(float(level(cell, 'std')))})"


def find(cells: Sequence[dict], **want) -> dict | None:
  """The one cell whose levels match `want` (None if none)."""
  for c in cells:
    if all(level(c, k) == v for k, v in want.items()):
      return c
  return None


def of_part(cells: Sequence[dict], name: str) -> list[dict]:
  return [c for c in cells if part(c) == name]


def curve(cell: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
  """(steps, mean over seeds) of a logged key (empty if not logged)."""
  runs = [r for r in cell["curves"].values() if r and key in r[0]]
  if not runs:
    return np.zeros(0), np.zeros(0)
  n = min(len(r) for r in runs)
  steps = np.array([row["step"] for row in runs[0][:n]])
  return steps, np.nanmean([[row.get(key, np.nan) for row in r[:n]]
                            for r in runs], axis=0)


def at_fraction(cell: dict, key: str, frac: float) -> float:
  """The mean curve of `key` at the logged step nearest frac x the run."""
  steps, values = curve(cell, key)
  if not len(steps):
    return math.nan
  return float(values[int(np.argmin(np.abs(steps - frac * steps[-1])))])


def scaled_text(cell: dict) -> str:
  return st.fmt_interval(st.interval(list(st.scaled_seeds(cell).values())))


def r1_text(cell: dict) -> str:
  return st.fmt_interval(st.interval(list(st.seed_values(cell).values())),
                         100, 1)


# --- Main cells: scaled scores, paired comparisons, the std sweep. ---


def main_table(cells: Sequence[dict]) -> str:
  """Main + control cells: scores with 95% intervals, attention at the end."""
  rows = ["| head | latent init | lr | LN on latents | seeds | final loss / "
          "ln(batch) | i2t R@1 (%) [95% CI] | scaled score [95% CI] | "
          "attention entropy (end) | signal mass / uniform (end) |",
          "|---|---|---:|---|---:|---|---|---|---:|---:|"]
  for c in of_part(cells, "main") + of_part(cells, "control"):
    head = level(c, "head")
    if level(c, "uniform"):
      head = "perceiver, uniform attention"
    init = "—" if head == "attention_pool" else init_label(c)
    ln = "—" if head == "attention_pool" else fmt(level(c, "ln"))
    ratio = at_fraction(c, MASS, 1) / at_fraction(c, MASS_UNIFORM, 1)
    rows.append(
        f"| {head} | {init} | {fmt(level(c, 'lr'))} | {ln} | "
        f"{len(st.seeds(c))} | "
        f"{st.fmt_interval(st.interval(st.loss_ratios(c)))} | {r1_text(c)} "
        f"| {scaled_text(c)} | {at_fraction(c, ENTROPY, 1):.2f} | "
        f"{ratio:.2f} |")
  return "\n".join(rows)


def _pairs(cells: Sequence[dict]) -> list[tuple[str, str, dict, dict]]:
  """(comparison, setting, a, b) of main cells that differ in one factor."""
  main = of_part(cells, "main")
  out = []
  for ln in (False, True):
    for lr in LRS:
      bug = find(main, std=0.02, lr=lr, ln=ln)
      for std in (1.0, 0.3, 0.1):
        other = find(main, std=std, lr=lr, ln=ln)
        if bug and other:
          out.append((f"latent std {fmt(std)} − 0.02 (bug)",
                      f"lr {fmt(lr)}, LN {fmt(ln)}", other, bug))
  for std in (0.02, 1.0):
    for lr in LRS:
      on, off = (find(main, std=std, lr=lr, ln=x) for x in (True, False))
      if on and off:
        out.append(("LN on − LN off", f"latent std {fmt(std)}, lr "
                    f"{fmt(lr)}", on, off))
  return out


def paired_table(cells: Sequence[dict]) -> tuple[str, list[dict]]:
  """Paired differences of scaled scores (same seed: same data order)."""
  rows = ["| comparison | setting | seeds paired | mean difference of "
          "scaled scores [95% CI] | seeds where the first is higher |",
          "|---|---|---:|---|---:|"]
  stats = []
  for name, setting, a, b in _pairs(cells):
    p = st.paired(st.scaled_seeds(a), st.scaled_seeds(b))
    stats.append(dict(p, name=name, setting=setting))
    rows.append(f"| {name} | {setting} | {p['n']} | "
                f"{st.fmt_interval((p['mean'], p['lo'], p['hi'], p['n']))} "
                f"| {p['wins']}/{p['n']} |")
  return "\n".join(rows), stats


def _sign_text(p: dict) -> str:
  if not np.isfinite(p["lo"]):
    return "no interval (fewer than two paired seeds)"
  if p["lo"] > 0:
    return "the interval lies above 0"
  if p["hi"] < 0:
    return "the interval lies below 0"
  return "the interval includes 0"


def init_findings(cells: Sequence[dict]) -> list[str]:
  """One sentence per (lr, LN): N(0, 1) against the seed's bug init."""
  _, stats = paired_table(cells)
  out = []
  for p in stats:
    if not p["name"].startswith("latent std 1 "):
      continue
    out.append(
        f"{p['setting']}, batch 64: N(0, 1) minus the seed's bug init "
        f"(std 0.02) = {p['mean']:+.2f} [{p['lo']:+.2f}, {p['hi']:+.2f}] "
        f"in scaled score over {p['n']} paired seeds ({_sign_text(p)}; "
        f"N(0, 1) higher in {p['wins']} of {p['n']}).")
  return out


def std_table(cells: Sequence[dict]) -> tuple[str, list[str]]:
  """Scaled score by latent std, per (LN, lr); a sentence per row."""
  main = of_part(cells, "main")
  rows = ["| LN on latents | lr | " + " | ".join(
      f"std {fmt(s)}" for s in STDS) + " |",
          "|---|---:|" + "---|" * len(STDS)]
  sentences = []
  for ln in (False, True):
    for lr in LRS:
      found = [find(main, std=s, lr=lr, ln=ln) for s in STDS]
      if not any(found):
        continue
      rows.append(f"| {fmt(ln)} | {fmt(lr)} | " + " | ".join(
          scaled_text(c) if c else "—" for c in found) + " |")
      means = [st.interval(list(st.scaled_seeds(c).values()))[0]
               for c in found if c]
      order = ("rises with every step up in std" if np.all(np.diff(means) > 0)
               else "falls with every step up in std" if np.all(
                   np.diff(means) < 0) else "is not monotonic in std")
      sentences.append(
          f"LN {fmt(ln)}, lr {fmt(lr)}: scaled score "
          + ", ".join(f"{m:.2f}" for m in means) + f" at latent std "
          + "/".join(fmt(s) for s, c in zip(STDS, found) if c)
          + f"; it {order} (range {max(means) - min(means):.2f}).")
  return "\n".join(rows), sentences


# --- The plateau threshold, swept. ---


def _one_token(cells: Sequence[dict]) -> list[dict]:
  """Perceiver cells on the one-signal-token data (main + batch parts)."""
  return of_part(cells, "main") + of_part(cells, "batch")


def _shared(cells: Sequence[dict]) -> list[str]:
  out = []
  for key, label in FACTORS:
    levels = {level(c, key) for c in cells}
    if len(levels) == 1:
      out.append(f"{label} {fmt(levels.pop())}")
  return out


def verdict(cells: Sequence[dict], fraction: float) -> tuple[int, int, str]:
  """(plateaued runs, cells with one, levels shared by those cells)."""
  hit = [c for c in cells if st.plateaued(c, fraction)]
  runs = sum(st.plateaued(c, fraction) for c in hit)
  shared = ", ".join(_shared(hit)) if hit else "—"
  return runs, len(hit), shared or "none"


def threshold_table(cells: Sequence[dict]) -> tuple[str, list[str]]:
  """Plateau counts at each threshold, and where the verdict changes."""
  pool = _one_token(cells)
  total = sum(len(st.seeds(c)) for c in pool)
  rows = ["| threshold (x ln(batch)) | plateaued runs | cells with a "
          "plateaued run | levels every such cell shares | small-std "
          "(0.02) runs plateaued | N(0, 1) runs plateaued |",
          "|---:|---:|---:|---|---:|---:|"]
  changes, last = [], None
  for f in THRESHOLDS:
    runs, ncells, shared = verdict(pool, f)
    by_std = {s: (sum(st.plateaued(c, f) for c in pool
                      if level(c, "std") == s),
                  sum(len(st.seeds(c)) for c in pool
                      if level(c, "std") == s)) for s in (0.02, 1.0)}
    rows.append(f"| {f:.2f} | {runs}/{total} | {ncells} | {shared} | "
                f"{by_std[0.02][0]}/{by_std[0.02][1]} | "
                f"{by_std[1.0][0]}/{by_std[1.0][1]} |")
    hit = {c["name"] for c in pool if st.plateaued(c, f)}
    if last is not None and hit != last[1]:
      moved = [f"{n} {'leaves' if n in last[1] else 'enters'}"
               for n in sorted(hit ^ last[1])]
      changes.append(f"{last[0]:.2f} -> {f:.2f} ({len(last[1])} -> "
                     f"{len(hit)} cells: {', '.join(moved)})")
    last = (f, hit)
  if changes:
    text = ("Sweeping the plateau threshold from "
            f"{THRESHOLDS[0]:.2f} to {THRESHOLDS[-1]:.2f} x ln(batch), the "
            "set of cells with a plateaued seed changes at "
            + "; ".join(changes) + ".")
  else:
    text = ("Sweeping the plateau threshold from "
            f"{THRESHOLDS[0]:.2f} to {THRESHOLDS[-1]:.2f} x ln(batch) leaves "
            f"the plateaued cells unchanged ({len(last[1])} cells).")
  return "\n".join(rows), [text] + _near_threshold(pool)


def _near_threshold(pool: Sequence[dict]) -> list[str]:
  """Cells whose seeds end inside the swept range: where each flips."""
  lo, hi = THRESHOLDS[0], THRESHOLDS[-1]
  near = [(c, st.loss_ratios(c)) for c in pool]
  near = [(c, r) for c, r in near if np.any((r >= lo) & (r < hi))]
  if not near:
    return [f"No cell ends with a seed between {lo:.2f} and {hi:.2f} x "
            "ln(batch)."]
  parts = [f"{c['name']} (seeds at {np.nanmin(r):.2f}–{np.nanmax(r):.2f})"
           for c, r in sorted(near, key=lambda x: -np.nanmax(x[1]))]
  return ["Cells whose final loss / ln(batch) lies inside the swept range "
          "(each seed counts as plateaued for every threshold at or below "
          "its ratio): " + "; ".join(parts) + "."]


# --- Mechanism: attention entropy and the mass on the signal token. ---

MECH_POINTS = (0.0, 0.25, 0.5, 1.0)


def mechanism_table(cells: Sequence[dict]) -> tuple[str, list[str]]:
  """Entropy and signal mass / uniform mass over training at lr 2e-4."""
  rows = ["| cell | " + " | ".join(
      f"entropy @{int(100 * p)}%" for p in MECH_POINTS) + " | " + " | ".join(
          f"mass ratio @{int(100 * p)}%" for p in MECH_POINTS) + " |",
          "|---|" + "---:|" * (2 * len(MECH_POINTS))]
  sel = [c for c in of_part(cells, "main") + of_part(cells, "control")
         if level(c, "lr") == 2e-4 and level(c, "head") == "perceiver"]
  for c in sel:
    ent = [at_fraction(c, ENTROPY, p) for p in MECH_POINTS]
    ratio = [at_fraction(c, MASS, p) / at_fraction(c, MASS_UNIFORM, p)
             for p in MECH_POINTS]
    rows.append(f"| {c['name']} | " + " | ".join(f"{e:.2f}" for e in ent)
                + " | " + " | ".join(f"{r:.2f}" for r in ratio) + " |")
  uniform = [c for c in of_part(cells, "control") if level(c, "uniform")]
  return "\n".join(rows), _mechanism_sentences(sel, uniform)


def _mechanism_sentences(sel: Sequence[dict], uniform: Sequence[dict]
                         ) -> list[str]:
  out = []
  for ln in (False, True):
    parts = []
    for c in sel:
      if level(c, "uniform") or level(c, "ln") != ln:
        continue
      steps, ent = curve(c, ENTROPY)
      if not len(steps):
        continue
      low = np.flatnonzero(ent < 0.95)
      left = f"below 0.95 from step {steps[low[0]]}" if len(low) else (
          f"at or above 0.95 at every logged step to {steps[-1]}")
      ratio = at_fraction(c, MASS, 1) / at_fraction(c, MASS_UNIFORM, 1)
      parts.append(f"std {fmt(float(level(c, 'std')))}: entropy {left}, "
                   f"final mass on the signal token {ratio:.2f}x uniform")
    if parts:
      out.append(f"lr 0.0002, LN {fmt(ln)}, batch 64 — " + "; ".join(parts)
                 + ".")
  for c in uniform:
    if level(c, "uniform"):
      s = st.interval(list(st.scaled_seeds(c).values()))
      where = ("includes 0" if s[1] <= 0 <= s[2] else
               "excludes 0") if np.isfinite(s[1]) else "has no interval"
      out.append(f"Forced-uniform attention (lr {fmt(level(c, 'lr'))}): "
                 f"entropy {at_fraction(c, ENTROPY, 1):.2f}, scaled score "
                 f"{st.fmt_interval(s)} (the interval {where}; 0 = mean "
                 "pooling + ridge).")
  return out


# --- Batch 64 vs 128 at equal examples and at equal updates. ---


def batch_table(cells: Sequence[dict]) -> tuple[str, list[str]]:
  """Scaled scores of batch 64 / 500 steps against batch 128 at 250 steps
  (same examples seen) and 500 steps (same updates)."""
  main, other = of_part(cells, "main"), of_part(cells, "batch")
  rows = ["| latent init | LN on latents | batch 64, 500 steps | batch 128, "
          "250 steps (equal examples) | batch 128, 500 steps (equal "
          "updates) |", "|---|---|---|---|---|"]
  out = []
  for ln in (False, True):
    for std in (0.02, 1.0):
      b64 = find(main, std=std, lr=2e-4, ln=ln)
      same_ex = find(other, std=std, lr=2e-4, ln=ln, batch=128, steps=
                     b64["config"]["num_train_steps"] // 2 if b64 else -1)
      same_up = find(other, std=std, lr=2e-4, ln=ln, batch=128, steps=
                     b64["config"]["num_train_steps"] if b64 else -1)
      if not b64 or not (same_ex or same_up):
        continue
      rows.append(f"| {init_label(b64)} | {fmt(ln)} | {scaled_text(b64)} | "
                  + " | ".join(scaled_text(c) if c else "—"
                               for c in (same_ex, same_up)) + " |")
      out.append(_batch_sentence(b64, same_ex, same_up, std, ln))
  return "\n".join(rows), out


def _batch_sentence(b64, same_ex, same_up, std, ln) -> str:
  base = list(st.scaled_seeds(b64).values())
  parts = []
  for name, c in (("equal examples", same_ex), ("equal updates", same_up)):
    if c:
      d = st.unpaired(list(st.scaled_seeds(c).values()), base)
      parts.append(f"at {name} batch 128 minus batch 64 = {d['mean']:+.2f} "
                   f"[{d['lo']:+.2f}, {d['hi']:+.2f}]")
  return (f"Latent std {fmt(std)}, LN {fmt(ln)}, lr 0.0002 (scaled score, "
          "Welch 95% CI): " + "; ".join(parts) + ".")


# --- How much mean pooling can recover: the signal-token fraction. ---


def _signal_share(cell: dict) -> str:
  f = level(cell, "fraction")
  if not f:
    return "one token"
  return "all tokens" if f == 1 else f"{fmt(float(f))} of the tokens"


def fraction_table(cells: Sequence[dict]) -> tuple[str, list[str]]:
  """Per data set (signal share): references, both inits, their gap."""
  rows = ["| signal tokens | mean pool + ridge i2t R@1 (%) | oracle i2t R@1 "
          "(%) | std 0.02 (bug) i2t R@1 (%) | std 1.0 (correct) i2t R@1 (%) "
          "| correct − bug, R@1 points, paired [95% CI] |",
          "|---|---:|---:|---|---|---|"]
  pool = [c for c in of_part(cells, "main") + of_part(cells, "fraction")
          if level(c, "lr") == 2e-4 and not level(c, "ln")]
  out = []
  for f in sorted({level(c, "fraction") for c in pool}):
    bug = find(pool, fraction=f, std=0.02)
    good = find(pool, fraction=f, std=1.0)
    if not bug or not good:
      continue
    p = st.paired(st.seed_values(good), st.seed_values(bug))
    zero, one = (100 * st.reference(bug, n) for n in (st.ZERO, st.ONE))
    gap = st.fmt_interval((p["mean"], p["lo"], p["hi"], p["n"]), 100, 1)
    rows.append(f"| {_signal_share(bug)} | {zero:.1f} | {one:.1f} | "
                f"{r1_text(bug)} | {r1_text(good)} | {gap} |")
    out.append(f"{_signal_share(bug)} (LN off, lr 0.0002): mean pooling "
               f"{zero:.1f}%, oracle {one:.1f}%, bug {100 * np.nanmean(list(st.seed_values(bug).values())):.1f}%, "
               f"correct {100 * np.nanmean(list(st.seed_values(good).values())):.1f}%; "
               f"correct − bug {gap} R@1 points ({_sign_text(p)}).")
  return "\n".join(rows), out
