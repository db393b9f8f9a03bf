"""The one training loop: chunks of steps, a log window, NaN policy, saves.

Steps run in chunks of `log_every` (cut also at multiples of
`checkpoint_every`), each chunk ONE dispatch of a scanned, vmapped step.
A chunk's metrics are fetched one chunk late — the loop's only host sync —
so the host prepares chunk k+1 while the device runs chunk k. Before a
checkpoint is written every queued chunk is checked, so a saved state never
holds a diverged member under the 'stop' policy.

NaN policy ("a member's loss is NaN/inf"):
  'stop'      raise TrainingDivergedError naming the member and the step;
              the last good checkpoint stays (single runs).
  'continue'  record the member's first bad step and train the others on
              (sweeps: one diverged member must not cost the program).
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np
from absl import logging
from embtrans import checkpointing
from embtrans import progress

NAN_POLICIES = ("stop", "continue")


class TrainingDivergedError(FloatingPointError):
  """A member's loss became NaN or infinite (policy 'stop')."""


@dataclasses.dataclass
class Window:
  """One fetched chunk: its last step and per-member metric means."""

  step: int
  steps: int
  seconds: float
  means: dict[str, np.ndarray]      # name -> [M] mean over the chunk
  losses: np.ndarray                # [steps, M] float64


@dataclasses.dataclass
class Outcome:
  """What the loop leaves: the state, last means, diverged members."""

  members: Any
  last: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
  diverged: dict[int, int] = dataclasses.field(default_factory=dict)


def segments(start: int, total: int, log_every: int, checkpoint_every: int
             ) -> list[tuple[int, int]]:
  """[begin, end) chunks from start to total, cut at both cadences.

  Boundaries depend only on the cadences, so a run resumed from a saved
  step dispatches exactly the chunks an uninterrupted run would.
  """
  cuts, step = [], start
  while step < total:
    end = min(total, (step // log_every + 1) * log_every)
    if checkpoint_every:
      end = min(end, (step // checkpoint_every + 1) * checkpoint_every)
    cuts.append((step, end))
    step = end
  return cuts


def _fetch(metrics: Mapping[str, jax.Array]) -> dict[str, np.ndarray]:
  """Host copies of a chunk's metrics; blocks until the chunk has run."""
  return jax.device_get(dict(metrics))


def _window(step: int, metrics: Mapping[str, jax.Array], since: float
            ) -> Window:
  """Fetches a chunk; its seconds run from `since` to the fetch's end."""
  fetched = _fetch(metrics)
  seconds = time.time() - since
  losses = np.asarray(fetched["loss"], np.float64)
  means = {k: np.mean(np.asarray(v, np.float64), axis=0)
           for k, v in fetched.items()}
  return Window(step, losses.shape[0], seconds, means, losses)


class _Divergence:
  """Applies the NaN policy to each window."""

  def __init__(self, policy: str, names: Sequence[str], manager):
    if policy not in NAN_POLICIES:
      raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got "
                       f"{policy!r}.")
    self.policy, self.names, self.manager = policy, list(names), manager
    self.first_bad: dict[int, int] = {}

  def check(self, w: Window) -> None:
    for m in np.flatnonzero(~np.isfinite(w.losses).all(axis=0)):
      if m in self.first_bad:
        continue
      col = w.losses[:, m]
      step = w.step - w.steps + 1 + int(np.argmax(~np.isfinite(col)))
      self.first_bad[int(m)] = step
      where = f"Loss of {self.names[m]} became {col[~np.isfinite(col)][0]}"
      if self.policy == "stop":
        self.manager.wait_until_finished()
        raise TrainingDivergedError(
            f"{where} at step {step}. Training stopped; the last good "
            f"checkpoint (step {self.manager.latest_step()}) in "
            f"{self.manager.directory} is kept. Lower config.optimizer."
            "learning_rate or check the inputs for NaN/inf.")
      logging.warning("%s at step %d; the other members continue.", where,
                      step)


def run(chunk: Callable, members: Any, feed, start: int, total: int, *,
        log_every: int, checkpoint_every: int, manager,
        on_window: Callable[[Window], None], names: Sequence[str],
        nan_policy: str = "stop", desc: str = "train") -> Outcome:
  """Trains steps start..total; returns the final state and what it saw.

  Args:
    chunk: `members.chunk_fn(...)` (or its AOT-compiled form).
    members: Members at step `start` (donated as it goes).
    feed: a DeviceFeed or StreamFeed.
    manager: an Orbax CheckpointManager, or `checkpointing.NoCheckpoints()`.
    on_window: called with each fetched Window (writers, progress text).
    names: a name per member, for messages.
  """
  diverged = _Divergence(nan_policy, names, manager)
  out = Outcome(members)
  queued: collections.deque = collections.deque()
  bar = progress.bar(total, start, desc)
  # A chunk runs from the end of the previous one (its fetch, since the
  # loop stays a chunk ahead) or, after a checkpoint, from its dispatch.
  t0 = [time.time()]

  def drain(keep: int) -> None:
    while len(queued) > keep:
      end, metrics = queued.popleft()
      w = _window(end, metrics, since=t0[0])
      t0[0] = time.time()
      diverged.check(w)
      out.last = w.means
      on_window(w)
      bar.update(w.steps)
      bar.set_postfix(loss=f"{np.nanmean(w.means['loss']):.4g}")

  for begin, end in segments(start, total, log_every, checkpoint_every):
    out.members, metrics = chunk(out.members, feed.resident,
                                 feed.inputs(begin, end - begin))
    queued.append((end, metrics))
    drain(keep=1)
    if end == total or (checkpoint_every and end % checkpoint_every == 0):
      drain(keep=0)
      checkpointing.save(manager, end, out.members)
      t0[0] = time.time()
  drain(keep=0)
  bar.close()
  manager.wait_until_finished()
  out.diverged = diverged.first_bad
  return out
