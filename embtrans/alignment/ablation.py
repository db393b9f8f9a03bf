"""Run a config's sweep: cells grouped into one vmapped program per shape.

  python -m embtrans.alignment.ablation \
      --config=configs/perceiver_ablation.py[:arg] --workdir=W [--only=REGEX]

The config file's `sweep(add, arg)` names the cells; each cell is
`get_config(arg + overrides)` and trains its `num_seeds` seeds. Cells whose
configs differ only in learning rate, latent init and seed (same model
structure, batch, data and steps) train as ONE program: their seeds are
stacked along a member axis and vmapped (`engine.py`). Each member keeps its
own seed, lr and init; members with the same seed share the data order.

Output (resumable: a group whose cells all have results.json is skipped):
  W/cells/<cell>/cell.json         the cell's factors
  W/cells/<cell>/config.json       its resolved config
  W/cells/<cell>/results.json      mean/std over seeds + per seed (flat keys)
  W/cells/<cell>/seed_<s>/metrics.jsonl   training curves and diagnostics
  W/ablation.json                  groups, wall times, machine load
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import pathlib
import re
import time
from typing import Any, Callable, Mapping, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
import ml_collections
import numpy as np
from absl import app
from absl import flags
from absl import logging

from embtrans import metric_writers
from embtrans import sharding
from embtrans import workdirs
from embtrans.alignment import data as data_lib
from embtrans.alignment import engine
from embtrans.alignment import model as model_lib
from embtrans.alignment import references
from embtrans.alignment import train as train_lib

# Keys that members of one program may differ in.
_MEMBER_KEYS = ("optimizer.learning_rate", "model.latent_init",
                "model.latent_init_std", "seed", "num_seeds")


@dataclasses.dataclass
class Cell:
  name: str
  factors: dict
  config: ml_collections.ConfigDict


def load_config_module(path: str):
  """Imports a config file (`configs/x.py`) as a module."""
  file = pathlib.Path(path)
  if not file.is_file():
    raise FileNotFoundError(f"No config file {path}.")
  spec = importlib.util.spec_from_file_location(f"_config_{file.stem}", file)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "sweep"):
    raise ValueError(f"{path} has no sweep(add, arg) function.")
  return module


def _arg_string(base: str | None, overrides: Mapping[str, Any]) -> str:
  parts = [p for p in (base or "").split(",")
           if p and p.partition("=")[0] not in overrides]
  parts += [f"{k}={v}" for k, v in overrides.items()]
  return ",".join(parts)


_SHORT = {"latent_init": "init", "latent_ln": "ln", "batch": "b"}


def cell_name(factors: Mapping[str, Any]) -> str:
  """e.g. 'perceiver-init=bug-lr=0.002-ln=off-b=64'."""
  def fmt(v):
    if isinstance(v, bool):
      return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)
  return "-".join(fmt(v) if k == "head" else f"{_SHORT.get(k, k)}={fmt(v)}"
                  for k, v in factors.items())


def collect_cells(module, arg: str | None) -> list[Cell]:
  cells: list[Cell] = []

  def add(**overrides):
    config = module.get_config(_arg_string(arg, overrides))
    cells.append(Cell(cell_name(overrides), dict(overrides), config))

  module.sweep(add, arg)
  names = [c.name for c in cells]
  if len(set(names)) != len(names):
    raise ValueError("The sweep names a cell twice.")
  return cells


def _flat(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """{'optimizer.learning_rate': ..., ...} of a config."""
  out = {}

  def walk(node: Mapping[str, Any], prefix: str) -> None:
    for key, value in node.items():
      if isinstance(value, Mapping):
        walk(value, f"{prefix}{key}.")
      else:
        out[f"{prefix}{key}"] = value

  walk(json.loads(config.to_json_best_effort()), "")
  return out


def group_cells(cells: Sequence[Cell]) -> list[list[Cell]]:
  """Cells whose configs match except `_MEMBER_KEYS`, in sweep order."""
  groups: dict[str, list[Cell]] = {}
  for cell in cells:
    key = json.dumps({k: v for k, v in _flat(cell.config).items()
                      if k not in _MEMBER_KEYS}, sort_keys=True, default=str)
    groups.setdefault(key, []).append(cell)
  return list(groups.values())


def _members(group: Sequence[Cell]) -> tuple[list[engine.MemberSpec],
                                             list[tuple[int, int]]]:
  specs, owners = [], []
  for ci, cell in enumerate(group):
    c = cell.config
    model = model_lib.build(c.model, c.mrl.dim, c.temperature)
    for i in range(c.num_seeds):
      specs.append(engine.MemberSpec(c.seed + i, c.optimizer.learning_rate,
                                     model))
      owners.append((ci, c.seed + i))
  return specs, owners


def _member_writers(workdir: pathlib.Path, group: Sequence[Cell],
                    owners) -> list[metric_writers.JsonlWriter]:
  return [metric_writers.JsonlWriter(str(
      workdir / "cells" / group[ci].name / f"seed_{seed}"))
          for ci, seed in owners]


def run_group(group: Sequence[Cell], workdir: pathlib.Path,
              data: data_lib.AlignmentData, mesh) -> dict:
  """Trains and evaluates one group; writes its cells' files."""
  config = group[0].config
  specs, owners = _members(group)
  for cell in group:
    cdir = workdir / "cells" / cell.name
    cdir.mkdir(parents=True, exist_ok=True)
    workdirs.write_json_atomic(cdir / "cell.json", cell.factors)
    workdirs.write_json_atomic(cdir / "config.json", json.loads(
        cell.config.to_json_best_effort()))
  writers = _member_writers(workdir, group, owners)
  last: dict = {}

  def log(step: int, scalars: Mapping[str, np.ndarray]) -> None:
    last.clear()
    last.update(scalars)
    for m, w in enumerate(writers):
      w.write_scalars(step, {f"train/{k}": float(v[m])
                             for k, v in scalars.items()})
      w.flush()
    logging.info("[%d] loss %s", step, np.round(scalars["loss_full"], 3))

  start = time.time()
  members = train_lib.train_members(config, specs, data, mesh, log,
                                    raise_on_nan=False)
  trained = time.time()
  per_member = train_lib.evaluate_members(config, members, specs[0].model,
                                          data.test, mesh)
  for w in writers:
    w.close()
  for ci, cell in enumerate(group):
    idx = [m for m, (c, _) in enumerate(owners) if c == ci]
    rows = [{**{f"test/{k}": v for k, v in per_member[m].items()},
             **{f"train/final_{k}": float(last[k][m]) for k in (
                 "loss", "loss_full", "temperature", "ln_batch")}}
            for m in idx]
    results = train_lib.aggregate(rows, [owners[m][1] for m in idx])
    workdirs.write_results(workdir / "cells" / cell.name, results)
  return {"cells": [c.name for c in group], "members": len(specs),
          "train_seconds": trained - start,
          "eval_seconds": time.time() - trained}


def _write_references(root: pathlib.Path, data_cfg,
                      data: data_lib.AlignmentData) -> None:
  """Closed-form references of the (first) data set, once per workdir."""
  path = root / "references.json"
  if not path.is_file():
    workdirs.write_json_atomic(path, references.references(dict(data_cfg),
                                                           data))


def _done(workdir: pathlib.Path, group: Sequence[Cell]) -> bool:
  return all((workdir / "cells" / c.name / "results.json").is_file()
             for c in group)


def run_sweep(config_path: str, arg: str | None, workdir: str,
              only: str = "", dry_run: bool = False,
              print_fn: Callable[[str], None] = print) -> dict:
  """Runs (or with dry_run lists) every group of the sweep; returns a summary."""
  cells = collect_cells(load_config_module(config_path), arg)
  if only:
    cells = [c for c in cells if re.search(only, c.name)]
    if not cells:
      raise ValueError(f"--only={only!r} matches no cell.")
  groups = group_cells(cells)
  for i, g in enumerate(groups):
    print_fn(f"group {i}: {len(g)} cells x {g[0].config.num_seeds} seeds: "
             + ", ".join(c.name for c in g))
  if dry_run:
    return {"groups": [[c.name for c in g] for g in groups]}
  root = pathlib.Path(workdir)
  root.mkdir(parents=True, exist_ok=True)
  mesh = sharding.make_mesh(groups[0][0].config.num_devices or None)
  summary = {"config": config_path, "arg": arg or "", "workdir": workdir,
             "only": only, "groups": [],
             "load_average_start": os.getloadavg(), "cpu_count":
                 os.cpu_count(), "devices": jax.device_count()}
  start = time.time()
  data_cache: dict[str, data_lib.AlignmentData] = {}
  for g in groups:
    if _done(root, g):
      print_fn(f"skip (done): {[c.name for c in g]}")
      continue
    key = json.dumps(dict(g[0].config.data), sort_keys=True)
    if key not in data_cache:
      data_cache[key] = data_lib.load_data(g[0].config.data)
      _write_references(root, g[0].config.data, data_cache[key])
    stats = run_group(g, root, data_cache[key], mesh)
    summary["groups"].append(stats)
    print_fn(f"group done in {stats['train_seconds']:.0f}s + "
             f"{stats['eval_seconds']:.0f}s eval: {stats['cells']}")
  summary["wall_seconds"] = time.time() - start
  summary["load_average_end"] = os.getloadavg()
  log_path = root / "ablation.json"  # One entry per invocation (resumes).
  runs = json.loads(log_path.read_text())["runs"] if log_path.is_file() else []
  workdirs.write_json_atomic(log_path, {"runs": runs + [summary]})
  return summary


_CONFIG = flags.DEFINE_string("config", None, "configs/<x>.py[:arg] with a "
                              "sweep(add, arg) function.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory.")
_ONLY = flags.DEFINE_string("only", "", "Regex: run only matching cells.")
_DRY = flags.DEFINE_bool("dry_run", False, "List the groups and exit.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  path, _, arg = _CONFIG.value.partition(":")
  summary = run_sweep(path, arg or None, _WORKDIR.value, _ONLY.value,
                      _DRY.value)
  if not _DRY.value:
    print(f"Sweep done in {summary['wall_seconds']:.0f}s; results under "
          f"{_WORKDIR.value}/cells. Report: python -m "
          f"embtrans.alignment.report {_WORKDIR.value}")


if __name__ == "__main__":
  flags.mark_flags_as_required(["config", "workdir"])
  app.run(main)
