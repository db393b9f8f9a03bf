"""The report of the Perceiver ablation: a sweep of `align` cells -> tables,
curves and findings (`ablation_readme`, `ablation_findings`,
`ablation_faults`).

  python -m embtrans.sweep --config=configs/perceiver_ablation.py --workdir=W
  python -m embtrans.report W [--out=docs/results/perceiver_ablation]

`python -m embtrans.report` sends a sweep workdir whose cells are task
`align` here (`report/dispatch.py`). Writes <out>/README.md and the curves
loss.png (full-dim InfoNCE), entropy.png (cross-attention entropy),
signal_mass.png (attention on the signal tokens / uniform) of the batch-64
cells, and faults.png (the logged loss of each injected fault). Default out:
W/report.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any, Sequence

from embtrans.report import ablation_faults
from embtrans.report import ablation_findings as fl
from embtrans.report import ablation_readme
from embtrans.report import io

TITLE = "Perceiver latent-init ablation"
FIGURES = ("loss.png", "entropy.png", "signal_mass.png", "faults.png")


def _number(v: Any) -> Any:
  """results.json holds null for a non-finite score: read it as NaN."""
  return math.nan if v is None else v


def _by_step(rows: Sequence[dict]) -> list[dict]:
  """One row per step, in step order; a step logged twice (a program rerun
  after an interruption appends its rows again) keeps its last row."""
  return sorted({int(r["step"]): r for r in rows}.values(),
                key=lambda r: r["step"])


def load_cells(workdir: pathlib.Path) -> list[dict[str, Any]]:
  """One dict per finished cell (`io.read_cell`) plus its per-seed curves:
  `curves[seed_<s>]` = the rows of that member's metrics.jsonl."""
  cells = []
  for cell in io.read_cells(pathlib.Path(workdir)):
    cell["results"] = {k: _number(v) for k, v in cell["results"].items()}
    cell["curves"] = {p.name: _by_step(io.read_jsonl(p / "metrics.jsonl"))
                      for p in io.seed_dirs(cell["dir"])}
    cells.append(cell)
  return sorted(cells, key=_order)


def _order(cell: dict) -> tuple:
  """By part; then LN (off first), lr, latent std, batch, steps."""
  parts = ("main", "control", "batch", "fraction", "faults")
  return (parts.index(fl.part(cell)), fl.level(cell, "head") != "perceiver",
          bool(fl.level(cell, "uniform")), bool(fl.level(cell, "ln")),
          fl.level(cell, "lr") or 0.0, fl.level(cell, "std") or 0.0,
          fl.level(cell, "batch"), fl.level(cell, "steps"),
          float(fl.level(cell, "fraction") or 0.0), cell["name"])


COLORS = {0.02: "tab:red", 0.1: "tab:orange", 0.3: "tab:olive",
          1.0: "tab:green"}


def _panels(cells: Sequence[dict], key: str, ratio_to: str | None = None
            ) -> list[tuple[str, list]]:
  """Batch-64 main cells + the uniform control: a panel per (lr, LN), a
  line per latent std (mean over seeds)."""
  sel = [c for c in fl.of_part(cells, "main") + fl.of_part(cells, "control")
         if fl.level(c, "head") == "perceiver"]
  panels = []
  for lr in fl.LRS:
    for ln in (False, True):
      lines = []
      for c in sel:
        uniform = bool(fl.level(c, "uniform"))
        if fl.level(c, "lr") != lr or (not uniform and
                                       fl.level(c, "ln") != ln):
          continue
        steps, values = fl.curve(c, key)
        if ratio_to and len(steps):
          values = values / fl.curve(c, ratio_to)[1]
        std = float(fl.level(c, "std"))
        label = "uniform attention" if uniform else f"latent std {std:g}"
        lines.append((label, steps, values,
                      "k" if uniform else COLORS.get(std, "tab:blue"),
                      ":" if uniform else "-"))
      if lines:
        panels.append((f"lr {lr:g}, LN on latents {fl.fmt(ln)}", lines))
  return panels


def _fault_panels(cells: Sequence[dict]) -> list[tuple[str, list]]:
  sel = fl.of_part(cells, "faults")
  lines = []
  for i, c in enumerate(sel):
    steps, values = fl.curve(c, ablation_faults.LOGGED)
    lines.append((ablation_faults.fault_name(c), steps, values,
                  f"C{i % 10}", "-" if i < 10 else "--"))
  return [("logged loss per fault (seed's level dashed)", lines)] if lines else []


def plot(panels: Sequence[tuple[str, list]], ylabel: str, path: pathlib.Path,
         hline: float | None = None, log: bool = False) -> None:
  """One axis per (title, [(label, steps, values, color, style)])."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  n = max(1, len(panels))
  fig, axes = plt.subplots(1, n, figsize=(4.2 * n + (3 if n == 1 else 0),
                                          3.4), squeeze=False, sharey=True)
  for ax, (title, lines) in zip(axes[0], panels):
    for label, steps, values, color, style in lines:
      if len(steps):
        ax.plot(steps, values, color=color, ls=style, lw=1.4, label=label)
    if hline is not None:
      ax.axhline(hline, color="gray", lw=0.8, ls="--")
    if log:
      ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel(ylabel)
  if not axes[0][-1].get_legend_handles_labels()[0]:
    pass  # Nothing plotted (e.g. a sweep without fault cells).
  elif n == 1:
    axes[0][0].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01,
                                                                     0.5))
  else:
    axes[0][-1].legend(fontsize=6, loc="best")
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def _shown_path(path: str, anchor: str) -> str:
  """`path` without this machine's directories: from `anchor` on, or its
  last component (reports are committed)."""
  parts = pathlib.PurePath(path).parts
  if not pathlib.PurePath(path).is_absolute():
    return path
  if anchor in parts:
    return str(pathlib.PurePath(*parts[parts.index(anchor):]))
  return parts[-1] if parts else path


def default_title(runs: Sequence[dict]) -> str:
  """TITLE; a supplement (a config arg or a cell filter) says which."""
  run = runs[0] if runs else {}
  extra = [f"at `:{run['arg']}`"] if run.get("arg") else []
  if run.get("only"):
    extra.append(f"cells matching `{run['only']}`")
  if not extra:
    return TITLE
  return f"Supplement: the {TITLE[0].lower()}{TITLE[1:]} {', '.join(extra)}"


def write_report(workdir: str | pathlib.Path, out: str | None = None,
                 title: str | None = None) -> pathlib.Path:
  """Writes README.md and FIGURES; returns the output directory."""
  root = pathlib.Path(workdir)
  out_dir = pathlib.Path(out) if out else root / "report"
  out_dir.mkdir(parents=True, exist_ok=True)
  cells = load_cells(root)
  plot(_panels(cells, "train/loss_full"), "InfoNCE (full dim)",
       out_dir / "loss.png", hline=math.log(64))
  plot(_panels(cells, fl.ENTROPY), "cross-attention entropy (1 = uniform)",
       out_dir / "entropy.png")
  plot(_panels(cells, fl.MASS, fl.MASS_UNIFORM),
       "attention on signal tokens / uniform", out_dir / "signal_mass.png")
  plot(_fault_panels(cells), "logged loss", out_dir / "faults.png",
       hline=ablation_faults.SEED_LOSS, log=True)
  runs = [dict(r, config=_shown_path(r.get("config", ""), "configs"))
          for r in io.sweep_runs(root)]
  meta = {"runs": runs, "title": title or default_title(runs),
          "figures": FIGURES,
          "out": _shown_path(str(out), "docs") if out else ""}
  text = ablation_readme.readme(cells, meta)
  (out_dir / "README.md").write_text(text, encoding="utf-8")
  return out_dir
