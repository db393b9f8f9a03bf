"""Turn an ablation workdir into a table, curves and findings.

  python -m embtrans.alignment.report W [--out=docs/results/perceiver_ablation]
      [--title="..."]

Writes <out>/README.md (the table: final loss next to ln(batch), R@1/5/10 in
both directions, R@1 at each MRL prefix, mean +- std over seeds; the
references; findings computed from the numbers) and the curves loss.png,
entropy.png (cross-attention entropy), diagnostics.png (cosine between the
output latents) and grad_latents.png. Default out: W/report. Reports already
written into subdirectories of <out> are linked as supplementary runs.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any, Sequence

import numpy as np

from embtrans.alignment import findings as findings_lib

METRICS = ("i2t/recall@1", "i2t/recall@5", "i2t/recall@10", "t2i/recall@1",
           "t2i/recall@5", "t2i/recall@10")


def _read_jsonl(path: pathlib.Path) -> list[dict]:
  return [json.loads(line) for line in path.read_text().splitlines() if line]


def load_cells(workdir: pathlib.Path) -> list[dict[str, Any]]:
  """One dict per finished cell: factors, results, per-seed curves."""
  cells = []
  for cdir in sorted((workdir / "cells").glob("*")):
    if not (cdir / "results.json").is_file():
      continue
    curves = {p.parent.name: _read_jsonl(p)
              for p in sorted(cdir.glob("seed_*/metrics.jsonl"))}
    cells.append({"name": cdir.name,
                  "factors": json.loads((cdir / "cell.json").read_text()),
                  "config": json.loads((cdir / "config.json").read_text()),
                  "results": json.loads((cdir / "results.json").read_text()),
                  "curves": curves})
  if not cells:
    raise FileNotFoundError(f"No finished cells under {workdir}/cells; run "
                            "python -m embtrans.alignment.ablation first.")
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
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for cell in cells:
    r = cell["results"]
    row = _label(cell) + [
        _pm(r, "train/final_loss_full", 1.0, 2),
        f"{r['train/final_ln_batch']:.2f}",
        f"{findings_lib.plateaued_seeds(cell)}/{len(cell['curves'])}",
        findings_lib.escape_text(cell)]
    row += [_pm(r, f"test/{m}") for m in METRICS]
    row += [_pm(r, f"test/mrl_{p}/i2t/recall@1") for p in prefixes]
    lines.append("| " + " | ".join(row) + " |")
  return "\n".join(lines)


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


def write_report(workdir: str, out: str | None = None,
                 title: str = "Perceiver latent-init ablation"
                 ) -> pathlib.Path:
  """Writes README.md and the PNGs; returns the output directory."""
  root = pathlib.Path(workdir)
  out_dir = pathlib.Path(out) if out else root / "report"
  out_dir.mkdir(parents=True, exist_ok=True)
  cells = load_cells(root)
  perceivers = [c for c in cells if c["factors"].get("head") != "attention_pool"]
  plot(cells, "train/loss_full", "InfoNCE (full dim)", out_dir / "loss.png",
       chance=True)
  plot(perceivers or cells, "train/entropy/cross_attn_0",
       "cross-attention entropy (1 = uniform)", out_dir / "entropy.png")
  plot(perceivers or cells, "train/latent_cosine/output",
       "cosine between output latents", out_dir / "diagnostics.png")
  plot(cells, "train/grad_norm/latents", "gradient norm of the latents",
       out_dir / "grad_latents.png", log=True)
  meta = _read_meta(root)
  meta.update(title=title, supplements=_supplements(out_dir),
              out=str(out) if out else "")
  text = findings_lib.readme(cells, table(cells), meta)
  (out_dir / "README.md").write_text(text)
  return out_dir


def _read_meta(root: pathlib.Path) -> dict:
  meta: dict[str, Any] = {}
  if (root / "ablation.json").is_file():
    meta["runs"] = json.loads((root / "ablation.json").read_text())["runs"]
  if (root / "references.json").is_file():
    meta["references"] = json.loads((root / "references.json").read_text())
  return meta


def main(argv: Sequence[str]) -> int:
  opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and
              "=" in a)
  args = [a for a in argv if not a.startswith("--")]
  if len(args) != 1 or set(opts) - {"out", "title"}:
    print("usage: python -m embtrans.alignment.report WORKDIR [--out=DIR] "
          "[--title=TEXT]", file=sys.stderr)
    return 2
  out = write_report(args[0], opts.get("out"), opts.get(
      "title", "Perceiver latent-init ablation"))
  print(f"Wrote {out}/README.md and the curves (loss, entropy, diagnostics,"
        " grad_latents .png).")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
