"""The report of an ablation: a sweep of `align` cells -> table, curves,
findings (`ablation_findings`).

  python -m embtrans.sweep --config=configs/perceiver_ablation.py --workdir=W
  python -m embtrans.report W [--out=docs/results/perceiver_ablation]

`python -m embtrans.report` sends a sweep workdir whose cells are task
`align` here (`report/dispatch.py`). Writes <out>/README.md (the table: final
loss next to ln(batch), R@1/5/10 in both directions, R@1 at each MRL prefix,
mean +- std over seeds; the closed-form references; findings computed from the
numbers) and the curves loss.png, entropy.png (cross-attention entropy),
diagnostics.png (cosine between the output latents) and grad_latents.png.
Default out: W/report. Reports already written into subdirectories of <out>
are linked as supplementary runs.
"""

from __future__ import annotations

import math
import pathlib
from typing import Any, Sequence

import numpy as np

from embtrans.report import ablation_findings as findings_lib
from embtrans.report import io
from embtrans.report import tables

TITLE = "Perceiver latent-init ablation"
FIGURES = ("loss.png", "entropy.png", "diagnostics.png", "grad_latents.png")
METRICS = ("i2t/recall@1", "i2t/recall@5", "i2t/recall@10", "t2i/recall@1",
           "t2i/recall@5", "t2i/recall@10")


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
  """Perceiver before attention pool; then batch, lr, LN, init."""
  f = cell["factors"]
  inits = ("correct", "std", "bug")
  init = f.get("latent_init", "correct")
  return (f.get("head") == "attention_pool", f.get("batch", 0),
          f.get("lr", 0.0), not f.get("latent_ln", True),
          inits.index(init) if init in inits else len(inits), cell["name"])


def _pm(results: dict, key: str, scale: float = 100.0, digits: int = 1
        ) -> str:
  if key not in results:
    return "—"
  mean, std = results[key] * scale, results.get(f"{key}/std", 0.0) * scale
  return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _label(cell: dict) -> list[str]:
  f = cell["factors"]
  if f.get("head") == "attention_pool":
    return ["attention pool", "—", f"{f['lr']:g}", "—", str(f["batch"])]
  return ["perceiver", f.get("latent_init", "correct"), f"{f['lr']:g}",
          "on" if f.get("latent_ln", True) else "off", str(f["batch"])]


def table(cells: Sequence[dict]) -> str:
  """The Markdown table (recalls in %, mean ± std over seeds)."""
  prefixes = cells[0]["config"]["mrl"]["prefixes"]
  head = (["head", "latent init", "lr", "LN on latents", "batch",
           "final loss", "ln(batch)", "plateaued seeds",
           "steps to leave chance"] +
          [f"{m.replace('/recall@', ' R@')}" for m in METRICS] +
          [f"i2t R@1 @{p}" for p in prefixes])
  body = []
  for cell in cells:
    r = cell["results"]
    row = _label(cell) + [
        _pm(r, "train/final_loss_full", 1.0, 2),
        f"{r['train/final_ln_batch']:.2f}",
        f"{findings_lib.plateaued_seeds(cell)}/{len(cell['curves'])}",
        findings_lib.escape_text(cell)]
    row += [_pm(r, f"test/{m}") for m in METRICS]
    row += [_pm(r, f"test/mrl_{p}/i2t/recall@1") for p in prefixes]
    body.append(row)
  return tables.markdown_table(head, body)


def _mean_curve(cell: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
  runs = [r for r in cell["curves"].values() if r and key in r[0]]
  if not runs:
    return np.zeros(0), np.zeros(0)
  n = min(len(r) for r in runs)
  steps = np.array([row["step"] for row in runs[0][:n]])
  values = np.array([[row[key] for row in r[:n]] for r in runs])
  return steps, np.nanmean(values, axis=0)


def plot(cells: Sequence[dict], key: str, ylabel: str, path: pathlib.Path,
         chance: bool = False, log: bool = False) -> None:
  """One panel per (batch, lr); a line per init x LN (mean over seeds)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  panels = sorted({(c["factors"]["batch"], c["factors"]["lr"])
                   for c in cells})
  fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4),
                           squeeze=False, sharey=True)
  colors = {"correct": "tab:green", "std": "tab:orange", "bug": "tab:red",
            "pool": "tab:blue"}
  for ax, (batch, lr) in zip(axes[0], panels):
    for cell in cells:
      f = cell["factors"]
      if (f["batch"], f["lr"]) != (batch, lr):
        continue
      steps, values = _mean_curve(cell, key)
      if not len(steps):
        continue
      pool = f.get("head") == "attention_pool"
      init = "pool" if pool else f.get("latent_init", "correct")
      ln = f.get("latent_ln", True)
      ax.plot(steps, values, color=colors.get(init, "k"),
              ls="-" if ln else "--", lw=1.4,
              label="attention pool" if pool else
              f"{init}, LN {'on' if ln else 'off'}")
    if chance:
      real = [c["config"]["batch_size"] for c in cells
              if c["factors"]["batch"] == batch][0]
      ax.axhline(np.log(real), color="gray", lw=0.8, ls=":",
                 label="ln(batch)")
    if log:
      ax.set_yscale("log")
    ax.set_title(f"batch {batch}, lr {lr:g}", fontsize=10)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel(ylabel)
  axes[0][-1].legend(fontsize=7, loc="best")
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def _supplements(out_dir: pathlib.Path) -> list[tuple[str, str]]:
  """(subdir, title) of reports written into subdirectories of `out_dir`."""
  found = []
  for readme in sorted(out_dir.glob("*/README.md")):
    title = readme.read_text().splitlines()[0].lstrip("# ").strip()
    found.append((readme.parent.name, title))
  return found


def references(cells: Sequence[dict]) -> list[dict[str, Any]]:
  """[{'method': name, 'i2t/recall@1': ...}] from the cells' results
  (`reference_<name>/<score>`; every cell of one data set has the same)."""
  found: dict[str, dict[str, Any]] = {}
  for key, value in cells[0]["results"].items():
    name, sep, score = key.partition("/")
    if sep and name.startswith("reference_"):
      found.setdefault(name.removeprefix("reference_"), {})[score] = value
  return [{"method": name, **scores} for name, scores in found.items()]


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
  perceivers = [c for c in cells
                if c["factors"].get("head") != "attention_pool"]
  plot(cells, "train/loss_full", "InfoNCE (full dim)", out_dir / "loss.png",
       chance=True)
  plot(perceivers or cells, "train/entropy/cross_attn_0",
       "cross-attention entropy (1 = uniform)", out_dir / "entropy.png")
  plot(perceivers or cells, "train/latent_cosine/output",
       "cosine between output latents", out_dir / "diagnostics.png")
  plot(cells, "train/grad_norm/latents", "gradient norm of the latents",
       out_dir / "grad_latents.png", log=True)
  runs = [dict(r, config=_shown_path(r.get("config", ""), "configs"))
          for r in io.sweep_runs(root)]
  meta = {"runs": runs, "references": references(cells),
          "title": title or default_title(runs),
          "supplements": _supplements(out_dir),
          "out": _shown_path(str(out), "docs") if out else ""}
  text = findings_lib.readme(cells, table(cells), meta)
  (out_dir / "README.md").write_text(text, encoding="utf-8")
  return out_dir
