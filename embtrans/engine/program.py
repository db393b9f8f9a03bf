"""A program: what a task hands the engine to train M members of one shape.

  prog = task.build(configs, datas, mesh)     # one config per member
  outcome = program.train(prog, mesh, manager, on_window)
  per_member = prog.evaluate(outcome.members.params)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import jax
import optax

from embtrans import checkpointing
from embtrans.engine import loop
from embtrans.engine import members as members_lib


@dataclasses.dataclass
class Program:
  """M members of one shape, ready to train.

  Attributes:
    names: a name per member (messages, writers).
    init_fns: per member, a jitted `key -> params` (reuse across members).
    seeds: per member, its init seed.
    lrs: per member, its peak learning rate.
    tx: the optimizer transformation (from `optim.create`).
    unit: its unit schedule (lr multiplier by step), for logging.
    step: `members.member_step(...)`: one member, one batch.
    feed: a DeviceFeed or StreamFeed.
    num_steps: training steps.
    evaluate: `params [M, ...] -> [M] (scores, artifacts)` on the test
      split; scores are flat {key: float}, artifacts {name: np.ndarray}.
  """

  names: Sequence[str]
  init_fns: Sequence[Callable[[jax.Array], Any]]
  seeds: Sequence[int]
  lrs: Sequence[float]
  tx: optax.GradientTransformation
  unit: optax.Schedule
  step: Callable
  feed: Any
  num_steps: int
  evaluate: Callable[[Any], list[tuple[dict, dict]]]


def init(prog: Program, mesh: jax.sharding.Mesh) -> members_lib.Members:
  return members_lib.init(prog.init_fns, prog.seeds, prog.lrs, prog.tx, mesh)


def train(prog: Program, mesh: jax.sharding.Mesh, manager, *,
          log_every: int, checkpoint_every: int,
          on_window: Callable[[loop.Window], None], nan_policy: str = "stop",
          desc: str = "train") -> tuple[loop.Outcome, int]:
  """Initialises (or resumes from `manager`) and trains; -> (outcome, start).

  `manager` is an Orbax CheckpointManager or `checkpointing.NoCheckpoints()`.
  """
  state, start = checkpointing.restore_latest(manager, init(prog, mesh))
  chunk = members_lib.chunk_fn(prog.step, prog.feed, mesh)
  outcome = loop.run(chunk, state, prog.feed, start, prog.num_steps,
                     log_every=log_every, checkpoint_every=checkpoint_every,
                     manager=manager, on_window=on_window, names=prog.names,
                     nan_policy=nan_policy, desc=desc)
  return outcome, start
