"""Findings of the init ablation, computed from its own numbers.

A seed run *plateaus* when its final full-dim InfoNCE (mean of the last log
window) is at least PLATEAU_FRACTION x ln(batch): the loss never left the
chance level of a symmetric InfoNCE. The statements below are generated from
the cells' results, so a rerun with other numbers rewrites them.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

PLATEAU_FRACTION = 0.9
FACTORS = (("latent_init", "latent init"), ("lr", "lr"),
           ("latent_ln", "LN on latents"), ("batch", "batch"))


def _seeds(cell: dict) -> list[str]:
  return sorted(cell["curves"]) or ["seed_0"]


def _seed_value(cell: dict, seed: str, key: str) -> float:
  r = cell["results"]
  return float(r.get(f"{seed}/{key}", r.get(key, np.nan)))


def seed_losses(cell: dict) -> np.ndarray:
  return np.array([_seed_value(cell, s, "train/final_loss_full")
                   for s in _seeds(cell)])


def seed_recalls(cell: dict, key: str = "test/i2t/recall@1") -> np.ndarray:
  return np.array([_seed_value(cell, s, key) for s in _seeds(cell)])


def chance_loss(cell: dict) -> float:
  return math.log(cell["config"]["batch_size"])


def plateaued_seeds(cell: dict) -> int:
  """Seeds whose final loss is >= PLATEAU_FRACTION ln(batch), or NaN."""
  losses = seed_losses(cell)
  return int(np.sum(~(losses < PLATEAU_FRACTION * chance_loss(cell))))


def escape_steps(cell: dict) -> np.ndarray:
  """Per seed: first logged step with loss < PLATEAU_FRACTION ln(batch).

  NaN for a seed that never got there (a plateau within the budget).
  """
  bar = PLATEAU_FRACTION * chance_loss(cell)
  out = []
  for seed in _seeds(cell):
    rows = cell["curves"].get(seed, [])
    hit = [r["step"] for r in rows if r.get("train/loss_full", np.inf) < bar]
    out.append(float(hit[0]) if hit else np.nan)
  return np.array(out)


def escape_text(cell: dict) -> str:
  steps = escape_steps(cell)
  done = steps[np.isfinite(steps)]
  if not len(done):
    return "never"
  text = f"{np.mean(done):.0f}"
  return text + (f" ({len(steps) - len(done)} never)" if len(done) < len(
      steps) else "")


def _level(cell: dict, factor: str) -> Any:
  defaults = {"latent_init": "correct", "latent_ln": True}
  return cell["factors"].get(factor, defaults.get(factor))


def _fmt(v: Any) -> str:
  if isinstance(v, bool):
    return "on" if v else "off"
  return f"{v:g}" if isinstance(v, float) else str(v)


def factor_table(cells: Sequence[dict]) -> tuple[str, dict]:
  """Per factor level: plateaued seeds, mean i2t R@1, mean loss / ln B."""
  rows = ["| factor | level | plateaued seeds | mean i2t R@1 (%) | "
          "mean final loss / ln(batch) |", "|---|---|---|---|---|"]
  stats: dict = {}
  for key, label in FACTORS:
    for level in sorted({_level(c, key) for c in cells}, key=str):
      sel = [c for c in cells if _level(c, key) == level]
      plateau = sum(plateaued_seeds(c) for c in sel)
      runs = sum(len(_seeds(c)) for c in sel)
      r1 = np.nanmean(np.concatenate([seed_recalls(c) for c in sel]))
      rel = np.nanmean(np.concatenate([seed_losses(c) / chance_loss(c)
                                       for c in sel]))
      stats[(key, level)] = (plateau, runs, r1)
      rows.append(f"| {label} | {_fmt(level)} | {plateau}/{runs} | "
                  f"{100 * r1:.1f} | {rel:.2f} |")
  return "\n".join(rows), stats


def _shared_levels(plateaued: Sequence[dict]) -> list[tuple[str, Any]]:
  """(factor, level) pairs that every plateaued cell has."""
  out = []
  for key, _ in FACTORS:
    levels = {_level(c, key) for c in plateaued}
    if len(levels) == 1:
      out.append((key, levels.pop()))
  return out


def _budget_note(cells: Sequence[dict]) -> list[str]:
  steps = {c["config"]["batch_size"]: c["config"]["num_train_steps"]
           for c in cells}
  if len(set(steps.values())) < 2:
    return []
  return ["Batch and steps are tied here (" + ", ".join(
      f"batch {b}: {n} steps" for b, n in sorted(steps.items())) + "; every "
          "cell saw the same number of training pairs), so 'batch' below "
          "also means 'number of updates'."]


def _neighbour(cells: Sequence[dict], cell: dict, key: str
               ) -> list[dict]:
  """Cells equal to `cell` in every factor but `key`."""
  others = [k for k, _ in FACTORS if k != key]
  return [c for c in cells if c is not cell and all(
      _level(c, k) == _level(cell, k) for k in others)]


def _counterfactuals(cells: Sequence[dict], plateaued: Sequence[dict]
                     ) -> list[str]:
  """For each factor: does changing only it remove the plateau?"""
  labels = dict(FACTORS)
  out = []
  for key, _ in FACTORS:
    pairs = [(c, n) for c in plateaued for n in _neighbour(cells, c, key)]
    if not pairs:
      continue
    cured = [n for _, n in pairs if not plateaued_seeds(n)]
    levels = sorted({_fmt(_level(n, key)) for _, n in pairs})
    if len(cured) == len(pairs):
      verb = "removes the plateau in every case"
    elif not cured:
      verb = "never removes it (those cells plateau too)"
    else:
      verb = f"removes it in {len(cured)} of {len(pairs)} cases"
    out.append(f"changing only {labels[key]} (to {'/'.join(levels)}) {verb}")
  return out


def _which_factor(cells: Sequence[dict], stats: dict) -> list[str]:
  plateaued = [c for c in cells if plateaued_seeds(c)]
  total = sum(plateaued_seeds(c) for c in cells)
  runs = sum(len(_seeds(c)) for c in cells)
  if not plateaued:
    return [f"No Perceiver seed run plateaued: every one of the {runs} runs "
            f"ended below {PLATEAU_FRACTION} x ln(batch). Within this grid "
            "no factor makes the Perceiver plateau."]
  out = [f"{total} of {runs} Perceiver seed runs plateaued (final loss >= "
         f"{PLATEAU_FRACTION} x ln(batch)), in {len(plateaued)} cells: "
         + ", ".join(c["name"] for c in plateaued) + "."]
  shared = _shared_levels(plateaued)
  labels = dict(FACTORS)
  if shared:
    out.append("Every plateaued run has " + ", ".join(
        f"{labels[k]} = {_fmt(v)} ({stats[(k, v)][0]}/{stats[(k, v)][1]} "
        "runs at that level plateaued)" for k, v in shared) + ".")
  else:
    out.append("No single factor level is shared by all plateaued runs.")
  flips = _counterfactuals(cells, plateaued)
  if flips:
    out.append("Starting from a plateaued cell, " + "; ".join(flips) + ".")
  return out


def _std_alone(cells: Sequence[dict]) -> list[str]:
  """Does init std 0.02 by itself (the baseline's lr 2e-4) plateau?"""
  out = []
  for ln in (True, False):
    base = [c for c in cells if _level(c, "lr") == 2e-4 and
            _level(c, "latent_ln") == ln]
    by_init = {i: [c for c in base if _level(c, "latent_init") == i]
               for i in ("correct", "std", "bug")}
    if not by_init["std"] or not by_init["correct"]:
      continue
    parts = []
    for init, sel in by_init.items():
      if not sel:
        continue
      p = sum(plateaued_seeds(c) for c in sel)
      n = sum(len(_seeds(c)) for c in sel)
      r1 = 100 * np.nanmean(np.concatenate([seed_recalls(c) for c in sel]))
      parts.append(f"{init}: {p}/{n} plateaued, i2t R@1 {r1:.1f}%")
    small = [c for c in base if _level(c, "latent_init") in ("std", "bug")]
    p_small = sum(plateaued_seeds(c) for c in small)
    n_small = sum(len(_seeds(c)) for c in small)
    p_ref = sum(plateaued_seeds(c) for c in by_init["correct"])
    n_ref = sum(len(_seeds(c)) for c in by_init["correct"])
    if not p_small:
      verdict = "does not make the Perceiver plateau here"
    elif p_ref / n_ref >= p_small / n_small:
      verdict = ("is not what makes it plateau here: the N(0, 1) init "
                 f"plateaus as often ({p_ref}/{n_ref} vs {p_small}/{n_small})")
    else:
      verdict = (f"makes it plateau more often here ({p_small}/{n_small} vs "
                 f"{p_ref}/{n_ref} with N(0, 1))")
    r_small = np.nanmean(np.concatenate([seed_recalls(c) for c in small]))
    r_correct = np.nanmean(np.concatenate([seed_recalls(c)
                                           for c in by_init["correct"]]))
    trend = "higher" if r_small > r_correct else "lower"
    out.append(f"At lr 2e-4 with LN on latents {_fmt(ln)} (all batches): "
               + "; ".join(parts) + f". So std 0.02 by itself {verdict}; "
               f"its mean R@1 is {trend} than with the N(0, 1) init.")
  return out


def _slowest_escape(cells: Sequence[dict]) -> list[str]:
  """Which cells leave the chance level last (as a fraction of their run)."""
  rows = []
  for c in cells:
    steps = escape_steps(c)
    frac = np.where(np.isfinite(steps), steps, np.inf) / c["config"][
        "num_train_steps"]
    rows.append((float(np.mean(frac)), c))
  rows.sort(key=lambda r: r[0])
  slow = [(f, c) for f, c in rows if f > 0.25]
  if not slow:
    return [f"Every Perceiver cell left the chance level within the first "
            f"quarter of its run (loss < {PLATEAU_FRACTION} ln(batch))."]
  names = ", ".join(f"{c['name']} ({escape_text(c)} of "
                    f"{c['config']['num_train_steps']} steps)"
                    for _, c in slow[-6:][::-1])
  shared = _shared_levels([c for _, c in slow])
  labels = dict(FACTORS)
  common = ("; all of them have " + ", ".join(
      f"{labels[k]} = {_fmt(v)}" for k, v in shared)) if shared else ""
  return [f"Slowest to leave the chance level (mean first step with loss < "
          f"{PLATEAU_FRACTION} ln(batch)): {names}{common}."]


def _seed_setting(cells: Sequence[dict]) -> list[str]:
  """The seed report's Perceiver: bug init, lr 2e-3, batch 64."""
  out = []
  for c in cells:
    f = c["factors"]
    if (_level(c, "latent_init"), f.get("lr"), f.get("batch")) != (
        "bug", 2e-3, 64):
      continue
    r1 = 100 * np.nanmean(seed_recalls(c))
    out.append(f"The seed's Perceiver setting (bug init, lr 2e-3, batch 64) "
               f"with LN on latents {_fmt(_level(c, 'latent_ln'))}: final "
               f"loss {np.nanmean(seed_losses(c)):.2f} vs ln(64) = "
               f"{math.log(64):.2f}, i2t R@1 {r1:.1f}%, "
               f"{plateaued_seeds(c)}/{len(_seeds(c))} seeds plateaued.")
  return out


def _seed_numbers(cells: Sequence[dict]) -> str:
  """What the seed report's loss of 6.0 at batch 64 says, next to ours."""
  excess = [r[0]["train/loss_full"] - chance_loss(c) for c in cells
            for r in c["curves"].values() if r]
  peak = [max(row["train/loss_full"] for row in r) - chance_loss(c)
          for c in cells for r in c["curves"].values() if r]
  return (
      "Reading the seed report's own numbers: its Perceiver trained at batch "
      f"64, where chance for symmetric InfoNCE is ln(64) = {math.log(64):.2f},"
      f" yet its loss sat at 6.0-6.06 (ln(403) = {math.log(403):.2f}). "
      "Uninformative embeddings give exactly ln(batch) (every logit ties); "
      "above it the similarities are confidently wrong. Here the first "
      f"logged loss was at most {max(excess):+.2f} from ln(batch) (random "
      f"projections at the initial temperature) and no run ever exceeded "
      f"ln(batch) by more than {max(peak):.2f}; a loss 1.9 above chance "
      "for a whole run is not what vanishing gradients through uniform "
      "attention look like (uniform attention still passes the mean of the "
      "tokens on). It suggests a cause elsewhere (for example mismatched "
      "pairs, or a collapsed output with a large logit scale): a hypothesis "
      "this ablation does not test.")


def _latent_grads(cells: Sequence[dict]) -> list[str]:
  """Gradient norm of the latents at the first log step, by init and LN."""
  key = "train/grad_norm/latents"
  parts = []
  for ln in (True, False):
    values = []
    for init in ("correct", "std", "bug"):
      firsts = [r[0][key] for c in cells
                if (_level(c, "latent_init"), _level(c, "latent_ln")) == (
                    init, ln)
                for r in c["curves"].values() if r and key in r[0]]
      if firsts:
        values.append(f"{init} {np.mean(firsts):.3g}")
    if values:
      parts.append(f"LN on latents {_fmt(ln)}: " + ", ".join(values))
  if not parts:
    return []
  return ["Gradient norm of the latents at the first log step (mean over "
          "cells and seeds): " + "; ".join(parts) + ". Vanishing latent "
          "gradients would show as std/bug far below correct."]


def _versus_references(cells: Sequence[dict]) -> list[str]:
  """Where the trained cells stand against the closed-form references."""
  r = cells[0]["results"]
  key = "i2t/recall@1"
  pooled = r.get(f"reference_mean_pool_ridge/{key}")
  if pooled is None or not np.isfinite(pooled):
    return []
  means = [(float(c["results"].get(f"test/{key}", np.nan)), c["name"])
           for c in cells]
  done = [m for m in means if np.isfinite(m[0])]
  if not done:
    return []
  above = sum(m > pooled for m, _ in done)
  best, name = max(done)
  text = (f"Against the closed-form references (i2t R@1): {above} of "
          f"{len(means)} cells beat mean pooling + ridge "
          f"({100 * pooled:.1f}%); the best cell, {name}, reaches "
          f"{100 * best:.1f}%")
  oracle = r.get(f"reference_planted_oracle/{key}")
  if oracle is not None and np.isfinite(oracle):
    text += f", the planted oracle {100 * oracle:.1f}%"
  return [text + "."]


def _mrl(cells: Sequence[dict]) -> list[str]:
  prefixes = cells[0]["config"]["mrl"]["prefixes"]
  full, eighth = max(prefixes), min(prefixes)
  out = []
  for head in ("perceiver", "attention_pool"):
    sel = [c for c in cells if c["factors"].get("head", "perceiver") == head
           and not plateaued_seeds(c)]
    if not sel:
      continue
    r_full = np.array([c["results"].get(f"test/mrl_{full}/i2t/recall@1",
                                        np.nan) for c in sel])
    r_8 = np.array([c["results"].get(f"test/mrl_{eighth}/i2t/recall@1",
                                     np.nan) for c in sel])
    out.append(f"{head} (cells that did not plateau, n={len(sel)}): i2t "
               f"R@1 at dim {eighth} (1/8) is {100 * np.nanmean(r_8):.1f}% vs"
               f" {100 * np.nanmean(r_full):.1f}% at the full {full} dims "
               f"(ratio {np.nanmean(r_8) / max(np.nanmean(r_full), 1e-9):.2f}"
               ").")
  return out


def _entropy(cells: Sequence[dict]) -> list[str]:
  rows = []
  for c in cells:
    runs = [r for r in c["curves"].values() if r]
    key = "train/entropy/cross_attn_0"
    if not runs or key not in runs[0][-1]:
      continue
    rows.append((c["name"], np.nanmean([r[-1][key] for r in runs]),
                 np.nanmean([r[0][key] for r in runs])))
  if not rows:
    return []
  lo = min(rows, key=lambda r: r[1])
  hi = max(rows, key=lambda r: r[1])
  return [f"Cross-attention entropy (1 = uniform) at the end ranges from "
          f"{lo[1]:.2f} ({lo[0]}) to {hi[1]:.2f} ({hi[0]}); at the first log"
          f" step it was {np.mean([r[2] for r in rows]):.2f} on average."]


def _perceivers(cells: Sequence[dict]) -> list[dict]:
  return [c for c in cells
          if c["factors"].get("head", "perceiver") == "perceiver"]


def findings(cells: Sequence[dict]) -> list[str]:
  """The Findings bullets, each computed from the cells' numbers."""
  perceivers = _perceivers(cells)
  _, stats = factor_table(perceivers)
  return (_budget_note(cells) + _which_factor(perceivers, stats) +
          _std_alone(perceivers) + _seed_setting(perceivers) +
          _slowest_escape(perceivers) + _entropy(perceivers) +
          _latent_grads(perceivers) + _mrl(cells) +
          _versus_references(cells))


def readme(cells: Sequence[dict], table_md: str, meta: dict) -> str:
  """The report's Markdown (setup, table, references, findings, curves)."""
  perceivers = _perceivers(cells)
  factor_md, _ = factor_table(perceivers)
  cfg = cells[0]["config"]
  lines = [f"# {meta.get('title', 'Perceiver latent-init ablation')}", "",
           "Generated by `python -m embtrans.report` from the sweep workdir "
           "(`python -m embtrans.sweep`); every number below comes from that "
           "run.", ""]
  lines += _setup(perceivers[0]["config"] if perceivers else cfg, cells,
                 meta)
  data_text = _DATA_TEXT.get(cfg["data"].get("name"),
                            "- Data: token datasets on disk (see Setup).")
  lines += _DESIGN[:4] + [data_text] + _DESIGN[4:] + _reproduce(meta)
  lines += ["## Results (mean ± std over seeds; recalls in %)", "",
            table_md, ""]
  refs = meta.get("references")
  if refs:
    lines += ["## Closed-form references on the same test split", "",
              "| method | i2t R@1 | i2t R@5 | t2i R@1 | t2i R@5 |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['method']} | {100 * r['i2t/recall@1']:.1f} | "
              f"{100 * r['i2t/recall@5']:.1f} | {100 * r['t2i/recall@1']:.1f}"
              f" | {100 * r['t2i/recall@5']:.1f} |" for r in refs]
    lines.append("")
  lines += ["## By factor (Perceiver cells)", "", factor_md, "",
            "## Findings", ""]
  lines += [f"- {f}" for f in findings(cells)]
  lines += ["", _seed_numbers(cells)]
  if meta.get("supplements"):
    lines += ["", "## Supplementary runs", ""]
    lines += [f"- [{title}]({sub}/README.md)"
              for sub, title in meta["supplements"]]
  lines += ["", "## Curves (mean over seeds)", "",
            "![loss](loss.png)", "", "![entropy](entropy.png)", "",
            "![latent cosine](diagnostics.png)", "",
            "![latent gradient norm](grad_latents.png)", ""]
  return "\n".join(lines)


_DESIGN = [
    "## What is compared", "",
    "- Latent init: `correct` = N(0, 1) (open_flamingo / flamingo-pytorch; "
    "unit-scale queries with or without the LayerNorm); `std` = truncated "
    "normal, sigma 0.02 at +-2 sigma (DeepMind's Perceiver); `bug` = the seed "
    "report's code, N(0, 1) overwritten by N(0, 0.02^2).",
    "- LN on latents: the LayerNorm on the latents where they enter the "
    "cross-attention as queries (DeepMind `layer_norm(inputs_q)`, Flamingo "
    "`norm_latents`); the LN on the tokens and the MLP pre-LN stay on.",
    "- Plateau: a seed run whose final full-dim InfoNCE is >= "
    f"{PLATEAU_FRACTION} ln(batch) (chance for symmetric InfoNCE is "
    "ln(batch)). 'Steps to leave chance' is the first logged step with "
    f"loss < {PLATEAU_FRACTION} ln(batch), averaged over the seeds that got "
    "there.", ""]


_DATA_TEXT = {
    "synthetic":
        "- Data: planted tokens whose right answer is known. Each item has a "
        "code u; one token at a random position carries A u plus a marker "
        "direction, the others are distractors A v (fresh v) plus noise; the"
        " target is B u. A head must attend to the marked token; mean "
        "pooling dilutes u among the distractors. The references below bound"
        " what uniform attention (mean pool + ridge) and perfect selection "
        "(oracle) reach on the same test split.",
    "pydocs":
        "- Data: real offline pairs. Item = the body of a standard-library "
        "docstring as all-MiniLM-L6-v2 last-layer token states (<= 64 tokens "
        "x 384); target = the TF-IDF/LSA embedding (256-d, another model) of "
        "the same docstring's summary line; 80/20 split by pair id. The "
        "reference below is mean pooling + ridge (what uniform attention "
        "gives).",
}


def _reproduce(meta: dict) -> list[str]:
  """The commands that made this report (from the sweep's records)."""
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


def _setup(cfg: dict, cells: Sequence[dict], meta: dict) -> list[str]:
  model = cfg["model"]
  runs = meta.get("runs", [])
  seeds = len(_seeds(cells[0]))
  data = {k: v for k, v in cfg["data"].items() if k != "max_device_gib"}
  out = ["## Setup", "",
         f"- Data: `{data}`; " + _data_size(cells),
         f"- Perceiver: {model.get('num_latents')} latents, width "
         f"{model.get('width')}, depth {model.get('depth')} (cross-attention"
         f" + {model.get('self_per_cross')} self-attention block), "
         f"{model.get('num_heads')} heads; MRL dim {cfg['mrl']['dim']} with "
         f"prefixes {cfg['mrl']['prefixes']}; learnable temperature (init "
         f"{cfg['temperature']['init_temperature']}, logit scale clipped at "
         f"{cfg['temperature']['max_logit_scale']}).",
         f"- Steps: " + ", ".join(sorted({
             f"{c['config']['num_train_steps']} at batch "
             f"{c['config']['batch_size']}" for c in cells})) +
         "; AdamW (weight decay "
         f"{cfg['optimizer']['weight_decay']}, 5% warmup, cosine to "
         f"{cfg['optimizer']['end_lr_fraction']} x lr), gradient clip "
         f"{cfg['optimizer']['grad_clip']}; {seeds} seeds per cell trained "
         "as one vmapped program with the other cells of the same shape.",
         f"- {len(cells)} cells. " + _wall_text(runs), ""]
  return out


def _data_size(cells: Sequence[dict]) -> str:
  """'N training items, M test items; S steps at batch B = E epochs ...'."""
  info = cells[0].get("data", {})
  n, m = info.get("num_train_items"), info.get("num_test_items")
  if not n:
    return "sizes not recorded."
  epochs = sorted({(c["config"]["num_train_steps"],
                    c["config"]["batch_size"]) for c in cells})
  return (f"{n:,} training items, {m:,} test items; " + ", ".join(
      f"{s} steps at batch {b} = {s * b / n:.1f} epochs" for s, b in epochs)
          + ".")


def _wall_text(runs: Sequence[dict]) -> str:
  """Wall time and load from the sweep's records (sweep.jsonl)."""
  if not runs:
    return "Sweep wall time not recorded (no finished sweep invocation)."
  wall = sum(r.get("seconds", 0.0) for r in runs)
  loads = ", ".join(f"{r['load_avg_start']:.1f}" for r in runs
                    if r.get("load_avg_start") is not None)
  return (f"Sweep wall time {wall / 60:.1f} min ({len(runs)} invocation(s); "
          f"1-min load average at start {loads} on {runs[0].get('cpus')} "
          "cores shared with other work).")
