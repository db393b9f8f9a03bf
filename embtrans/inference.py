"""Use a trained translator: restore it from its workdir, apply it to numpy.

    from embtrans import inference
    translate = inference.load_translator("/tmp/mlp8x")   # a main.py workdir
    y = translate(x)          # x: [n, d_src] float -> y: [n, d_tgt] float32
    translate.source, translate.target                    # dataset names

The workdir of `python -m embtrans.main` holds config.json (the resolved
config), data.json (source / target names and dims) and Orbax checkpoints;
the model is rebuilt from the config (`train.build_model`), restored from the
latest checkpoint and run under one jit-compiled function on one device.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from embtrans import checkpointing
from embtrans import sharding
from embtrans.engine import members as members_lib
from embtrans.engine import optim
from embtrans.tasks import translate


@dataclasses.dataclass(frozen=True)
class Translator:
  """A restored translator; call it on `[n, source_dim]` numpy arrays.

  Attributes:
    workdir: where it was trained.
    config: its resolved training config.
    step: the checkpoint step restored.
    source, target: names of the source and target embedding datasets.
    source_dim, target_dim: their dims.
  """

  workdir: pathlib.Path
  config: ml_collections.ConfigDict
  step: int
  source: str
  target: str
  source_dim: int
  target_dim: int
  _predict: Callable[[np.ndarray], np.ndarray] = dataclasses.field(repr=False)

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


def _read_json(path: pathlib.Path) -> dict[str, Any]:
  if not path.is_file():
    raise FileNotFoundError(
        f"{path} is missing: {path.parent} is not the workdir of a trained "
        "translator (python -m embtrans.main --workdir=...).")
  return json.loads(path.read_text())


def load_translator(workdir: str | pathlib.Path, batch_size: int = 1024
                    ) -> Translator:
  """Restores the latest checkpoint of the translator trained in `workdir`.

  Args:
    workdir: a `python -m embtrans.main` workdir.
    batch_size: rows per compiled call (inputs are padded to a multiple).

  Raises:
    FileNotFoundError: no config.json / data.json in `workdir`.
    checkpointing.CheckpointError: no checkpoint, or it cannot be restored.
  """
  path = pathlib.Path(workdir)
  config = ml_collections.ConfigDict(_read_json(path / "config.json"))
  info = _read_json(path / "data.json")
  model = translate.build_model(config, int(info["target_dim"]))
  tx, _ = optim.create(config.optimizer, config.num_train_steps)
  mesh = sharding.make_mesh(1)
  init = jax.jit(lambda key: model.init(key, jnp.zeros(
      (1, int(info["source_dim"])), jnp.float32))["params"])
  state = members_lib.init([init], [config.seed],
                           [config.optimizer.learning_rate], tx, mesh)
  manager = checkpointing.create_manager(path / "checkpoints",
                                         config.max_checkpoints)
  try:
    if manager.latest_step() is None:
      raise checkpointing.CheckpointError(
          f"No checkpoint in {path / 'checkpoints'}: the run has not saved "
          "one yet. Train it (python -m embtrans.main) first.")
    state, step = checkpointing.restore_latest(manager, state)
  finally:
    manager.close()
  predict = translate.make_predict_fn(model, mesh, batch_size)
  params = state.params  # [1, ...]: the run's one member.
  return Translator(path, config, step, str(info["source"]),
                    str(info["target"]), int(info["source_dim"]),
                    int(info["target_dim"]),
                    lambda x: predict(params, np.asarray(x)[None])[0])
