"""The default loop's speed next to a bare jit step and a plain PyTorch loop.

  python -m embtrans.bench train                 configs/mlp32x.py, 200 steps
  python -m embtrans.bench train --steps=50 --config_arg=tiny=True

Same shapes, batch size, optimizer and batch order in all three, measured
in one run, interleaved (engine, bare, torch, engine, bare, torch, ...), the
best of `--repeats` taken for each:
  engine  what `python -m embtrans.main` runs: the task's program on the
          engine (rows gathered on the device, `lax.scan` over `log_every`
          steps per dispatch, vmapped over M = 1 member), no checkpoints;
  bare    one `jax.jit` AdamW step on params, data on the device, rows
          gathered inside the step from host indices, a Python loop;
  torch   the same MLP in PyTorch (CPU), AdamW, rows indexed from tensors.
Times exclude compilation (one warm-up chunk or step first).
"""

from __future__ import annotations

import os
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import flags

from embtrans import checkpointing
from embtrans import config_lib
from embtrans import sharding
from embtrans import tasks
from embtrans.engine import loop
from embtrans.engine import members as members_lib
from embtrans.engine import program as program_lib
from embtrans.engine import feeds

FLAGS = flags.FlagValues()  # This benchmark's own flags.
_STEPS = flags.DEFINE_integer("steps", 200, "Timed steps per path.",
                              flag_values=FLAGS)
_REPEATS = flags.DEFINE_integer("repeats", 2, "Interleaved repeats.",
                                flag_values=FLAGS)
_ARG = flags.DEFINE_string("config_arg", "", "configs/mlp32x.py :arg.",
                           flag_values=FLAGS)
_TORCH = flags.DEFINE_bool("torch", True, "Also time the PyTorch loop.",
                           flag_values=FLAGS)


def _config(steps: int) -> ml_collections.ConfigDict:
  c = config_lib.mlp_config(32, _ARG.value or None)
  c.num_train_steps = steps
  return c


def time_engine(c, data, mesh, steps: int) -> float:
  """Seconds for `steps` steps of the engine, after a warm-up chunk."""
  prog = tasks.get("translate").build([c], [data], ["bench"], mesh)
  state = program_lib.init(prog, mesh)
  chunk = members_lib.chunk_fn(prog.step, prog.feed, mesh)
  state, m = chunk(state, prog.feed.resident, prog.feed.inputs(0, c.log_every))
  jax.block_until_ready(m)
  t0 = time.perf_counter()
  loop.run(chunk, state, prog.feed, c.log_every, c.log_every + steps,
           log_every=c.log_every, checkpoint_every=0,
           manager=checkpointing.NoCheckpoints(), on_window=lambda w: None,
           names=["bench"])
  return time.perf_counter() - t0


def _bare_step(model, tx):
  def step(params, opt_state, xs, ys, idx):
    def loss(p):
      return jnp.mean(jnp.square(model.apply({"params": p}, xs[idx]) - ys[idx]))
    value, grads = jax.value_and_grad(loss)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value
  return jax.jit(step, donate_argnums=(0, 1))


def time_bare(c, data, steps: int) -> float:
  """Seconds for `steps` bare jit steps, after one warm-up step."""
  t = tasks.get("translate")
  model = t.build_model(c, data.info["target_dim"])
  o = c.optimizer
  sched = optax.warmup_cosine_decay_schedule(
      0.0, o.learning_rate, o.warmup_steps, c.num_train_steps,
      o.learning_rate * o.end_lr_fraction)
  tx = optax.chain(optax.clip_by_global_norm(o.grad_clip),
                   optax.adamw(sched, o.b1, o.b2, weight_decay=o.weight_decay))
  params = model.init(jax.random.key(0), jnp.zeros((1, data.info[
      "source_dim"])))["params"]
  opt_state = tx.init(params)
  xs, ys = (jnp.asarray(a) for a in (data.paired.train.a, data.paired.train.b))
  sampler = feeds.RowSampler(len(data.paired.train), c.batch_size, c.seed)
  step = _bare_step(model, tx)
  params, opt_state, v = step(params, opt_state, xs, ys, sampler.indices(0))
  v.block_until_ready()
  t0 = time.perf_counter()
  for s in range(1, steps + 1):
    params, opt_state, v = step(params, opt_state, xs, ys, sampler.indices(s))
  v.block_until_ready()
  return time.perf_counter() - t0


def time_torch(c, data, steps: int) -> float:
  """Seconds for `steps` steps of the same MLP in PyTorch (CPU)."""
  import torch  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  d_in, d_out = data.info["source_dim"], data.info["target_dim"]
  hidden = c.model.hidden_mult * d_in
  layers = [torch.nn.Linear(d_in, hidden), torch.nn.GELU()]
  for _ in range(c.model.layers - 1):
    layers += [torch.nn.Linear(hidden, hidden), torch.nn.GELU()]
  net = torch.nn.Sequential(*layers, torch.nn.Linear(hidden, d_out))
  o = c.optimizer
  opt = torch.optim.AdamW(net.parameters(), lr=o.learning_rate,
                          betas=(o.b1, o.b2), weight_decay=o.weight_decay)
  xs = torch.from_numpy(np.ascontiguousarray(data.paired.train.a))
  ys = torch.from_numpy(np.ascontiguousarray(data.paired.train.b))
  sampler = feeds.RowSampler(len(data.paired.train), c.batch_size, c.seed)

  def step(s):
    idx = torch.from_numpy(sampler.indices(s).astype(np.int64))
    opt.zero_grad(set_to_none=True)
    loss = torch.mean(torch.square(net(xs[idx]) - ys[idx]))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), o.grad_clip)
    opt.step()
  step(0)
  t0 = time.perf_counter()
  for s in range(1, steps + 1):
    step(s)
  return time.perf_counter() - t0


def main(argv):
  del argv
  steps = _STEPS.value
  c = _config(steps + 100)
  data = tasks.get("translate").load_data(c)
  mesh = sharding.make_mesh(c.num_devices or None)
  print(f"# Training loop: JAX {jax.__version__} on {jax.devices()[0].platform}"
        f" ({jax.device_count()} device(s), {os.cpu_count()} CPUs); load "
        f"average at start {os.getloadavg()[0]:.1f}")
  print(f"configs/mlp32x.py:{_ARG.value}  {data.info['source_dim']} -> "
        f"{c.model.hidden_mult * data.info['source_dim']} -> "
        f"{data.info['target_dim']}, {c.model.layers} hidden layer(s), batch "
        f"{c.batch_size}, {steps} timed steps, best of {_REPEATS.value}\n")
  paths = {"engine": lambda: time_engine(c, data, mesh, steps),
           "bare": lambda: time_bare(c, data, steps)}
  if _TORCH.value:
    paths["torch"] = lambda: time_torch(c, data, steps)
  best = {k: np.inf for k in paths}
  for _ in range(_REPEATS.value):
    for k, fn in paths.items():
      best[k] = min(best[k], fn())
  rate = {k: steps / v for k, v in best.items()}
  print("| path | steps/s | engine / path |\n|---|---:|---:|")
  for k in paths:
    print(f"| {k} | {rate[k]:.2f} | {rate['engine'] / rate[k]:.3f} |")
  print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs.")
  return 0


