"""The ablation's README: setup and definitions, then each part's table and
the sentences computed from it (`ablation_findings`, `ablation_faults`).

Only definitions and the design are fixed text; every statement about the
results is generated from the numbers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from embtrans.report import ablation_faults as faults
from embtrans.report import ablation_findings as fl
from embtrans.report import ablation_stats as st

_DEFINITIONS = [
    "## Definitions", "",
    "- Latent init and its std: `bug` = the seed report's code, N(0, 1) "
    "overwritten by N(0, 0.02^2) (std 0.02); `std` = truncated normal at +-2 "
    "sigma (DeepMind's Perceiver; empirical std 0.88 sigma) at sigma 0.1 and "
    "0.3; `correct` = N(0, 1) (open_flamingo / flamingo-pytorch).",
    "- LN on latents: the LayerNorm on the latents where they enter the "
    "cross-attention as queries; the LN on the tokens and the MLP pre-LN "
    "stay on.",
    "- Data: planted tokens whose right answer is known. Each item has a "
    "code u; its signal token(s) carry A u plus a marker direction, the "
    "other tokens are distractors A v (fresh v) plus noise; the target is "
    "B u. `fraction` sets the share of an item's tokens that carry the "
    "signal (one token by default; 1.0 = all tokens, where mean pooling "
    "recovers u).",
    "- Scaled score: (i2t R@1 − mean pool + ridge) / (oracle − mean pool + "
    "ridge), the references fitted on the same data's train split and "
    "scored on its test split: 0 = what uniform attention plus a linear map "
    "reaches, 1 = ridge on the known signal tokens. Intervals: 95% Student-t"
    " over seeds. Paired comparisons: members with the same seed see the "
    "same batches in the same order (and the same data), so differences are"
    " taken seed by seed.",
    "- Plateau at threshold f: a seed whose final full-dim InfoNCE (mean of "
    "the last log window) is >= f x ln(batch), ln(batch) being the loss "
    "when all logits tie; f is swept from "
    f"{fl.THRESHOLDS[0]} to {fl.THRESHOLDS[-1]}.",
    "- Attention entropy: of the cross-attention weights over the valid "
    "tokens, / ln(#tokens) (1 = uniform). Signal mass ratio: the attention "
    "weight on the signal tokens (mean over heads and latents) / the share "
    "of signal tokens (1 = what uniform attention gives).", ""]


def _wall_text(runs: Sequence[dict]) -> str:
  if not runs:
    return "Sweep wall time not recorded (no finished sweep invocation)."
  wall = sum(r.get("seconds", 0.0) for r in runs)
  loads = ", ".join(f"{r['load_avg_start']:.1f} -> {r['load_avg_end']:.1f}"
                    for r in runs if r.get("load_avg_start") is not None)
  return (f"Recorded sweep invocations (sweep.jsonl): {wall / 60:.1f} min "
          f"in {len(runs)}; 1-min load average at start -> end {loads} on "
          f"{runs[0].get('cpus')} cores shared with other work (an "
          "invocation stopped before its end is not recorded; the programs' "
          "train + eval time counts every program).")


def program_minutes(cells: Sequence[dict]) -> float:
  """Train + eval time summed over the cells' programs (from results.json;
  counts every program, whichever sweep invocation ran it)."""
  seen = {}
  for c in cells:
    r = c["results"]
    if r.get("program") is not None:
      seen[r["program"]] = (r.get("program_seconds") or 0.0) + (
          r.get("eval_seconds") or 0.0)
  return sum(seen.values()) / 60


def setup(cells: Sequence[dict], meta: dict) -> list[str]:
  perceivers = [c for c in cells if fl.level(c, "head") == "perceiver"]
  cfg = (perceivers or cells)[0]["config"]
  model, info = cfg["model"], (perceivers or cells)[0].get("data", {})
  seeds = sorted({len(st.seeds(c)) for c in cells})
  budgets = sorted({(c["config"]["num_train_steps"],
                     c["config"]["batch_size"]) for c in cells})
  n = info.get("num_train_items") or 1
  return [
      "## Setup", "",
      f"- Data: planted, {info.get('num_train_items', 0):,} training / "
      f"{info.get('num_test_items', 0):,} test items, "
      f"{info.get('num_tokens')} tokens of dim {info.get('token_dim')} "
      f"(lengths {info.get('num_tokens', 0) // 2}–{info.get('num_tokens')})"
      f", code dim {info.get('code_dim')}, target dim "
      f"{info.get('target_dim')}.",
      f"- Perceiver: {model.get('num_latents')} latents, width "
      f"{model.get('width')}, depth {model.get('depth')} (cross-attention + "
      f"{model.get('self_per_cross')} self-attention block), "
      f"{model.get('num_heads')} heads; MRL dim {cfg['mrl']['dim']} "
      f"(prefixes {list(cfg['mrl']['prefixes'])}); learnable temperature "
      f"(init {cfg['temperature']['init_temperature']}, logit scale clipped"
      f" at {cfg['temperature']['max_logit_scale']}); AdamW (weight decay "
      f"{cfg['optimizer']['weight_decay']}, 5% warmup, cosine to "
      f"{cfg['optimizer']['end_lr_fraction']} x lr), gradient clip "
      f"{cfg['optimizer']['grad_clip']}.",
      "- Budgets (steps at batch = epochs): " + ", ".join(
          f"{s} at {b} = {s * b / n:.1f}" for s, b in budgets) + "; seeds "
      "per cell: " + "/".join(str(s) for s in seeds) + ".",
      f"- {len(cells)} cells. Programs' train + eval time summed: "
      f"{program_minutes(cells):.1f} min. " + _wall_text(meta.get("runs", [])),
      ""]


def reproduce(meta: dict) -> list[str]:
  runs = meta.get("runs") or [{}]
  run = runs[0]
  config = run.get("config") or "configs/perceiver_ablation.py"
  if run.get("arg"):
    config += f":{run['arg']}"
  sweep = f"python -m embtrans.sweep --config={config} --workdir=W"
  if run.get("only"):
    sweep += f" --only='{run['only']}'"
  rep = "python -m embtrans.report W"
  if meta.get("out"):
    rep += f" --out={meta['out']}"
  return ["Reproduce (CPU; wall time as above):", "", "```", sweep, rep,
          "```", ""]


def references_table(cells: Sequence[dict]) -> list[str]:
  rows = ["| data | mean pool + ridge i2t R@1 (%) | oracle i2t R@1 (%) | "
          "mean pool + ridge t2i R@1 (%) | oracle t2i R@1 (%) |",
          "|---|---:|---:|---:|---:|"]
  seen = set()
  for c in cells:
    f = fl.level(c, "fraction")
    if f in seen:
      continue
    seen.add(f)
    label = "one signal token" if not f else f"signal fraction {f:g}"
    vals = [100 * st.reference(c, n, k) for k in (st.R1, "t2i/recall@1")
            for n in (st.ZERO, st.ONE)]
    rows.append(f"| {label} | " + " | ".join(f"{v:.1f}" for v in (
        vals[0], vals[1], vals[2], vals[3])) + " |")
  return ["## Closed-form references (same test split)", ""] + rows + [""]


def _section(title: str, intro: str, table: str, sentences: list[str]
             ) -> list[str]:
  out = [f"## {title}", ""]
  if intro:
    out += [intro, ""]
  return out + [table, ""] + [f"- {s}" for s in sentences] + [""]


def budget(cells: Sequence[dict], meta: dict) -> list[str]:
  """What this run holds, per part (read from the cells)."""
  rows = ["| part | cells | seeds per cell | latent stds | lrs | LN on "
          "latents | batch x steps |", "|---|---:|---|---|---|---|---|"]
  for name in ("main", "control", "batch", "fraction", "faults"):
    sel = fl.of_part(cells, name)
    if not sel:
      continue

    def levels(key, sel=sel):
      found = {fl.level(c, key) for c in sel} - {None}
      return "/".join(fl.fmt(v) for v in sorted(found, key=str)) or "—"
    rows.append(f"| {name} | {len(sel)} | "
                f"{'/'.join(str(n) for n in sorted({len(st.seeds(c)) for c in sel}))}"
                f" | {levels('std')} | {levels('lr')} | {levels('ln')} | "
                + ", ".join(f"{b} x {s}" for b, s in sorted({(
                    fl.level(c, "batch"), fl.level(c, "steps"))
                    for c in sel})) + " |")
  members = sum(len(st.seeds(c)) for c in cells)
  pairs = sum(len(st.seeds(c)) * c["config"]["num_train_steps"] *
              c["config"]["batch_size"] for c in cells)
  return ["## Budget", "", "\n".join(rows), "",
          f"- {len(cells)} cells, {members} trained members, {pairs:,} "
          "training pairs seen in all. "
          + _wall_text(meta.get("runs", [])), ""]


_CUT = [
    "## Cut for the CPU budget (and what a GPU run would add)", "",
    "- Model and data at the `small` size only (64 latents of width 32, no "
    "self-attention block; 16 planted tokens of dim 64); `size=full` (the "
    "ViT-L/14 shape, 257 tokens of dim 1024) and a real-token data set "
    "(pydocs, COCO) are not run here.",
    "- Each part holds only the levels in the Budget table above (fewer "
    "seeds, inits, lrs and steps outside the main part).",
    "- A GPU run would add: every part at all four latent stds and both "
    "LN settings with >= 5 seeds, more fraction levels, longer budgets "
    "(does the small-std plateau end, and when), the full-size model on "
    "real tokens, and a true multi-device gathered batch for the fault "
    "table.", ""]


def findings(cells: Sequence[dict]) -> list[str]:
  """The headline sentences (each also stands under its table below)."""
  lines = [s for s in fl.init_findings(cells) if s.startswith("lr 0.0002")]
  mech = fl.mechanism_table(cells)[1]
  lines += mech
  lines += fl.threshold_table(cells)[1][:1]
  lines += fl.batch_table(cells)[1] + fl.fraction_table(cells)[1]
  fault_cells = fl.of_part(cells, "faults")
  if fault_cells:
    lines += faults.table(fault_cells)[1]
  return ["## Findings (computed; details under each table below)", ""] + [
      f"- {s}" for s in lines] + [""]


def readme(cells: Sequence[dict], meta: dict) -> str:
  """The report's Markdown."""
  lines = [f"# {meta.get('title', 'Perceiver latent-init ablation')}", "",
           "Generated by `python -m embtrans.report` from the sweep workdir "
           "(`python -m embtrans.sweep`); every number and every sentence "
           "under a table is computed from that run.", ""]
  lines += setup(cells, meta) + reproduce(meta) + _DEFINITIONS
  lines += references_table(cells) + findings(cells)
  lines += _section("Scaled scores (batch 64; controls)", "",
                    fl.main_table(cells), [])
  table, _ = fl.paired_table(cells)
  lines += _section("Paired comparisons across seeds", "", table,
                    fl.init_findings(cells))
  lines += _section("Latent std x LN on latents x lr (scaled score [95% "
                    "CI])", "", *fl.std_table(cells))
  lines += _section("Plateau threshold, swept", "",
                    *fl.threshold_table(cells))
  lines += _section("Attention over training (lr 2e-4, batch 64)", "",
                    *fl.mechanism_table(cells))
  lines += _section("Batch 64 vs 128: equal examples and equal updates "
                    "(scaled score [95% CI])", "", *fl.batch_table(cells))
  lines += _section("Share of signal tokens (LN off, lr 2e-4, batch 64)",
                    "", *fl.fraction_table(cells))
  fault_cells = fl.of_part(cells, "faults")
  if fault_cells:
    lines += _section(
        "Fault injection", f"The seed report's symptom: a flat loss of "
        f"{faults.SEED_LOSS} at batch {faults.SEED_BATCH} with chance "
        f"retrieval. 'flat': over the second half of the run, (max − min) / "
        f"mean of the logged loss <= {faults.FLAT_SPREAD}; the logged loss is what a script with the fault"
        " prints (`train/loss_logged`).", *faults.table(fault_cells))
  lines += budget(cells, meta) + _CUT
  lines += ["## Curves (mean over seeds)", ""]
  for name in meta.get("figures", ()):
    lines += [f"![{name[:-4]}]({name})", ""]
  return "\n".join(lines)
