"""Devices, the data-parallel Mesh, and host -> global array transfer.

One 1-D mesh axis, 'data': parameters are replicated, batches are split along
their leading axis. Works on 1 device, on fake CPU devices
(`XLA_FLAGS=--xla_force_host_platform_device_count=8`) and across hosts after
`initialize_distributed()`.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import jax
import numpy as np
from absl import logging
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def distributed_mode(env: Mapping[str, str] | None = None) -> str | None:
  """How this process joins a multi-process run, or None (a plain run).

    'explicit'  EMBTRANS_COORDINATOR=host:port, EMBTRANS_NUM_PROCESSES,
                EMBTRANS_PROCESS_ID (launch/local_multiprocess.sh,
                launch/gpu_hosts.sh);
    'auto'      EMBTRANS_DISTRIBUTED=1 (launch/tpu_vm.sh: JAX finds the TPU
                workers itself), or a SLURM job step with more than one task
                (launch/slurm.sh: JAX reads SLURM's variables).
  A single-host run without these never initialises anything.
  """
  env = os.environ if env is None else env
  if env.get("EMBTRANS_COORDINATOR"):
    return "explicit"
  if env.get("EMBTRANS_DISTRIBUTED") == "1":
    return "auto"
  tasks = env.get("SLURM_STEP_NUM_TASKS") or env.get("SLURM_NTASKS")
  if "SLURM_PROCID" in env and tasks and int(tasks) > 1:
    return "auto"
  return None


def initialize_distributed() -> None:
  """Calls `jax.distributed.initialize()` when a multi-process run is set up
  (see `distributed_mode`); call it before any computation.

  EMBTRANS_HEARTBEAT_TIMEOUT_S (default 100): how long the others wait for
  a process that stopped answering before they abort with JAX's "another
  task died" error instead of hanging in a collective.
  """
  mode = distributed_mode()
  if mode is None:
    return
  kwargs = {"heartbeat_timeout_seconds": int(
      os.environ.get("EMBTRANS_HEARTBEAT_TIMEOUT_S", "100"))}
  if mode == "explicit":
    kwargs.update(coordinator_address=os.environ["EMBTRANS_COORDINATOR"],
                  num_processes=int(os.environ["EMBTRANS_NUM_PROCESSES"]),
                  process_id=int(os.environ["EMBTRANS_PROCESS_ID"]))
  jax.distributed.initialize(**kwargs)
  logging.info("jax.distributed: process %d of %d, %d global devices.",
               jax.process_index(), jax.process_count(), jax.device_count())


def make_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D ('data',) mesh over the first `num_devices` devices (default all)."""
  devices: Sequence[jax.Device] = jax.devices()
  if num_devices:
    if num_devices > len(devices):
      raise ValueError(f"num_devices={num_devices} but only {len(devices)} "
                       "devices are visible.")
    devices = devices[:num_devices]
  return Mesh(np.asarray(devices), (DATA_AXIS,),
              axis_types=(jax.sharding.AxisType.Auto,))


def data_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over 'data'."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  n = mesh.devices.size
  if batch_size % n:
    raise ValueError(f"batch_size={batch_size} must be divisible by the "
                     f"{n} devices of the mesh; pick a multiple of {n}.")


def max_inflight_steps(mesh: Mesh, configured: int = -1) -> int:
  """How many dispatched steps may be queued; 0 means no limit.

  -1 (auto): 2 on a CPU mesh of several devices, else no limit. XLA's
  in-process CPU collectives (jax 0.10) deadlock when three or more
  executions of an all-reducing program are queued on fake CPU devices
  (`--xla_force_host_platform_device_count`); waiting for step i-1 before
  step i+1 is dispatched avoids it and still overlaps host and device work.
  """
  if configured >= 0:
    return configured
  cpu = mesh.devices.flat[0].platform == "cpu"
  return 2 if cpu and mesh.devices.size > 1 else 0


def put_global_batch(batch: np.ndarray, sharding: NamedSharding) -> jax.Array:
  """Host `batch: [global_batch, ...]` (same on every process) -> global array.

  Each process contributes only its own rows, so this scales to many hosts.
  """
  procs, pid = jax.process_count(), jax.process_index()
  per_proc = batch.shape[0] // procs
  local = batch[pid * per_proc:(pid + 1) * per_proc]
  return jax.make_array_from_process_local_data(sharding, local, batch.shape)
