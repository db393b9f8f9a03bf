"""The 3-D autoencoder's training time to convergence next to UMAP's fit.

  python -m embtrans.bench ae3d                  10,000 points
  python -m embtrans.bench ae3d --points=2000 --max_steps=300

Points: a seeded sample of `--points` of pydocs' E5 vectors (every text in
'query' and in 'passage' mode, 16,472 vectors; cached datasets). Both on
the same points, in one run:
  ae    the autoencode task's program on the engine (M = 1, configs/ae3d.py
        defaults, reconstruction loss), run chunk by chunk of `--chunk`
        steps until the mean loss of a chunk is less than `--tol` (relative)
        below the previous chunk's, or `--max_steps`;
  umap  umap-learn's fit_transform to 3-D (cosine metric, n_neighbors 15,
        min_dist 0.1).
Compilation is excluded from both: one warm-up chunk for the AE (its state
is then thrown away) and a UMAP fit on 300 points first (numba's compile).
"""

from __future__ import annotations

import os
import time

import jax
import numpy as np
from absl import flags

from embtrans import sharding
from embtrans import sweeps
from embtrans import tasks
from embtrans.data import build as build_lib
from embtrans.data import populations as pops_lib
from embtrans.engine import members as members_lib
from embtrans.engine import program as program_lib
from embtrans.tasks import autoencode_baselines as baselines_lib

FLAGS = flags.FlagValues()  # This benchmark's own flags.
_POINTS = flags.DEFINE_integer("points", 10_000, "Points to fit on.",
                               flag_values=FLAGS)
_CHUNK = flags.DEFINE_integer("chunk", 50, "AE steps between checks.",
                              flag_values=FLAGS)
_TOL = flags.DEFINE_float("tol", 0.01, "Converged when a chunk's mean loss "
                          "is less than this fraction below the previous.",
                          flag_values=FLAGS)
_MAX_STEPS = flags.DEFINE_integer("max_steps", 3000, "AE step cap.",
                                  flag_values=FLAGS)
_CONFIG = flags.DEFINE_string("config", "configs/ae3d.py", "The ae3d config.",
                              flag_values=FLAGS)
_ENCODER = flags.DEFINE_string("encoder", "e5_small", "Encoder of the points.",
                               flag_values=FLAGS)


def points(n: int, encoder: str, seed: int = 0) -> np.ndarray:
  """[n, d] a seeded sample of the encoder's pydocs vectors (both modes for
  e5_small; the one dataset otherwise)."""
  modes = ({"mode": "query"}, {"mode": "passage"}) if encoder == "e5_small" \
      else ({},)
  x = np.concatenate([np.asarray(build_lib.build_dataset(
      "pydocs", encoder, None, m).vectors, np.float32) for m in modes])
  if n > len(x):
    raise ValueError(f"--points={n} but {encoder} has {len(x)} pydocs "
                     "vectors; ask for fewer.")
  return x[np.sort(np.random.default_rng(seed).choice(len(x), n, False))]


def _data(x: np.ndarray, config):
  """The task's Data with every point a training row of population A."""
  n = len(x)
  strs = np.array([f"p{i}" for i in range(n)])
  pops = pops_lib.Populations(
      x, x[:0], np.zeros((0, 2), np.int64), strs, strs[:0], strs, strs[:0],
      np.full(n, "train"), np.full(0, "train"), ("points", "-"))
  info = {"dim": x.shape[1], "train": "a"}
  return tasks.get("autoencode").Data(pops, pops, pops, "a", info)


def time_ae(x: np.ndarray, config, chunk: int, tol: float, max_steps: int
            ) -> dict[str, float]:
  """{'seconds', 'steps', 'loss'} of training to convergence (see doc)."""
  task = tasks.get("autoencode")
  mesh = sharding.make_mesh(1)
  data = _data(x, config)
  prog = task.build([config], [data], ["bench"], mesh)
  run = members_lib.chunk_fn(prog.step, prog.feed, mesh)
  warm, m = run(program_lib.init(prog, mesh), prog.feed.resident,
                prog.feed.inputs(0, chunk))
  jax.block_until_ready(m)
  del warm
  t0 = time.perf_counter()
  state, prev, step, loss = program_lib.init(prog, mesh), np.inf, 0, np.inf
  while step < max_steps:
    state, m = run(state, prog.feed.resident, prog.feed.inputs(step, chunk))
    step += chunk
    loss = float(np.mean(jax.device_get(m["loss"])))
    if prev - loss < tol * prev:
      break
    prev = loss
  return {"seconds": time.perf_counter() - t0, "steps": step, "loss": loss}


def time_umap(x: np.ndarray) -> float:
  """Seconds of a UMAP(3) fit_transform of x, after a warm-up fit."""
  baselines_lib.fit_baseline("umap3", x[:300], seed=0)
  t0 = time.perf_counter()
  baselines_lib.fit_baseline("umap3", x, seed=0)
  return time.perf_counter() - t0


def main(argv):
  del argv
  n = _POINTS.value
  config = sweeps.load_config_module(_CONFIG.value).get_config(
      f"seeds=1,steps={_MAX_STEPS.value}")
  x = points(n, _ENCODER.value)
  print(f"# ae3d: {n} {_ENCODER.value} points ({x.shape[1]}-d) to 3-D; JAX "
        f"{jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} "
        f"CPUs; load average at start {os.getloadavg()[0]:.1f}")
  print(f"AE: variant {config.model.variant}, batch {config.batch_size}, "
        f"lr {config.optimizer.learning_rate:g}, checks every {_CHUNK.value}"
        f" steps, tol {_TOL.value:g}, cap {_MAX_STEPS.value} steps "
        "(the lr schedule spans the cap)\n")
  ae = time_ae(x, config, _CHUNK.value, _TOL.value, _MAX_STEPS.value)
  umap_s = time_umap(x)
  print("| method | seconds | detail |\n|---|---:|---|")
  print(f"| AE to convergence | {ae['seconds']:.1f} | {ae['steps']} steps, "
        f"final chunk loss {ae['loss']:.4f} |")
  print(f"| UMAP(3) fit_transform | {umap_s:.1f} | n_neighbors 15, cosine |")
  print(f"\nUMAP / AE time: {umap_s / ae['seconds']:.2f}. Load average at "
        f"the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
  return 0

