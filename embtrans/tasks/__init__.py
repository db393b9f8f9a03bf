"""Tasks: what is trained and how it is scored, plugged into the engine.

A task is a module chosen by `config.task` that provides:

  MEMBER_KEYS                 config keys members of one program may differ in
  validate(config)            fail before anything is written
  load_data(config, memo)     -> data with a JSON-able `.info` (data.json)
  program_key(config, data)   configs with equal keys train as one program
  build(configs, datas, names, mesh) -> engine.program.Program
  is_closed_form(config)      a fit without training (e.g. lstsq) ...
  closed_form(config, data, name, prefix) -> (scores, artifacts)
and may provide (else the defaults below, `baselines` and `window_extras`):
  baselines(config, data)     -> flat scores of the reference fits
  window_extras(config)       -> {name: value} logged with each window

`embtrans.train` (one run) and `embtrans.sweep` (many cells) drive every
task the same way. A new task is a new module here plus a line in TASKS.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable

import ml_collections

TASKS = {"translate": "embtrans.tasks.translate",
         "autoencode": "embtrans.tasks.autoencode",
         "align": "embtrans.tasks.align"}


def get(name: str) -> ModuleType:
  """The task module `name`; unknown names list the known ones."""
  if name not in TASKS:
    raise ValueError(f"Unknown task {name!r} in config.task. Known tasks: "
                     f"{sorted(TASKS)}.")
  return importlib.import_module(TASKS[name])


def member_configs(config: ml_collections.ConfigDict
                   ) -> list[ml_collections.ConfigDict]:
  """A run's members: `config.num_seeds` copies with seeds seed, seed+1..."""
  out = []
  for i in range(config.get("num_seeds", 1)):
    c = config.copy_and_resolve_references()
    with c.ignore_type():
      c.seed = config.seed + i
    out.append(c)
  return out


def baselines(task: ModuleType, config: ml_collections.ConfigDict, data: Any
              ) -> dict[str, float]:
  """The task's own `baselines`, else `baseline_<name>/...` scores of each
  `config.baselines` entry from its `closed_form(config, data, name,
  prefix)`."""
  if hasattr(task, "baselines"):
    return task.baselines(config, data)
  out = {}
  for name in config.baselines:
    out.update(task.closed_form(config, data, name, f"baseline_{name}")[0])
  return out


def window_extras(task: ModuleType, config: ml_collections.ConfigDict
                  ) -> dict[str, float]:
  """The task's own `window_extras(config)`, else nothing."""
  return task.window_extras(config) if hasattr(task, "window_extras") else {}
