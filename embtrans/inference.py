"""Use a trained translator: restore it from its workdir, apply it to numpy.

    from embtrans import inference
    translate = inference.load_translator("/tmp/mlp8x")   # a main.py workdir
    y = translate(x)          # x: [n, d_src] float -> y: [n, d_tgt] float32
    translate.source, translate.target                    # dataset names

A translator lives in one of:
  - a `python -m embtrans.main` workdir (config.json, data.json, Orbax
    checkpoints/; with `num_seeds` > 1 pass `seed`);
  - a member of a sweep: `W/cells/<cell>/seed_<s>/` (or `W/cells/<cell>/`
    with one seed), restored from `W/programs/<program>/checkpoints` at the
    member's row (cell.json's `members`);
  - a closed-form run or cell (lstsq, procrustes): nothing is saved, the fit
    is redone from its config on its training split (deterministic).
The model is rebuilt from the config (`tasks.translate.build_model`) and run
under one jit-compiled function on one device.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Callable

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from embtrans import checkpointing
from embtrans import sharding
from embtrans.tasks import translate


@dataclasses.dataclass(frozen=True)
class Run:
  """Where one translator's config, data and parameters are.

  Attributes:
    path: the directory holding config.json / data.json (run or cell).
    config, info: its resolved config and data.json.
    seed: the member's seed.
    member: its row in the stacked checkpoint state.
    checkpoints: the Orbax checkpoint directory (None for closed forms).
    results: results.json ({} before the run finished).
  """

  path: pathlib.Path
  config: ml_collections.ConfigDict
  info: dict[str, Any]
  seed: int
  member: int
  checkpoints: pathlib.Path | None
  results: dict[str, Any]

  @property
  def closed_form(self) -> bool:
    return translate.is_closed_form(self.config)


def _read_json(path: pathlib.Path) -> dict[str, Any]:
  if not path.is_file():
    raise FileNotFoundError(
        f"{path} is missing: {path.parent} is not the workdir of a trained "
        "translator (python -m embtrans.main --workdir=..., or a sweep's "
        "cells/<cell>/seed_<s>/).")
  return json.loads(path.read_text())


def _seeds(config: ml_collections.ConfigDict) -> list[int]:
  return [config.seed + i for i in range(config.get("num_seeds", 1))]


def _pick_seed(path: pathlib.Path, config, seed: int | None) -> int:
  seeds = _seeds(config)
  if seed is None and len(seeds) > 1:
    raise ValueError(f"{path} trained seeds {seeds}: name one (seed=..., or "
                     f"the member directory {path}/seed_<s>).")
  seed = seeds[0] if seed is None else int(seed)
  if seed not in seeds:
    raise ValueError(f"{path} has no member with seed {seed}; its seeds are "
                     f"{seeds}.")
  return seed


def find_run(workdir: str | pathlib.Path, seed: int | None = None) -> Run:
  """Resolves a run workdir, a sweep cell or a sweep member directory.

  Raises:
    FileNotFoundError: not a translator's workdir.
    ValueError: an ambiguous or unknown seed, or a task other than translate.
  """
  path = pathlib.Path(workdir)
  if path.name.startswith("seed_") and (path.parent / "cell.json").is_file():
    path, seed = path.parent, int(path.name.removeprefix("seed_"))
  config = ml_collections.ConfigDict(_read_json(path / "config.json"))
  if config.get("task", "translate") != "translate":
    raise ValueError(f"{path} trained task {config.task!r}; only translate "
                     "runs are translators.")
  info = _read_json(path / "data.json")
  seed = _pick_seed(path, config, seed)
  results = (json.loads((path / "results.json").read_text())
             if (path / "results.json").is_file() else {})
  if not (path / "cell.json").is_file():  # A single run.
    return Run(path, config, info, seed, seed - config.seed,
               path / "checkpoints", results)
  cell = _read_json(path / "cell.json")
  members = cell.get("members")
  if members is None and results.get("program_members", 1) != 1:
    raise ValueError(f"{path / 'cell.json'} does not say which row of program"
                     f" {cell['program']} is seed {seed} (written before "
                     "sweeps recorded it); rerun the cell in a new workdir.")
  member = int(members[str(seed)]) if members else 0
  return Run(path, config, info, seed, member, path.parent.parent /
             "programs" / str(cell["program"]) / "checkpoints", results)


def restore_params(run: Run) -> tuple[Any, int]:
  """(the member's params as numpy, the checkpoint step) of a trained run.

  Raises:
    checkpointing.CheckpointError: no checkpoint, an unreadable one, or one
      whose member row disagrees with the config (its learning rate).
  """
  if not run.checkpoints or not run.checkpoints.is_dir():
    raise checkpointing.CheckpointError(
        f"No checkpoint at {run.checkpoints}: the run has not saved one "
        "(not trained yet, config.checkpoint_every = 0, or a sweep program "
        "above max_checkpoint_gib). Train it with checkpoints first.")
  # Read by this process alone, onto its first device, however the run was
  # sharded: a multi-process launch's other processes need not take part.
  me = jax.process_index()
  manager = ocp.CheckpointManager(
      run.checkpoints.absolute(), item_handlers=ocp.StandardCheckpointHandler(),
      options=ocp.CheckpointManagerOptions(
          multiprocessing_options=ocp.options.MultiprocessingOptions(
              primary_host=me, active_processes={me}),
          create=False))
  try:
    step = manager.latest_step()
    if step is None:
      raise checkpointing.CheckpointError(
          f"No checkpoint in {run.checkpoints}: the run has not saved one "
          "yet. Train it (python -m embtrans.main) first.")
    try:
      raw = manager.restore(step, args=ocp.args.StandardRestore(
          _local_target(manager.item_metadata(step))))
    except Exception as e:  # pylint: disable=broad-except
      raise checkpointing.CheckpointError(
          f"Checkpoint {step} in {run.checkpoints} could not be read "
          f"({type(e).__name__}: {str(e)[:200]}).") from e
  finally:
    manager.close()
  lrs = np.asarray(raw["lr"])
  lr = float(run.config.optimizer.learning_rate)
  if run.member >= len(lrs) or not np.isclose(lrs[run.member], lr):
    raise checkpointing.CheckpointError(
        f"{run.checkpoints} step {step}: member row {run.member} of "
        f"{len(lrs)} does not hold this run (learning rate {lr}).")
  params = jax.tree.map(lambda x: np.asarray(x)[run.member], raw["params"])
  return params, int(step)


def _local_target(metadata) -> Any:
  """Abstract arrays of a checkpoint's shapes on this process's first device."""
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  tree = getattr(metadata, "tree", metadata)
  return jax.tree.map(
      lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), tree)


@dataclasses.dataclass(frozen=True)
class Translator:
  """A restored translator; call it on `[n, source_dim]` numpy arrays.

  Attributes:
    workdir: where it was trained (the run or sweep cell directory).
    config: its resolved training config.
    step: the checkpoint step restored (0 for a closed-form fit).
    source, target: names of the source and target embedding datasets.
    source_dim, target_dim: their dims.
    seed: the member's seed.
  """

  workdir: pathlib.Path
  config: ml_collections.ConfigDict
  step: int
  source: str
  target: str
  source_dim: int
  target_dim: int
  _predict: Callable[[np.ndarray], np.ndarray] = dataclasses.field(repr=False)
  seed: int = 0

  @property
  def model_name(self) -> str:
    return str(self.config.model.name)

  def __call__(self, x: np.ndarray) -> np.ndarray:
    """Translates `x: [n, source_dim]` -> float32 `[n, target_dim]`."""
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or x.shape[1] != self.source_dim:
      raise ValueError(
          f"The translator in {self.workdir} maps {self.source_dim}-d "
          f"vectors ({self.source}) to {self.target_dim}-d ({self.target}); "
          f"got an array of shape {x.shape}.")
    return np.asarray(self._predict(x), np.float32)


def closed_form_fit(run: Run):
  """The closed-form translator of `run`, refitted on its training split."""
  data = translate.load_data(run.config)
  return translate.fit_closed_form(run.config.model.name, data)


def load_translator(workdir: str | pathlib.Path, batch_size: int = 1024,
                    seed: int | None = None) -> Translator:
  """Restores the translator of `workdir` (see the module docstring).

  Args:
    workdir: a run workdir, a sweep cell or a sweep member directory.
    batch_size: rows per compiled call (inputs are padded to a multiple).
    seed: which member, when the run or cell trained several seeds.

  Raises:
    FileNotFoundError: no config.json / data.json in `workdir`.
    checkpointing.CheckpointError: no checkpoint, or it cannot be restored.
  """
  run = find_run(workdir, seed)
  info = run.info
  if run.closed_form:
    predict, step = closed_form_fit(run), 0
  else:
    params, step = restore_params(run)
    model = translate.build_model(run.config, int(info["target_dim"]))
    batched = translate.make_predict_fn(model, sharding.make_mesh(1),
                                        batch_size)
    stacked = jax.tree.map(lambda p: p[None], params)
    predict = lambda x: batched(stacked, np.asarray(x)[None])[0]
  return Translator(run.path, run.config, step, str(info["source"]),
                    str(info["target"]), int(info["source_dim"]),
                    int(info["target_dim"]), predict, run.seed)
