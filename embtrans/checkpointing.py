"""Orbax checkpoints with auto-resume from the latest complete step."""

from __future__ import annotations

import pathlib
from typing import Any, TypeVar

import jax
import orbax.checkpoint as ocp
from absl import logging

State = TypeVar("State")


class CheckpointError(RuntimeError):
  """A checkpoint exists but cannot be restored."""


def create_manager(directory: str | pathlib.Path, max_to_keep: int = 3
                   ) -> ocp.CheckpointManager:
  """A manager over `directory`; saves are asynchronous, commits atomic."""
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
  return ocp.CheckpointManager(pathlib.Path(directory).absolute(),
                               options=options)


def restore_latest(manager: ocp.CheckpointManager, target: State
                   ) -> tuple[State, int]:
  """Returns (restored state, its step), or (target, 0) with no checkpoint.

  `target` supplies structure, dtypes and shardings (optax states would come
  back as plain lists without it).

  Raises:
    CheckpointError: the latest checkpoint is unreadable; nothing is deleted.
  """
  step = manager.latest_step()
  if step is None:
    return target, 0
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
  try:
    state = manager.restore(step, args=ocp.args.StandardRestore(abstract))
  except Exception as e:  # pylint: disable=broad-except
    others = [s for s in manager.all_steps() if s != step]
    hint = (f"move {manager.directory}/{step} aside to resume from step "
            f"{max(others)}" if others else "use a new --workdir")
    raise CheckpointError(
        f"Checkpoint at step {step} in {manager.directory} could not be "
        f"restored ({type(e).__name__}: {str(e)[:300]}). It may be corrupt or"
        f" from a different model/config. Nothing was deleted; {hint}.") from e
  logging.info("Resumed from checkpoint step %d in %s.", step,
               manager.directory)
  return state, int(step)


def resume_step(manager) -> int:
  """The step a run on `manager` resumes from (0: a fresh start)."""
  return int(manager.latest_step() or 0)


def save(manager: ocp.CheckpointManager, step: int, state: Any) -> None:
  manager.save(step, args=ocp.args.StandardSave(state), force=True)


class NoCheckpoints:
  """A CheckpointManager stand-in that saves nothing and never resumes.

  For benchmarks and tests that compare training numbers or times only.
  """

  directory = "(none)"

  def save(self, *args, **kwargs) -> None:
    del args, kwargs

  def wait_until_finished(self) -> None:
    pass

  def latest_step(self) -> None:
    return None
