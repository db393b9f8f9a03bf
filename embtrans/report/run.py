"""The report of one run (`python -m embtrans.main`): scores and curve.

  <out>/README.md     the results table (test scores next to baselines)
  <out>/results.csv   every results.json key
  <out>/loss.png      training loss by step
"""

from __future__ import annotations

import csv
import math
import pathlib
from typing import Any, Mapping

from embtrans.report import io
from embtrans.report import plots
from embtrans.report import tables

FIGURES = ("loss.png",)


def score_table(results: Mapping[str, Any]) -> str:
  """Rows: `test` and each `baseline_<name>` / `reference_<name>` prefix;
  columns: the score names they share."""
  prefixes = sorted({k.split("/")[0] for k in results if "/" in k
                     and k.split("/")[0] in ("test",) or k.startswith(
                         ("baseline_", "reference_"))})
  names = sorted({k.split("/", 1)[1] for k in results
                  if k.split("/")[0] in prefixes and not k.endswith("/std")
                  and isinstance(results[k], (int, float))})
  def cell(p, n):
    v = results.get(f"{p}/{n}")
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else (
        f"{v:.4g}")
  return tables.markdown_table(["", *names],
                               [[p, *[cell(p, n) for n in names]]
                                for p in prefixes])


def write_report(workdir: str | pathlib.Path, out: str | None = None
                 ) -> pathlib.Path:
  workdir = pathlib.Path(workdir)
  out_dir = pathlib.Path(out) if out else workdir / "report"
  out_dir.mkdir(parents=True, exist_ok=True)
  results = io.read_json(workdir / "results.json")
  config = io.read_json(workdir / "config.json")
  with open(out_dir / "results.csv", "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(["key", "value"])
    writer.writerows(sorted(results.items()))
  steps, losses = io.curve(workdir)
  plots.simple_curve(steps, losses, "step", "train loss", out_dir / "loss.png")
  lines = [f"# Run of task `{config.get('task', '?')}`, model "
           f"`{config['model']['name']}`", "",
           f"{int(steps[-1]) if len(steps) else 0} steps; final train loss "
           f"{losses[-1]:.4g}." if len(steps) else "No training curve.", "",
           score_table(results), "", "![loss](loss.png)", ""]
  (out_dir / "README.md").write_text("\n".join(lines), encoding="utf-8")
  return out_dir
