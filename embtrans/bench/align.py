"""Time one training step of each alignment head, side by side.

  python -m embtrans.bench align            # full size: ViT-L/14 tokens
                                            # 257 x 1024, batch 128, MRL 4096
  python -m embtrans.bench align --quick    # 65 x 128 tokens, batch 32
  python -m embtrans.bench align --tokens=257 --dim=1024 --batch=64 --steps=5

A step is the real training step (`engine.make_train_step`: forward, both
directions of the Matryoshka InfoNCE, backward, AdamW, diagnostics) on random
tokens, one member, on every local device (batch sharded). Prints compile
time, ms/step, examples/s and the Perceiver / attention-pool ratio.
"""

from __future__ import annotations

import argparse
import time
from typing import Sequence

import jax
import numpy as np

from embtrans import sharding
from embtrans.alignment import config as align_config
from embtrans.alignment import engine
from embtrans.alignment import model as model_lib


def _time_head(name: str, size: str, tokens: int, dim: int, batch: int,
               target_dim: int, steps: int) -> dict:
  model_cfg = align_config.head_config(name, size)
  mrl = align_config.mrl_dim(size)
  config = align_config.alignment_config(
      model_cfg, {"name": "synthetic"}, mrl, 2e-4, batch, 1000)
  mesh = sharding.make_mesh()
  model = model_lib.build(config.model, mrl, config.temperature)
  tx, _ = engine.create_optimizer(config.optimizer, 1000)
  members = engine.init_members([engine.MemberSpec(0, 2e-4, model)], tx, [0],
                                dim, tokens, target_dim, mesh)
  step = engine.make_train_step(model, tx, config.mrl.prefixes, None, 100.0,
                                mesh)
  rng = np.random.default_rng(0)
  spec = engine.stream_sharding(mesh)
  host = (rng.standard_normal((1, batch, tokens, dim), np.float32),
          np.full((1, batch), tokens, np.int32),
          rng.standard_normal((1, batch, target_dim), np.float32))
  arrays = [engine.put_stream_batch(a, spec) for a in host]
  start = time.perf_counter()
  members, metrics = step(members, *arrays)
  jax.block_until_ready(metrics)
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  for _ in range(steps):
    members, metrics = step(members, *arrays)
  jax.block_until_ready(metrics)
  per_step = (time.perf_counter() - start) / steps
  params = sum(x.size for x in jax.tree.leaves(members.params))
  return {"head": name, "compile_s": compile_s, "ms_per_step": 1e3 * per_step,
          "examples_per_s": batch / per_step, "params": params}


def main(argv: Sequence[str]) -> int:
  parser = argparse.ArgumentParser(prog="python -m embtrans.bench align")
  parser.add_argument("--quick", action="store_true",
                      help="small shapes (65 x 128 tokens, batch 32).")
  parser.add_argument("--tokens", type=int, default=257)
  parser.add_argument("--dim", type=int, default=1024)
  parser.add_argument("--batch", type=int, default=128)
  parser.add_argument("--target_dim", type=int, default=768)
  parser.add_argument("--steps", type=int, default=3)
  args = parser.parse_args(argv)
  size = "full"
  if args.quick:
    args.tokens, args.dim, args.batch, args.target_dim = 65, 128, 32, 64
    size = "small"
  print(f"JAX {jax.__version__} on {jax.device_count()} x "
        f"{jax.devices()[0].device_kind}; tokens {args.tokens} x {args.dim},"
        f" batch {args.batch}, heads at size={size}")
  rows = [_time_head(h, size, args.tokens, args.dim, args.batch,
                     args.target_dim, args.steps)
          for h in ("attention_pool", "perceiver")]
  for r in rows:
    print(f"{r['head']:>15}: {r['params'] / 1e6:7.2f}M params, compile "
          f"{r['compile_s']:6.1f}s, {r['ms_per_step']:9.1f} ms/step, "
          f"{r['examples_per_s']:9.1f} examples/s")
  print(f"perceiver / attention_pool step time: "
        f"{rows[1]['ms_per_step'] / rows[0]['ms_per_step']:.2f}x")
  return 0
