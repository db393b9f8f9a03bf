"""One compiled program per shape vs the same members one after another.

  python -m embtrans.bench grid                 default spaces, capped steps
  python -m embtrans.bench grid --archs=all     include 2L 32x (minutes)
  python -m embtrans.bench grid --quick         synthetic spaces, seconds
  python -m embtrans.bench grid --steady        per-step cost, warm chunks

For every program of the grid sweep (cells of one arch and shape), in one
run, the same members, steps and batches:
  grid        the sweep's way: members stacked, vmapped step, `lax.scan`
              over `log_every` steps per dispatch, rows gathered on device;
  sequential  each member as its own single run (M = 1, as `embtrans.main`
              trains it), one after another, reusing one compiled chunk per
              shape (the best case for one-at-a-time training).
Train time is warm (after an ahead-of-time compile, reported separately);
it includes init, excludes evaluation and checkpoints.

--steady times only the compiled chunk (10 steps per dispatch), warm, best
of 5 x 5 dispatches on fixed inputs: ms per step of the M-member program
against the sum over its members run as M = 1 programs. It isolates what
stacking saves per step from init, host and loop costs.
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import time

import jax
import numpy as np
from absl import flags

from embtrans import checkpointing
from embtrans import sharding
from embtrans import sweeps
from embtrans.data import format as fmt
from embtrans.engine import loop
from embtrans.engine import members as members_lib
from embtrans.engine import program as program_lib

DEFAULT_ARCHS = "linear+mlp1_w1+mlp1_w8+mlp1_w32+mlp2_w1+mlp2_w8"
CONFIG = pathlib.Path(__file__).resolve().parents[2] / "configs" / "grid.py"

FLAGS = flags.FlagValues()  # This benchmark's own flags.
_QUICK = flags.DEFINE_bool("quick", False, "Synthetic 2-space data, small "
                           "archs, 20 steps.", flag_values=FLAGS)
_ARCHS = flags.DEFINE_string("archs", DEFAULT_ARCHS, "'+'-joined archs of "
                             "configs/grid.py, or 'all'.", flag_values=FLAGS)
_SPACES = flags.DEFINE_string("spaces", "minilm+minilm_static+tfidf_lsa",
                              "'+'-joined spaces.", flag_values=FLAGS)
_STEADY = flags.DEFINE_bool("steady", False, "Per-step cost of warm "
                            "chunks instead of whole runs.", flag_values=FLAGS)
_MAX_STEPS = flags.DEFINE_integer(
    "max_steps", None, "Cap on each arch's steps, a multiple of log_every "
    "(10); default 50, 20 with --quick.", flag_values=FLAGS)


def synthetic_spaces(root: pathlib.Path, n: int = 1200, dim: int = 48,
                     count: int = 2) -> list[str]:
  """Related random spaces written as embedding datasets (for --quick)."""
  rng = np.random.default_rng(0)
  latent = rng.standard_normal((n, 16))
  ids = [f"x{i}" for i in range(n)]
  out = []
  for k in range(count):
    path = root / f"space{k}"
    vectors = np.tanh(latent @ rng.standard_normal((16, dim)))
    fmt.write_dataset(path, ids, vectors.astype(np.float32),
                      texts=[f"t{i}" for i in ids],
                      manifest_extra={"name": f"space{k}"})
    out.append(str(path))
  return out


def _groups(archs: str, spaces: str, max_steps: int) -> list[sweeps.Group]:
  module = sweeps.load_config_module(str(CONFIG))
  if archs == "all":
    archs = "+".join(module.ARCHS)
  cells = [c for c in sweeps.collect_cells(
      module, f"archs={archs},spaces={spaces},seeds=1")
           if c.config.model.name not in module.CLOSED_FORM]
  for c in cells:
    c.config.num_train_steps = min(c.config.num_train_steps, max_steps)
  return [g for g in sweeps.plan(cells, memo={}) if not g.closed_form]


def _timed(prog, mesh, compiled=None) -> tuple[float, float, object]:
  """(compile s, train s, compiled chunk) of one program."""
  t0 = time.perf_counter()
  state = program_lib.init(prog, mesh)
  c = compiled
  t1 = time.perf_counter()
  if c is None:
    n = min(prog.num_steps, 10)
    c = members_lib.chunk_fn(prog.step, prog.feed, mesh).lower(
        state, prog.feed.resident, prog.feed.inputs(0, n)).compile()
  t2 = time.perf_counter()
  out = loop.run(c, state, prog.feed, 0, prog.num_steps, log_every=10,
                 checkpoint_every=0, manager=checkpointing.NoCheckpoints(),
                 on_window=lambda w: None, names=prog.names, desc="bench")
  jax.block_until_ready(out.members)
  return t2 - t1, time.perf_counter() - t0 - (t2 - t1), c


def time_group(group: sweeps.Group, mesh) -> tuple[tuple, tuple]:
  """((grid compile, grid train), (sequential compile, sequential train))."""
  cfgs, datas, names, _ = sweeps._members(group)  # pylint: disable=protected-access
  # The model's init compiles once per shape and is shared by both paths:
  # compile it before either is timed, so neither pays it for the other.
  prog = group.task.build(cfgs[:1], datas[:1], names[:1], mesh)
  jax.block_until_ready(prog.init_fns[0](jax.random.key(0)))
  grid = _timed(group.task.build(cfgs, datas, names, mesh), mesh)[:2]
  seq_compile, seq_train, compiled = 0.0, 0.0, None
  for c, d, n in zip(cfgs, datas, names):
    comp, tr, compiled = _timed(group.task.build([c], [d], [n], mesh), mesh,
                                compiled)
    seq_compile, seq_train = seq_compile + comp, seq_train + tr
  return grid, (seq_compile, seq_train)


def _chunk_ms(prog, mesh, run=None, steps: int = 10, repeats: int = 5,
              calls: int = 5) -> tuple[float, object]:
  """(warm ms per step of `prog`'s chunk, best of `repeats`; the chunk).

  Pass the chunk of an earlier program of the same shape as `run` to reuse
  its compile (as `time_group` does for the members alone).
  """
  state = program_lib.init(prog, mesh)
  inputs = prog.feed.inputs(0, steps)
  run = run or members_lib.chunk_fn(prog.step, prog.feed, mesh)
  state, _ = run(state, prog.feed.resident, inputs)
  jax.block_until_ready(state)
  best = float("inf")
  for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(calls):
      state, _ = run(state, prog.feed.resident, inputs)
    jax.block_until_ready(state)
    best = min(best, time.perf_counter() - t0)
  return 1e3 * best / (calls * steps), run


def steady_group(group: sweeps.Group, mesh) -> tuple[float, float]:
  """(ms/step of the stacked program, summed ms/step of its members alone)."""
  cfgs, datas, names, _ = sweeps._members(group)  # pylint: disable=protected-access
  stacked, _ = _chunk_ms(group.task.build(cfgs, datas, names, mesh), mesh)
  alone, run = 0.0, None
  for c, d, n in zip(cfgs, datas, names):
    ms, run = _chunk_ms(group.task.build([c], [d], [n], mesh), mesh, run)
    alone += ms
  return stacked, alone


def steady_table(results) -> str:
  """results: [(program, members, stacked ms, alone ms)]."""
  lines = [f"{'program':<28} {'m':>2} | {'stacked':>8} {'alone':>8} "
           f"{'ratio':>6}   (ms per step, warm chunks)"]
  for key, m, g, s in results:
    lines.append(f"{key:<28} {m:>2} | {g:>8.3f} {s:>8.3f} {s / g:>5.2f}x")
  g, s = sum(r[2] for r in results), sum(r[3] for r in results)
  lines.append(f"{'total':<28} {sum(r[1] for r in results):>2} | {g:>8.3f} "
               f"{s:>8.3f} {s / g:>5.2f}x")
  return "\n".join(lines)


def table(results) -> str:
  """results: [(program, members, steps, (gc, g), (sc, s))]."""
  head = (f"{'program':<28} {'m':>2} {'steps':>5} | {'grid':>7} "
          f"{'seq':>7} {'ratio':>6} | {'grid+c':>7} {'seq+c':>7} "
          f"{'ratio':>6}")
  lines = ["train seconds (warm) | train + compile seconds", head]
  rows = list(results) + [("total", sum(r[1] for r in results), "", (
      sum(r[3][0] for r in results), sum(r[3][1] for r in results)), (
          sum(r[4][0] for r in results), sum(r[4][1] for r in results)))]
  for key, m, steps, (gc, g), (sc, s) in rows:
    lines.append(f"{key:<28} {m:>2} {steps:>5} | {g:>7.2f} {s:>7.2f} "
                 f"{s / g:>5.2f}x | {g + gc:>7.2f} {s + sc:>7.2f} "
                 f"{(s + sc) / (g + gc):>5.2f}x")
  return "\n".join(lines)


def main(argv):
  del argv
  archs, spaces = _ARCHS.value, _SPACES.value
  max_steps = _MAX_STEPS.value or (20 if _QUICK.value else 50)
  with tempfile.TemporaryDirectory() as tmp:
    if _QUICK.value:
      archs, spaces = "linear+mlp1_w1", "+".join(
          synthetic_spaces(pathlib.Path(tmp)))
    groups = _groups(archs, spaces, max_steps)
    mesh = sharding.make_mesh(groups[0].cells[0].config.num_devices or None)
    print(f"JAX {jax.__version__}, {jax.device_count()} "
          f"{jax.devices()[0].platform} device(s), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; {len(groups)} programs.")
    if _STEADY.value:
      print(steady_table([(g.key, len(g.cells), *steady_group(g, mesh))
                          for g in groups]))
      print(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
      return 0
    results = []
    for g in groups:
      grid, seq = time_group(g, mesh)
      steps = g.cells[0].config.num_train_steps
      results.append((g.key, len(g.cells), steps, grid, seq))
      print(f"  {g.key}: grid {grid[1]:.2f}s (+{grid[0]:.2f}s compile), "
            f"sequential {seq[1]:.2f}s (+{seq[0]:.2f}s compile)", flush=True)
  print(table(results))
  print(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
  return 0


