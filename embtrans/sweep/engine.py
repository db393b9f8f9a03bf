"""Train a stack of same-shape translators in one compiled program.

The single trainer's pure step (`train.train_step_fn`) is vmapped over a
leading member axis of params, optimizer state and batches, and
`lax.scan`-ned over a chunk of steps, so one dispatch runs `chunk` steps of
every member. The training arrays of all members live on the device
([members, rows, dim]); each step gathers each member's batch on the device
from row indices that the host computes with the member's own
`batching.EpochBatches` — the batches the single trainer would use — so a
member trained here equals the member trained alone (up to float rounding).

Host syncs happen once per chunk (`config.log_every` steps) when its losses
are fetched, one chunk behind the one running, which also keeps at most two
executions queued (`sharding.max_inflight_steps` on CPU meshes).

Parallelism: each member's batch is split over the mesh's 'data' axis, as in
the single trainer. One process only (host arrays are placed with
`jax.device_put`); sharding the member axis over devices instead would suit
many-accelerator machines better and is not done yet.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax.sharding import NamedSharding, PartitionSpec as P
from tqdm import tqdm

from embtrans import sharding
from embtrans import train
from embtrans.data import batching
from embtrans.data import build as build_lib

ChunkFn = Callable[[train.TrainState, jax.Array, jax.Array, jax.Array],
                   tuple[train.TrainState, jax.Array]]


def make_init_fn(model, tx, in_dim: int, mesh: jax.sharding.Mesh
                 ) -> Callable[[Sequence[int]], train.TrainState]:
  """Returns `init(seeds) -> stacked TrainState [members, ...]`.

  Member i's params are `model.init(key(seeds[i]))`, as in
  `train.create_train_state`. One compiled single-member init is called per
  seed and the results stacked: compiling a vmapped init takes several times
  longer on CPU (vmapped threefry), which adds up over a grid's programs.
  """
  repl = sharding.replicated(mesh)
  init_params = jax.jit(
      lambda rng: model.init(rng, jnp.zeros((1, in_dim), jnp.float32))[
          "params"], out_shardings=repl)

  def finish(params):
    m = jax.tree.leaves(params)[0].shape[0]
    return train.TrainState(jnp.zeros((m,), jnp.int32), params,
                            jax.vmap(tx.init)(params))
  finish = jax.jit(finish, donate_argnums=(0,), out_shardings=repl)

  def init(seeds: Sequence[int]) -> train.TrainState:
    params = [init_params(jax.random.key(int(s))) for s in seeds]
    return finish(jax.tree.map(lambda *leaves: jnp.stack(leaves), *params))

  return init


def init_stack(model, tx, in_dim: int, seeds: Sequence[int],
               mesh: jax.sharding.Mesh) -> train.TrainState:
  """Stacked initial states of `seeds` (see `make_init_fn`)."""
  return make_init_fn(model, tx, in_dim, mesh)(seeds)


def make_chunk_fn(model, tx, loss_fn, mesh: jax.sharding.Mesh) -> ChunkFn:
  """Returns `run(state, xs, ys, idx) -> (state, losses [steps, members])`.

  Args of `run`:
    state: stacked TrainState [members, ...] (donated).
    xs: [members, rows, d_in] training inputs of each member (replicated).
    ys: [members, rows, d_out] training targets.
    idx: [steps, members, batch] int32 row indices, split over 'data'.

  Compiled once per (members, rows, steps, batch) shape.
  """
  step = jax.vmap(train.train_step_fn(model, tx, loss_fn))
  gather = jax.vmap(lambda a, i: a[i])  # [m, rows, d], [m, b] -> [m, b, d]

  def run(state, xs, ys, idx):
    def body(state, idx_t):
      return step(state, gather(xs, idx_t), gather(ys, idx_t))
    return jax.lax.scan(body, state, idx)

  repl = sharding.replicated(mesh)
  idx_sharding = NamedSharding(mesh, P(None, None, sharding.DATA_AXIS))
  return jax.jit(run, donate_argnums=(0,),
                 in_shardings=(repl, repl, repl, idx_sharding),
                 out_shardings=(repl, repl))


def make_predict_fn(model, mesh: jax.sharding.Mesh, batch_size: int
                    ) -> Callable[[Any, np.ndarray], np.ndarray]:
  """Returns `predict(params [members, ...], xs [m, n, d_in]) -> [m, n, d_out]`.

  Rows go through in blocks of `batch_size` (the last one zero-padded), so
  any n compiles once and memory stays O(members x batch_size x width).
  """
  repl = sharding.replicated(mesh)
  apply = jax.jit(jax.vmap(lambda p, x: model.apply({"params": p}, x)),
                  in_shardings=(repl, repl), out_shardings=repl)

  def predict(params, xs: np.ndarray) -> np.ndarray:
    n = xs.shape[1]
    padded = np.pad(xs, ((0, 0), (0, -n % batch_size), (0, 0)))
    outs = [apply(params, padded[:, i:i + batch_size])
            for i in range(0, padded.shape[1], batch_size)]
    return np.concatenate(jax.device_get(outs), axis=1)[:, :n]

  return predict


def stack_rows(arrays: Sequence[np.ndarray]) -> np.ndarray:
  """[m] arrays [n_i, d] -> [m, max n_i, d] float32, zero-padded rows."""
  rows = max(a.shape[0] for a in arrays)
  out = np.zeros((len(arrays), rows, arrays[0].shape[1]), np.float32)
  for i, a in enumerate(arrays):
    out[i, :a.shape[0]] = a
  return out


@dataclasses.dataclass
class ChunkLog:
  """What a finished chunk reports: its last step and per-member losses."""

  step: int
  losses: np.ndarray      # [steps, members] float64
  seconds: float


class StackTrainer:
  """Runs steps of a stacked state; the per-member batch order is fixed.

  Args:
    chunk_fn: from `make_chunk_fn` (or its ahead-of-time compiled form).
    xs, ys: per-member training arrays [n_i, d], stacked and put on the
      devices here as `self.xs` [m, max n_i, d_in], `self.ys`.
    batch_size, seeds: the members' batch size and batch-order seeds.
    mesh: the device mesh.
  """

  def __init__(self, chunk_fn: ChunkFn, xs: Sequence[np.ndarray],
               ys: Sequence[np.ndarray], batch_size: int,
               seeds: Sequence[int], mesh: jax.sharding.Mesh):
    sharding.check_batch_size(batch_size, mesh)
    repl = sharding.replicated(mesh)
    self._chunk_fn = chunk_fn
    self.xs = jax.device_put(stack_rows(xs), repl)
    self.ys = jax.device_put(stack_rows(ys), repl)
    self._batches = [batching.EpochBatches(len(x), batch_size, s)
                     for x, s in zip(xs, seeds)]
    self.idx_sharding = NamedSharding(mesh, P(None, None, sharding.DATA_AXIS))

  def indices(self, start: int, steps: int) -> np.ndarray:
    """[steps, members, batch] int32 row indices of steps start..start+steps."""
    return np.stack([np.stack([b.indices(s) for b in self._batches])
                     for s in range(start, start + steps)]).astype(np.int32)

  def dispatch(self, state: train.TrainState, start: int, steps: int
               ) -> tuple[train.TrainState, jax.Array]:
    """Queues `steps` steps from `start`; returns without waiting."""
    idx = jax.device_put(self.indices(start, steps), self.idx_sharding)
    with jax.transfer_guard("disallow"):
      return self._chunk_fn(state, self.xs, self.ys, idx)


def train_stack(trainer: StackTrainer, state: train.TrainState, start: int,
                total: int, chunk: int, on_chunk: Callable[[ChunkLog], None],
                save: Callable[[int, train.TrainState], None],
                checkpoint_every: int, desc: str) -> train.TrainState:
  """Steps `start..total` in chunks; logs each chunk, checkpoints at bounds.

  `on_chunk` sees each chunk's losses one chunk late (the only host sync);
  `save(step, state)` runs after every chunk that crosses a multiple of
  `checkpoint_every` and after the last.
  """
  queued: collections.deque = collections.deque()
  bar = tqdm(total=total, initial=start, desc=desc, unit="step",
             mininterval=build_lib.progress_interval(),
             disable=jax.process_index() > 0)
  step, t0 = start, time.time()

  def drain(keep: int) -> None:
    nonlocal t0
    while len(queued) > keep:
      done, losses = queued.popleft()
      values = np.asarray(jax.device_get(losses), np.float64)
      now = time.time()
      on_chunk(ChunkLog(done, values, now - t0))
      bar.update(values.shape[0])
      t0 = now

  while step < total:
    steps = min(chunk, total - step)
    state, losses = trainer.dispatch(state, step, steps)
    prev, step = step, step + steps
    queued.append((step, losses))
    drain(keep=1)
    if step == total or step // checkpoint_every > prev // checkpoint_every:
      drain(keep=0)
      save(step, state)
  drain(keep=0)
  bar.close()
  logging.info("%s: %d steps done.", desc, total)
  return state
