"""Feeds: how each member's batch reaches the compiled step.

Both feeds give the step, per chunk of steps, `inputs` with a leading
[steps] axis and a traced `select(resident, inputs_t) -> batch [M, B, ...]`.

DeviceFeed (the default when the data fits on the devices): the training
arrays live on the devices once; per chunk only row indices cross from the
host ([steps, M, B] int32, a few KB), and rows are gathered inside the
compiled step. This is how the loop reaches a bare jit step's speed.

StreamFeed (data too big for the devices, or host-side sampling): the host
builds each chunk's batches for S data streams ([steps, S, B, ...]) and
member m trains on stream `streams[m]`; members with the same stream see
the same batches.

Batch orders come from samplers: `sampler.indices(step) -> pytree of int
arrays [B]` depending only on (seed, step), so a resumed run sees exactly
the batches of an uninterrupted one.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from embtrans import sharding
from embtrans.data import batching


class RowSampler:
  """`indices(step) -> [B]` rows, shuffled without replacement per epoch."""

  def __init__(self, num_rows: int, batch_size: int, seed: int):
    self._batches = batching.EpochBatches(num_rows, batch_size, seed)

  def indices(self, step: int) -> np.ndarray:
    return self._batches.indices(step).astype(np.int32)


def _batch_axis_sharding(mesh: jax.sharding.Mesh, axis: int) -> NamedSharding:
  return NamedSharding(mesh, P(*([None] * axis), sharding.DATA_AXIS))


def _put(tree: Any, spec: NamedSharding, axis: int) -> Any:
  """Host pytree (same on every process) -> global arrays, `axis` sharded.

  Each process contributes only its own slice of the batch axis.
  """
  procs, pid = jax.process_count(), jax.process_index()

  def put(a: np.ndarray) -> jax.Array:
    per = a.shape[axis] // procs
    local = np.take(a, np.arange(pid * per, (pid + 1) * per), axis=axis)
    return jax.make_array_from_process_local_data(spec, local, a.shape)
  return jax.tree.map(put, tree)


class DeviceFeed:
  """Rows gathered on the device by index.

  Args:
    resident: pytree of host arrays, each [rows, ...] (shared by all
      members) or, with `per_member`, [M, rows, ...] (member m's own data).
    samplers: one per member.
    gather: `gather(resident_one, idx) -> batch`, traced; `resident_one` is
      the resident pytree without the member axis, `idx` one sampler output.
    mesh: the device mesh; batches are split over its 'data' axis.
    per_member: whether `resident` carries a leading member axis.
  """

  def __init__(self, resident: Any, samplers: Sequence[Any],
               gather: Callable[[Any, Any], Any], mesh: jax.sharding.Mesh,
               per_member: bool = False):
    self.resident = jax.device_put(resident, sharding.replicated(mesh))
    self._samplers, self._gather = list(samplers), gather
    self._in_axis = 0 if per_member else None
    self.inputs_sharding = _batch_axis_sharding(mesh, 2)

  def inputs(self, start: int, steps: int) -> Any:
    """-> device pytree of indices, leaves [steps, M, B] int32."""
    per_step = [jax.tree.map(lambda *x: np.stack(x),
                             *[s.indices(t) for s in self._samplers])
                for t in range(start, start + steps)]
    host = jax.tree.map(lambda *x: np.stack(x), *per_step)
    return _put(host, self.inputs_sharding, 2)

  def select(self, resident: Any, inputs_t: Any, single: bool = False
             ) -> Any:
    """-> batch leaves [M, B, ...], or [B, ...] for member 0 if `single`."""
    if single:
      one = resident if self._in_axis is None else jax.tree.map(
          lambda a: a[0], resident)
      return self._gather(one, jax.tree.map(lambda a: a[0], inputs_t))
    return jax.vmap(self._gather, in_axes=(self._in_axis, 0))(
        resident, inputs_t)


class StreamFeed:
  """Host-built batches of S data streams; member m reads `streams[m]`.

  Args:
    fetch: `fetch(stream, step) -> pytree of host arrays [B, ...]`.
    streams: [M] stream index of each member (0..S-1).
    mesh: the device mesh; batches are split over its 'data' axis.
  """

  resident = None

  def __init__(self, fetch: Callable[[int, int], Any], streams: Sequence[int],
               mesh: jax.sharding.Mesh):
    self._fetch = fetch
    self._streams = np.asarray(streams, np.int32)
    self._num_streams = int(self._streams.max()) + 1
    self.inputs_sharding = _batch_axis_sharding(mesh, 2)

  def inputs(self, start: int, steps: int) -> Any:
    """-> device pytree, leaves [steps, S, B, ...]."""
    per_step = [jax.tree.map(lambda *x: np.stack(x), *[
        self._fetch(s, t) for s in range(self._num_streams)])
                for t in range(start, start + steps)]
    host = jax.tree.map(lambda *x: np.stack(x), *per_step)
    return _put(host, self.inputs_sharding, 2)

  def select(self, resident: Any, inputs_t: Any, single: bool = False
             ) -> Any:
    """-> batch leaves [M, B, ...], or [B, ...] for member 0 if `single`."""
    del resident
    if single:
      return jax.tree.map(lambda a: a[int(self._streams[0])], inputs_t)
    return jax.tree.map(lambda a: a[self._streams], inputs_t)
