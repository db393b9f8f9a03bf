"""One sweep runner for every task: cells -> programs -> results per cell.

A sweep is a config file with `get_config(arg)` (one cell's complete run
config) and `sweep(add, arg)`, which calls `add(**overrides)` once per cell;
cell = `get_config(arg + overrides)`. Cells whose configs differ only in the
task's MEMBER_KEYS (seed, learning rate, pair of spaces, ...) and agree on
the data shapes (`task.program_key`) train as ONE program: their members
(`num_seeds` per cell) are stacked and run by one compiled step.

Workdir (resumable: a program whose cells all have results.json is skipped;
an interrupted program resumes from its latest checkpoint):
  sweep.jsonl                       per invocation: a "started" line at launch
                                    and, when it finishes, what ran and times
  cells/<cell>/cell.json            the cell's factors, task and program
  cells/<cell>/config.json, data.json   as for a single run (checked on resume)
  cells/<cell>/results.json         flat scores (mean/std/seed_<s> with seeds)
                                    + what trained it (program, params, steps)
  cells/<cell>/seed_<s>/metrics.jsonl   training curves (+ TensorBoard)
  cells/<cell>/seed_<s>/<artifact>.npy  e.g. float16 test translations
  programs/<key>/checkpoints/       Orbax checkpoints of one program
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import pathlib
import re
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections
import numpy as np

from embtrans import checkpointing
from embtrans import metric_writers
from embtrans import sharding
from embtrans import tasks
from embtrans import train
from embtrans import workdirs
from embtrans.engine import loop
from embtrans.engine import program as program_lib

# Bytes per parameter of a train state: float32 params + two Adam moments.
STATE_BYTES_PER_PARAM = 12


@dataclasses.dataclass
class Cell:
  """One cell: its factors (the sweep's overrides) and complete config."""

  name: str
  factors: dict
  config: ml_collections.ConfigDict
  data: Any = None


@dataclasses.dataclass
class Group:
  """Cells trained as one program (or one closed-form cell)."""

  key: str
  task: Any
  cells: list[Cell]
  closed_form: bool = False


def load_config_module(path: str):
  """Imports a config file (`configs/x.py`) that has a sweep(add, arg)."""
  file = pathlib.Path(path)
  if not file.is_file():
    raise FileNotFoundError(f"No config file {path}.")
  spec = importlib.util.spec_from_file_location(f"_config_{file.stem}", file)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "sweep"):
    raise ValueError(f"{path} has no sweep(add, arg) function: it is a "
                     "single-run config; run it with python -m embtrans.main.")
  return module


def _arg_string(base: str | None, overrides: Mapping[str, Any]) -> str:
  parts = [p for p in (base or "").split(",")
           if p and p.partition("=")[0] not in overrides]
  return ",".join(parts + [f"{k}={v}" for k, v in overrides.items()])


def default_cell_name(factors: Mapping[str, Any]) -> str:
  """'k1=v1-k2=v2', made safe as a directory name."""
  def fmt(v):
    if isinstance(v, bool):
      return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)
  name = "-".join(f"{k}={fmt(v)}" for k, v in factors.items())
  return re.sub(r"[^A-Za-z0-9_.+=>-]", "_", name)


def collect_cells(module, arg: str | None) -> list[Cell]:
  """The cells of `module.sweep(add, arg)`, each a complete config."""
  cells: list[Cell] = []
  namer = getattr(module, "cell_name", default_cell_name)

  def add(**overrides):
    config = module.get_config(_arg_string(arg, overrides))
    cells.append(Cell(namer(overrides), dict(overrides), config))

  module.sweep(add, arg)
  names = [c.name for c in cells]
  dup = sorted({n for n in names if names.count(n) > 1})
  if dup:
    raise ValueError(f"The sweep names cells twice: {dup[:3]}.")
  if not cells:
    raise ValueError("The sweep adds no cell.")
  return cells


def plan(cells: Sequence[Cell], memo: dict) -> list[Group]:
  """Validates every cell, opens its data, groups cells into programs."""
  for cell in cells:  # Before any data is built: a build takes minutes.
    tasks.get(cell.config.task).validate(cell.config)
  groups: dict[tuple, Group] = {}
  for cell in cells:
    task = tasks.get(cell.config.task)
    cell.data = task.load_data(cell.config, memo)
    if task.is_closed_form(cell.config):
      groups[("closed", cell.name)] = Group(cell.name, task, [cell], True)
      continue
    key = (cell.config.task, task.program_key(cell.config, cell.data))
    if key not in groups:
      digest = hashlib.sha1(repr(key).encode()).hexdigest()[:8]
      groups[key] = Group(f"{cell.config.task}-{cell.config.model.name}-"
                          f"{digest}", task, [])
    groups[key].cells.append(cell)
  return [part for g in groups.values() for part in _split(g)]


def _split(group: Group) -> list[Group]:
  """Parts of at most `max_program_gib` of stacked train state each."""
  c = group.cells[0].config
  if group.closed_form or "max_program_gib" not in c:
    return [group]
  per_cell = (group.task.param_count(c, group.cells[0].data) *
              STATE_BYTES_PER_PARAM * c.get("num_seeds", 1) / 2**30)
  size = max(1, int(c.max_program_gib // max(per_cell, 1e-12)))
  if len(group.cells) <= size:
    return [group]
  return [Group(f"{group.key}-part{i // size}", group.task,
                group.cells[i:i + size])
          for i in range(0, len(group.cells), size)]


def _cell_dir(root: pathlib.Path, cell: Cell) -> pathlib.Path:
  return root / "cells" / cell.name


def is_done(root: pathlib.Path, group: Group) -> bool:
  return all((_cell_dir(root, c) / "results.json").is_file()
             for c in group.cells)


def _members(group: Group) -> tuple[list, list, list[str], list[Cell]]:
  """Flattened members: (configs, datas, names, owning cells)."""
  cfgs, datas, names, owners = [], [], [], []
  for cell in group.cells:
    for c in tasks.member_configs(cell.config):
      cfgs.append(c)
      datas.append(cell.data)
      names.append(f"{cell.name} seed {c.seed}")
      owners.append(cell)
  return cfgs, datas, names, owners


def _manager(root: pathlib.Path, group: Group, params: int, members: int):
  """The program's checkpoint manager, or NoCheckpoints if its state is
  bigger than `max_checkpoint_gib` (re-running it costs less than saving)."""
  c = group.cells[0].config
  gib = params * STATE_BYTES_PER_PARAM * members / 2**30
  if not c.checkpoint_every or gib > c.get("max_checkpoint_gib", 1.0):
    return checkpointing.NoCheckpoints()
  return checkpointing.create_manager(
      root / "programs" / group.key / "checkpoints", c.max_checkpoints)


def _writers(root: pathlib.Path, owners: Sequence[Cell], cfgs,
             keep_through: int) -> list:
  """A JSONL + TensorBoard writer per member (rows past the resume step of
  an interrupted run dropped); writers that write nothing on processes > 0."""
  if jax.process_index() > 0:
    return [metric_writers.MultiWriter([]) for _ in owners]
  out = []
  for cell, c in zip(owners, cfgs):
    path = _cell_dir(root, cell) / f"seed_{c.seed}"
    path.mkdir(parents=True, exist_ok=True)
    out.append(metric_writers.MultiWriter([
        metric_writers.JsonlWriter(str(path), keep_through),
        metric_writers.TensorBoardWriter(str(path))]))
  return out


def _on_window(writers, prog, cfgs, task, last: dict):
  extras = tasks.window_extras(task, cfgs[0])

  def on_window(w: loop.Window) -> None:
    scalars = train.window_scalars(w, prog, cfgs[0].batch_size, extras)
    last.clear()
    last.update(scalars)
    for i, writer in enumerate(writers):
      if np.isfinite(scalars["loss"][i]):  # A diverged member stops logging.
        writer.write_scalars(w.step, {f"train/{k}": float(v[i])
                                      for k, v in scalars.items()})
  return on_window


def _write_cell(root: pathlib.Path, cell: Cell, results: Mapping[str, Any],
                artifacts: Sequence[tuple[int, Mapping[str, np.ndarray]]]
                ) -> None:
  """results.json (strict JSON: non-finite numbers become null) and the
  float16 artifacts of each seed when `config.save_predictions`."""
  path = _cell_dir(root, cell)
  if cell.config.get("save_predictions", False) and jax.process_index() == 0:
    for seed, arrays in artifacts:
      for name, array in arrays.items():
        (path / f"seed_{seed}").mkdir(parents=True, exist_ok=True)
        np.save(path / f"seed_{seed}" / f"{name}.npy",
                np.asarray(array).astype(np.float16))
  workdirs.write_results(path, {
      k: None if isinstance(v, float) and not np.isfinite(v) else v
      for k, v in results.items()})


def _prepare_cells(root: pathlib.Path, group: Group) -> None:
  """config.json, data.json and cell.json of each cell; cell.json's
  `members` maps each seed to its row in the program's stacked state."""
  first = 0
  for cell in group.cells:
    path = workdirs.prepare(cell.config, str(_cell_dir(root, cell)),
                            cell.data.info)
    seeds = [c.seed for c in tasks.member_configs(cell.config)]
    if jax.process_index() == 0:
      workdirs.write_json_atomic(path / "cell.json", {
          "name": cell.name, "factors": cell.factors,
          "task": cell.config.task, "program": group.key,
          "members": {str(s): first + i for i, s in enumerate(seeds)}})
    first += len(seeds)


def run_closed_form(root: pathlib.Path, group: Group) -> dict[str, Any]:
  """Fits and scores a closed-form cell (no training)."""
  cell, t0 = group.cells[0], time.time()
  scores, artifacts = group.task.closed_form(
      cell.config, cell.data, cell.config.model.name, "test")
  seconds = time.time() - t0
  results = {**scores, **tasks.baselines(group.task, cell.config, cell.data),
             "kind": "closed_form", "program": "closed-form",
             "program_members": 1, "steps": 0, "train_seconds": seconds,
             "program_seconds": seconds}
  _write_cell(root, cell, results, [(cell.config.seed, artifacts)])
  return {"program": group.key, "members": 1, "seconds": seconds}


def run_program(root: pathlib.Path, group: Group, mesh, desc: str
                ) -> dict[str, Any]:
  """Trains (or resumes) one program; scores and writes its cells."""
  t0 = time.time()
  cfgs, datas, names, owners = _members(group)
  prog = group.task.build(cfgs, datas, names, mesh)
  params = group.task.param_count(cfgs[0], datas[0])
  manager = _manager(root, group, params, len(cfgs))
  writers = _writers(root, owners, cfgs, checkpointing.resume_step(manager))
  last: dict = {}
  c = cfgs[0]
  outcome, start = program_lib.train(
      prog, mesh, manager, log_every=c.log_every,
      checkpoint_every=c.checkpoint_every,
      on_window=_on_window(writers, prog, cfgs, group.task, last),
      nan_policy="continue", desc=desc)
  for w in writers:
    w.close()
  if hasattr(manager, "close"):
    manager.close()
  trained = time.time() - t0
  evaluated = prog.evaluate(outcome.members.params)
  meta = {"kind": "trained", "program": group.key,
          "program_members": len(cfgs), "params": params,
          "steps": c.num_train_steps, "batch_size": c.batch_size,
          "resumed_from_step": start, "program_seconds": trained,
          "train_seconds": trained / len(cfgs),
          "eval_seconds": time.time() - t0 - trained}
  for cell in group.cells:
    idx = [i for i, o in enumerate(owners) if o is cell]
    per_member = [train.member_results(evaluated[i][0], last, i,
                                       outcome.diverged.get(i)) for i in idx]
    results = train.aggregate(per_member, [cfgs[i].seed for i in idx])
    results.update(tasks.baselines(group.task, cell.config, cell.data))
    results.update(meta, learning_rate=cell.config.optimizer.learning_rate,
                   diverged_members=sum(i in outcome.diverged for i in idx))
    _write_cell(root, cell, results, [(cfgs[i].seed, evaluated[i][1])
                                      for i in idx])
  return {"program": group.key, "members": len(cfgs),
          "seconds": time.time() - t0, "train_seconds": trained}


def describe(groups: Sequence[Group]) -> str:
  """The plan: programs, their members, parameters and step budgets."""
  lines, total_members, total_steps = [], 0, 0
  for g in groups:
    c = g.cells[0].config
    if g.closed_form:
      lines.append(f"closed form  {g.cells[0].name}")
      continue
    m = sum(cell.config.get("num_seeds", 1) for cell in g.cells)
    params = g.task.param_count(c, g.cells[0].data)
    total_members += m
    total_steps += m * c.num_train_steps
    lines.append(f"program {g.key}: {m} members x {params:,} params, "
                 f"{c.num_train_steps} steps at batch {c.batch_size}")
    lines += [f"    {cell.name}" for cell in g.cells]
  trained = sum(not g.closed_form for g in groups)
  lines.append(f"{trained} programs, {total_members} trained members, "
               f"{total_steps:,} member-steps; "
               f"{len(groups) - trained} closed-form cells.")
  return "\n".join(lines)


def run(config_path: str, arg: str | None, workdir: str, only: str = "",
        dry_run: bool = False, print_fn: Callable[[str], None] = print
        ) -> dict[str, Any]:
  """Runs (or with dry_run describes) every unfinished program."""
  t0, load_start = time.time(), os.getloadavg()[0]
  cells = collect_cells(load_config_module(config_path), arg)
  if only:
    cells = [c for c in cells if re.search(only, c.name)]
    if not cells:
      raise ValueError(f"--only={only!r} matches no cell.")
  groups = plan(cells, memo={})
  data_seconds = time.time() - t0
  if dry_run:
    print_fn(describe(groups))
    return {"programs": [g.key for g in groups]}
  root = pathlib.Path(workdir)
  mesh = sharding.make_mesh(cells[0].config.num_devices or None)
  head = {"config": config_path, "arg": arg or "", "only": only, "start": t0,
          "load_avg_start": load_start, "cells": len(cells)}
  _record(root, {"event": "started", **head, "programs": len(groups)})
  ran, skipped = [], []
  for i, group in enumerate(groups):
    if is_done(root, group):
      skipped.append(group.key)
      continue
    _prepare_cells(root, group)
    ran.append(run_closed_form(root, group) if group.closed_form else
               run_program(root, group, mesh, f"[{i + 1}/{len(groups)}]"))
  summary = {"event": "finished", **head, "seconds": time.time() - t0,
             "data_seconds": data_seconds, "load_avg_end": os.getloadavg()[0],
             "cpus": os.cpu_count(), "devices": mesh.devices.size,
             "platform": jax.devices()[0].platform, "ran": ran,
             "skipped": skipped}
  _record(root, summary)
  return summary


def _record(root: pathlib.Path, row: dict[str, Any]) -> None:
  """Appends `row` to root/sweep.jsonl (process 0)."""
  if jax.process_index() == 0:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "sweep.jsonl", "a", encoding="utf-8") as f:
      f.write(json.dumps(row) + "\n")
