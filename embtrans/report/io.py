"""Reading a run or sweep workdir (see `embtrans.sweeps` for the layout).

Every report reads through here: cells (factors, config, data, results),
training curves per seed, the sweep's run records.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np


def read_json(path: pathlib.Path) -> Any:
  return json.loads(path.read_text())


def read_jsonl(path: pathlib.Path) -> list[dict[str, Any]]:
  if not path.is_file():
    return []
  return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def cell_dirs(workdir: pathlib.Path) -> list[pathlib.Path]:
  """Finished cells (with results.json) of a sweep workdir, by name."""
  return sorted(p.parent for p in (workdir / "cells").glob("*/results.json"))


def read_cell(path: pathlib.Path) -> dict[str, Any]:
  """{'name', 'factors', 'task', 'program', 'config', 'data', 'results'}."""
  cell = read_json(path / "cell.json") if (path / "cell.json").is_file() else {
      "name": path.name, "factors": {}}
  cell["dir"] = path
  cell["config"] = read_json(path / "config.json")
  cell["data"] = read_json(path / "data.json")
  cell["results"] = read_json(path / "results.json")
  return cell


def read_cells(workdir: pathlib.Path) -> list[dict[str, Any]]:
  paths = cell_dirs(workdir)
  if not paths:
    raise FileNotFoundError(
        f"No finished cells under {workdir}/cells: run `python -m "
        f"embtrans.sweep --config=... --workdir={workdir}` first.")
  return [read_cell(p) for p in paths]


def seed_dirs(cell_dir: pathlib.Path) -> list[pathlib.Path]:
  return sorted(cell_dir.glob("seed_*"),
                key=lambda p: int(p.name.removeprefix("seed_")))


def curve(seed_dir: pathlib.Path, key: str = "train/loss"
          ) -> tuple[np.ndarray, np.ndarray]:
  """(steps, values) of `key` in a member's metrics.jsonl."""
  points = {int(r["step"]): float(r[key])
            for r in read_jsonl(seed_dir / "metrics.jsonl") if key in r}
  steps = np.asarray(sorted(points), np.int64)
  return steps, np.asarray([points[s] for s in steps], np.float64)


def sweep_runs(workdir: pathlib.Path) -> list[dict[str, Any]]:
  """One record per finished invocation of the sweep command (sweep.jsonl).

  The "started" lines each invocation writes at launch are left out (an
  invocation that was killed has only that line).
  """
  return [r for r in read_jsonl(workdir / "sweep.jsonl")
          if r.get("event") != "started"]
