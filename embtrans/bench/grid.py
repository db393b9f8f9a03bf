"""One compiled program per shape vs the same members trained one by one.

  python -m embtrans.bench grid                 default spaces, capped steps
  python -m embtrans.bench grid --archs=all     include 2L 32x (minutes)
  python -m embtrans.bench grid --quick         synthetic data, seconds
  python -m embtrans.bench grid --quick --spaces=a+b+c+d --max_steps=400
                                                12 tiny members per program

For every program of the grid (members of one arch and shape), in one run:
  (a) grid        `embtrans.sweep` engine: stacked members, vmapped step,
                  `lax.scan` over `log_every` steps per dispatch, batches
                  gathered on the device;
  (b) sequential  the single trainer (`train.create_train_state`,
                  `train.make_train_step`, `train.train_loop`), one member
                  after another, the jitted step reused across members of
                  the same shape, host batches as in `embtrans.main`;
  (c) processes   an estimate of one process per member: (b) plus, per
                  member, the measured start-up cost of a process (Python +
                  JAX import, data loading, pairing, init and step compile).
Same members, same steps, same batches. Times include compilation (each
path compiles once per shape), exclude evaluation and checkpoint writes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Sequence

import jax
import ml_collections
import numpy as np

from embtrans import checkpointing
from embtrans import losses
from embtrans import sharding
from embtrans import train
from embtrans.data import pairing
from embtrans.sweep import engine
from embtrans.sweep import plan

DEFAULT_ARCHS = "linear+mlp1_w1+mlp1_w8+mlp1_w32+mlp2_w1+mlp2_w8"


class _NoWriter:

  def write_scalars(self, step, scalars):
    del step, scalars


def _grid_config(args) -> ml_collections.ConfigDict:
  import importlib.util  # pylint: disable=g-import-not-at-top
  path = os.path.join(os.path.dirname(__file__), "..", "..", "configs",
                      "grid.py")
  spec = importlib.util.spec_from_file_location("grid_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  archs = "+".join(module.ARCHS) if args.archs == "all" else args.archs
  config = module.get_config(f"archs={archs},spaces={args.spaces}")
  for arch in config.archs.values():
    arch.steps = min(arch.steps, args.max_steps)
  return config


def _synthetic_pairs(config, n: int, dims: Sequence[int]):
  """Random related spaces (for --quick): every ordered pair, paired."""
  rng = np.random.default_rng(0)
  latent = rng.standard_normal((n, 16)).astype(np.float32)
  spaces = [np.tanh(latent @ rng.standard_normal((16, d))).astype(np.float32)
            for d in dims]
  test = np.arange(n) % 5 == 0
  ids = np.array([f"x{i}" for i in range(n)])
  pairs, dim_of = {}, {}
  for i, a in enumerate(config.data.spaces):
    dim_of[a] = dims[i]
    for j, b in enumerate(config.data.spaces):
      if i != j:
        pairs[(a, b)] = pairing.Paired(
            pairing.PairedSplit(ids[~test], spaces[i][~test],
                                spaces[j][~test]),
            pairing.PairedSplit(ids[test], spaces[i][test], spaces[j][test]),
            0, 0)
  return pairs, dim_of


def time_grid(config, program, pairs, mesh) -> tuple[float, float]:
  """(compile s, train s) of `program`'s members as one stack.

  compile: ahead-of-time compile of the scanned chunk program. train: init
  (its compile included) and every step through the compiled program.
  """
  cfg = plan.member_config(config, program.members[0])
  datas = [pairs[(m.source, m.target)] for m in program.members]
  model = plan.build_model(config, program.arch, program.out_dim)
  tx, _ = train.create_optimizer(cfg)
  seeds = [cfg.seed] * len(datas)
  chunk = config.log_every
  if cfg.num_train_steps % chunk:
    raise ValueError(f"steps {cfg.num_train_steps} must be a multiple of "
                     f"log_every={chunk} (one compiled chunk shape).")
  t0 = time.perf_counter()
  state = engine.make_init_fn(model, tx, program.in_dim, mesh)(seeds)
  jit_chunk = engine.make_chunk_fn(model, tx, losses.mse, mesh)
  holder = {}
  trainer = engine.StackTrainer(
      lambda *a: holder["fn"](*a), [d.train.a for d in datas],
      [d.train.b for d in datas], cfg.batch_size, seeds, mesh)
  idx = jax.ShapeDtypeStruct((chunk, len(datas), cfg.batch_size), np.int32,
                             sharding=trainer.idx_sharding)
  t1 = time.perf_counter()
  holder["fn"] = jit_chunk.lower(state, trainer.xs, trainer.ys, idx).compile()
  t2 = time.perf_counter()
  state = engine.train_stack(trainer, state, 0, cfg.num_train_steps, chunk,
                             lambda log: None, lambda step, s: None, 10**9,
                             "grid")
  jax.block_until_ready(state)
  return t2 - t1, time.perf_counter() - t0 - (t2 - t1)


def time_sequential(config, program, pairs, mesh) -> tuple[float, float]:
  """(compile s, train s) of the same members one after another through the
  single trainer: compile is the step's ahead-of-time compile; train is,
  per member, `train.create_train_state` (which compiles its init on every
  call) and `train.train_loop` with the compiled step."""
  cfg = plan.member_config(config, program.members[0])
  cfg.checkpoint_every = 10**9
  model = plan.build_model(config, program.arch, program.out_dim)
  tx, schedule = train.create_optimizer(cfg)
  data = sharding.data_sharding(mesh)
  t0 = time.perf_counter()
  state = train.create_train_state(model, tx, program.in_dim, cfg.seed, mesh)
  batch = [jax.ShapeDtypeStruct((cfg.batch_size, d), np.float32,
                                sharding=data)
           for d in (program.in_dim, program.out_dim)]
  t1 = time.perf_counter()
  step = train.make_train_step(model, tx, losses.mse, mesh).lower(
      state, *batch).compile()
  t2 = time.perf_counter()
  for member in program.members:
    paired = pairs[(member.source, member.target)]
    if member is not program.members[0]:
      state = train.create_train_state(model, tx, program.in_dim, cfg.seed,
                                       mesh)
    state = train.train_loop(cfg, state, step, schedule, paired.train, mesh,
                             checkpointing.NoCheckpoints(), _NoWriter())
    jax.block_until_ready(state)
  return t2 - t1, time.perf_counter() - t0 - (t2 - t1)


_STARTUP = """
import time, jax, jax.numpy as jnp
from embtrans import config_lib, train, losses, sharding
from embtrans.data import pairing, build
c = config_lib.translator_config(dict(name='linear'), 'a={a},b={b}')
paired, info = train.load_paired_data(c)
mesh = sharding.make_mesh()
model = train.build_model(c, info['target_dim'])
tx, _ = train.create_optimizer(c)
state = train.create_train_state(model, tx, info['source_dim'], 0, mesh)
step = train.make_train_step(model, tx, losses.mse, mesh)
data = sharding.data_sharding(mesh)
x = sharding.put_global_batch(paired.train.a[:256], data)
y = sharding.put_global_batch(paired.train.b[:256], data)
state, loss = step(state, x, y); loss.block_until_ready()
"""


def process_startup_seconds(a: str, b: str) -> float:
  """Wall time of a fresh process that gets one linear member to its first
  step: interpreter, imports, data loading and pairing, init, compile."""
  t0 = time.perf_counter()
  subprocess.run([sys.executable, "-c", _STARTUP.format(a=a, b=b)],
                 check=True, capture_output=True)
  return time.perf_counter() - t0


def _table(results, startup: float | None) -> str:
  """results: (program, members, steps, (grid compile, train),
  (sequential compile, train))."""
  head = (f"{'program':<20} {'m':>2} {'steps':>5} | {'grid':>7} "
          f"{'seq':>7} {'ratio':>6} | {'grid+c':>7} {'seq+c':>7} "
          f"{'ratio':>6}")
  lines = ["train seconds (warm) | train + compile seconds", head]
  for key, m, steps, (gc, g), (sc, s) in results:
    lines.append(f"{key:<20} {m:>2} {steps:>5} | {g:>7.2f} {s:>7.2f} "
                 f"{s / g:>5.2f}x | {g + gc:>7.2f} {s + sc:>7.2f} "
                 f"{(s + sc) / (g + gc):>5.2f}x")
  g, s = (sum(r[3][1] for r in results), sum(r[4][1] for r in results))
  gc, sc = (sum(r[3][0] for r in results), sum(r[4][0] for r in results))
  n = sum(r[1] for r in results)
  lines.append(f"{'total':<20} {n:>2} {'':>5} | {g:>7.2f} {s:>7.2f} "
               f"{s / g:>5.2f}x | {g + gc:>7.2f} {s + sc:>7.2f} "
               f"{(s + sc) / (g + gc):>5.2f}x")
  if startup is not None:
    est = s + n * startup
    lines.append(f"(c) one process per member (estimate): {s:.1f}s training"
                 f" + {n} x {startup:.1f}s process start-up = {est:.1f}s, "
                 f"{est / (g + gc):.2f}x the grid's train + compile")
  return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
  parser = argparse.ArgumentParser(prog="python -m embtrans.bench grid")
  parser.add_argument("--quick", action="store_true",
                      help="synthetic 2-space data, small archs, 20 steps")
  parser.add_argument("--archs", default=DEFAULT_ARCHS,
                      help="'+'-joined archs of configs/grid.py, or 'all'")
  parser.add_argument("--spaces", default="minilm+minilm_static+tfidf_lsa")
  parser.add_argument("--max_steps", type=int, default=None,
                      help="cap on each arch's step budget, a multiple of "
                      "the config's log_every (10); default 50, 20 --quick")
  args = parser.parse_args(argv)
  if args.quick:
    args.archs = "linear+mlp1_w1"
    if args.spaces == parser.get_default("spaces"):
      args.spaces = "p+q"
  if args.max_steps is None:
    args.max_steps = 20 if args.quick else 50
  config = _grid_config(args)
  mesh = sharding.make_mesh(config.num_devices or None)
  if args.quick:
    pairs, dims = _synthetic_pairs(config, 1200,
                                   (48,) * len(config.data.spaces))
  else:
    spaces = plan.load_spaces(config)
    pairs = plan.pair_spaces(config, spaces)
    dims = {s: ds.dim for s, ds in spaces.items()}
  programs = plan.plan_programs(config, plan.trained_members(config), dims)
  print(f"JAX {jax.__version__}, {jax.device_count()} "
        f"{jax.devices()[0].platform} device(s), {os.cpu_count()} CPUs, load "
        f"average {os.getloadavg()[0]:.1f}; {len(programs)} programs.")
  results = []
  for program in programs:
    steps = config.archs[program.arch].steps
    g = time_grid(config, program, pairs, mesh)
    s = time_sequential(config, program, pairs, mesh)
    results.append((program.key, len(program.members), steps, g, s))
    print(f"  {program.key}: grid {g[1]:.2f}s (+{g[0]:.2f}s compile), "
          f"sequential {s[1]:.2f}s (+{s[0]:.2f}s compile)", flush=True)
  startup = None if args.quick else process_startup_seconds(
      *config.data.spaces[:2])
  print(_table(results, startup))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
