"""Time one training step of each alignment head, side by side.

  python -m embtrans.bench align            # full size: ViT-L/14 tokens
                                            # 257 x 1024, batch 128, MRL 4096
  python -m embtrans.bench align --quick    # 65 x 128 tokens, batch 32
  python -m embtrans.bench align --tokens=257 --dim=1024 --batch=64 --steps=5

A step is the align task's real training step on the engine (`tasks/align.
build`: rows gathered on the device, forward, both directions of the
Matryoshka InfoNCE, backward, AdamW, temperature clamp, diagnostics), one
member, one step per dispatch, random tokens, every local device (batch
sharded). Prints compile
time, ms/step, examples/s and the Perceiver / attention-pool ratio.
"""

from __future__ import annotations

import time
from typing import Sequence

import jax
import numpy as np
from absl import flags

from embtrans import config_lib
from embtrans import sharding
from embtrans.data import token_pairs
from embtrans.engine import members as members_lib
from embtrans.engine import program as program_lib
from embtrans.tasks import align


FLAGS = flags.FlagValues()  # This benchmark's own flags.
_QUICK = flags.DEFINE_bool("quick", False, "Small shapes (65 x 128 tokens, "
                           "batch 32, target 64).", flag_values=FLAGS)
_TOKENS = flags.DEFINE_integer("tokens", 257, "Tokens per example.",
                               flag_values=FLAGS)
_DIM = flags.DEFINE_integer("dim", 1024, "Token width.", flag_values=FLAGS)
_BATCH = flags.DEFINE_integer("batch", 128, "Batch size.", flag_values=FLAGS)
_TARGET_DIM = flags.DEFINE_integer("target_dim", 768, "Target width.",
                                   flag_values=FLAGS)
_STEPS = flags.DEFINE_integer("steps", 3, "Timed steps per head.",
                              flag_values=FLAGS)

def _random_data(tokens: int, dim: int, batch: int, target_dim: int
                 ) -> align.Data:
  """One batch of random tokens (train) and targets; test = train."""
  rng = np.random.default_rng(0)
  split = token_pairs.TokenSplit(
      rng.standard_normal((batch, tokens, dim), np.float32),
      np.arange(batch), np.full(batch, tokens, np.int32),
      rng.standard_normal((batch, target_dim), np.float32),
      np.arange(batch, dtype=np.int32),
      np.array([f"r{i}" for i in range(batch)]))
  pairs = token_pairs.AlignmentData("random", split, split, {})
  return align.Data(pairs, {})


def _time_head(name: str, size: str, data: align.Data, batch: int,
               steps: int) -> dict:
  config = config_lib.alignment_config(
      config_lib.align_head_config(name, size), {"name": "synthetic"},
      config_lib.align_mrl_dim(size), 2e-4, batch, 1000)
  mesh = sharding.make_mesh()
  prog = align.build([config], [data], ["bench"], mesh)
  members = program_lib.init(prog, mesh)
  chunk = members_lib.chunk_fn(prog.step, prog.feed, mesh)
  start = time.perf_counter()
  members, metrics = chunk(members, prog.feed.resident,
                           prog.feed.inputs(0, 1))
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  for t in range(steps):
    members, metrics = chunk(members, prog.feed.resident,
                             prog.feed.inputs(1 + t, 1))
  jax.block_until_ready(metrics)
  per_step = (time.perf_counter() - start) / steps
  params = sum(x.size for x in jax.tree.leaves(members.params))
  return {"head": name, "compile_s": compile_s, "ms_per_step": 1e3 * per_step,
          "examples_per_s": batch / per_step, "params": params}


def main(argv: Sequence[str]) -> int:
  del argv
  size = "small" if _QUICK.value else "full"
  tokens, dim, batch, target_dim = (65, 128, 32, 64) if _QUICK.value else (
      _TOKENS.value, _DIM.value, _BATCH.value, _TARGET_DIM.value)
  print(f"JAX {jax.__version__} on {jax.device_count()} x "
        f"{jax.devices()[0].device_kind}; tokens {tokens} x {dim},"
        f" batch {batch}, heads at size={size}")
  data = _random_data(tokens, dim, batch, target_dim)
  rows = [_time_head(h, size, data, batch, _STEPS.value)
          for h in ("attention_pool", "perceiver")]
  for r in rows:
    print(f"{r['head']:>15}: {r['params'] / 1e6:7.2f}M params, compile "
          f"{r['compile_s']:6.1f}s, {r['ms_per_step']:9.1f} ms/step, "
          f"{r['examples_per_s']:9.1f} examples/s")
  print(f"perceiver / attention_pool step time: "
        f"{rows[1]['ms_per_step'] / rows[0]['ms_per_step']:.2f}x")
  return 0
