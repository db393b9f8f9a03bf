"""Which report a workdir gets, decided by what it holds."""

from __future__ import annotations

import pathlib
from typing import Any

from embtrans.report import io


def kind(workdir: pathlib.Path) -> str:
  """'run' | 'grid' | 'ablation' | 'ae3d', or a FileNotFoundError saying
  why not."""
  if not workdir.is_dir():
    raise FileNotFoundError(f"{workdir} is not a directory.")
  if (workdir / "results.json").is_file() and (workdir / "config.json"
                                               ).is_file():
    return "run"
  cells = io.cell_dirs(workdir)
  if not cells:
    raise FileNotFoundError(
        f"{workdir} holds neither a finished run (results.json) nor finished"
        " sweep cells (cells/*/results.json): run python -m embtrans.main or"
        " python -m embtrans.sweep with --workdir there first.")
  task = io.read_json(cells[0] / "cell.json").get("task")
  return {"translate": "grid", "align": "ablation",
          "autoencode": "ae3d"}.get(task, task or "?")


def write_report(workdir: pathlib.Path, out: str | None, **options: Any
                 ) -> tuple[pathlib.Path, tuple[str, ...]]:
  """Writes the report for `workdir`; -> (directory, figure names)."""
  k = kind(workdir)
  if k == "run":
    from embtrans.report import run  # pylint: disable=g-import-not-at-top
    return run.write_report(workdir, out), run.FIGURES
  if k == "grid":
    from embtrans.report import grid  # pylint: disable=g-import-not-at-top
    return grid.write_report(workdir, out, options.get("member"),
                             options.get("umap", True)), grid.FIGURES
  if k == "ablation":
    from embtrans.report import ablation  # pylint: disable=g-import-not-at-top
    return ablation.write_report(workdir, out), ablation.FIGURES
  if k == "ae3d":
    from embtrans.report import ae3d  # pylint: disable=g-import-not-at-top
    return ae3d.write_report(workdir, out, options.get("pages", True))
  raise ValueError(f"No report for sweeps of task {k!r} yet.")
