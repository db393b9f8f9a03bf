"""The cost of processes: 2 processes x 1 device vs 1 process x 2 devices.

  python -m embtrans.bench multihost              the tiny grid sweep
  python -m embtrans.bench multihost --repeats=3

Both layouts run the same sweep (`configs/grid.py:tiny=True` on two spaces)
over a global mesh of 2 CPU devices, in fresh workdirs, interleaved; the
multi-process one goes through launch/local_multiprocess.sh (loopback
jax.distributed, gloo collectives). Wall time per run includes process
start, imports, data loading, compiles and training: what a user waits for.
The ratio is the overhead of crossing a process boundary for every
collective, plus starting twice as many processes.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from absl import flags

FLAGS = flags.FlagValues()  # This benchmark's own flags.
_REPEATS = flags.DEFINE_integer("repeats", 2, "Interleaved repeats (median).",
                                flag_values=FLAGS)
_ARG = flags.DEFINE_string(
    "config_arg", "tiny=True,spaces=minilm_static+tfidf_lsa,archs=linear"
    "+mlp1_w1", "configs/grid.py :arg of the sweep.", flag_values=FLAGS)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(processes: int, devices: int, workdir: pathlib.Path) -> float:
  """Seconds of one sweep with `processes` x `devices` CPU devices."""
  env = {**os.environ, "XLA_FLAGS":
         f"--xla_force_host_platform_device_count={devices}"}
  flags_ = [f"--config=configs/grid.py:{_ARG.value}", f"--workdir={workdir}"]
  cmd = ([sys.executable, "-m", "embtrans.sweep", *flags_] if processes == 1
         else ["launch/local_multiprocess.sh", str(processes),
               "embtrans.sweep", *flags_])
  start = time.perf_counter()
  proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                        text=True)
  if proc.returncode:
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
  return time.perf_counter() - start


def main(argv: list[str]) -> int:
  del argv
  print(f"# Sweep configs/grid.py:{_ARG.value}; {os.cpu_count()} CPUs; load "
        f"average at start {os.getloadavg()[0]:.1f}")
  times: dict[str, list[float]] = {"1 process x 2 devices": [],
                                   "2 processes x 1 device": []}
  with tempfile.TemporaryDirectory() as tmp:
    for rep in range(_REPEATS.value):
      times["1 process x 2 devices"].append(
          _run(1, 2, pathlib.Path(tmp) / f"one{rep}"))
      times["2 processes x 1 device"].append(
          _run(2, 1, pathlib.Path(tmp) / f"two{rep}"))
  base = statistics.median(times["1 process x 2 devices"])
  print("| layout | seconds (median) | runs | / 1 process |")
  print("|---|---:|---|---:|")
  for name, ts in times.items():
    print(f"| {name} | {statistics.median(ts):.1f} | "
          f"{', '.join(f'{t:.1f}' for t in ts)} | "
          f"{statistics.median(ts) / base:.2f}x |")
  print(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
  return 0
