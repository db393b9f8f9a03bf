"""One run of any task: `train_and_evaluate(config, workdir)`.

  python -m embtrans.main --config=configs/mlp32x.py --workdir=W

The task named by `config.task` supplies data, model, loss and scores; the
engine trains its members (one, or `config.num_seeds` seeds as one vmapped
program) with Orbax checkpoints every `config.checkpoint_every` steps and
auto-resume, then the task scores them on the test split. results.json has
flat keys (`test/recall@1`, `baseline_lstsq/mse`, ...); with several seeds
`<key>` is the mean, `<key>/std` the standard deviation and `seed_<s>/<key>`
each seed's value.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections
import numpy as np

from embtrans import checkpointing
from embtrans import metric_writers
from embtrans import sharding
from embtrans import tasks
from embtrans import workdirs
from embtrans.engine import loop
from embtrans.engine import program as program_lib

TrainingDivergedError = loop.TrainingDivergedError


def window_scalars(w: loop.Window, prog: program_lib.Program,
                   batch_size: int, extras: Mapping[str, float]
                   ) -> dict[str, np.ndarray]:
  """Per-member [M] scalars of a window: metric means, lr, speed, extras."""
  m = len(prog.names)
  out = dict(w.means)
  out["learning_rate"] = np.asarray(prog.lrs, np.float64) * float(
      prog.unit(w.step))
  rate = w.steps / max(w.seconds, 1e-9)
  out["steps_per_sec"] = np.full(m, rate)
  out["examples_per_sec"] = np.full(m, rate * batch_size)
  out.update({k: np.full(m, float(v)) for k, v in extras.items()})
  return out


def seed_writer(writer, seeds: Sequence[int], prog: program_lib.Program,
                batch_size: int, extras: Mapping[str, float], last: dict
                ) -> Callable[[loop.Window], None]:
  """on_window for one run: `train/<k>` means, `seed_<s>/train/<k>` each."""
  def on_window(w: loop.Window) -> None:
    scalars = window_scalars(w, prog, batch_size, extras)
    last.clear()
    last.update(scalars)
    flat = {f"train/{k}": float(np.mean(v)) for k, v in scalars.items()}
    if len(seeds) > 1:
      flat.update({f"seed_{s}/train/{k}": float(v[i])
                   for k, v in scalars.items() for i, s in enumerate(seeds)})
    writer.write_scalars(w.step, flat)
  return on_window


def aggregate(per_member: Sequence[Mapping[str, Any]], seeds: Sequence[int]
              ) -> dict[str, Any]:
  """One member: its dict. Several: mean, `<key>/std`, `seed_<s>/<key>`."""
  if len(per_member) == 1:
    return dict(per_member[0])
  out = {}
  numeric = sorted({k for m in per_member for k, v in m.items()
                    if isinstance(v, (int, float))})
  for key in numeric:
    values = np.array([m.get(key, np.nan) for m in per_member], np.float64)
    out[key], out[f"{key}/std"] = float(np.mean(values)), float(
        np.std(values))
  for seed, member in zip(seeds, per_member):
    out.update({f"seed_{seed}/{k}": v for k, v in member.items()})
  return out


def member_results(scores: Mapping[str, Any], last: Mapping[str, np.ndarray],
                   i: int, diverged_at: int | None) -> dict[str, Any]:
  """A member's test scores plus its final window's train metrics."""
  out = dict(scores)
  out.update({f"train/final_{k}": float(v[i]) for k, v in last.items()
              if k not in ("steps_per_sec", "examples_per_sec")})
  if diverged_at is not None:
    out["train/diverged_at_step"] = diverged_at
  return out


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str
                       ) -> dict[str, Any]:
  """Trains per `config`, resuming from `workdir`; returns results.json."""
  task = tasks.get(config.task)
  task.validate(config)
  data = task.load_data(config)
  path = workdirs.prepare(config, workdir, data.info)
  if task.is_closed_form(config):
    results = task.closed_form(config, data, config.model.name, "test")[0]
  else:
    results = _train(task, config, data, path)
  results.update(tasks.baselines(task, config, data))
  results.update({f"data/{k}": v for k, v in data.info.items()
                  if isinstance(v, (int, float))})
  workdirs.write_results(path, results)
  return results


def _train(task, config, data, path) -> dict[str, Any]:
  mesh = sharding.make_mesh(config.num_devices or None)
  cfgs = tasks.member_configs(config)
  seeds = [c.seed for c in cfgs]
  names = [f"seed {s}" for s in seeds] if len(seeds) > 1 else ["the model"]
  prog = task.build(cfgs, [data] * len(cfgs), names, mesh)
  manager = checkpointing.create_manager(
      path / "checkpoints", config.max_checkpoints) if (
          config.checkpoint_every) else checkpointing.NoCheckpoints()
  writer = metric_writers.create_default_writer(
      str(path), just_logging=jax.process_index() > 0,
      keep_through=checkpointing.resume_step(manager))
  last: dict = {}
  outcome, _ = program_lib.train(
      prog, mesh, manager, log_every=config.log_every,
      checkpoint_every=config.checkpoint_every,
      on_window=seed_writer(writer, seeds, prog, config.batch_size,
                            tasks.window_extras(task, config), last))
  per_member = [member_results(scores, last, i, outcome.diverged.get(i))
                for i, (scores, _) in enumerate(
                    prog.evaluate(outcome.members.params))]
  results = aggregate(per_member, seeds)
  writer.write_scalars(config.num_train_steps, {
      k: v for k, v in results.items() if isinstance(v, (int, float))})
  writer.close()
  if hasattr(manager, "close"):
    manager.close()
  return results
