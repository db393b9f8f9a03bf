"""Train a translator A -> B and evaluate it: `train_and_evaluate(config, workdir)`.

The loop: pair the two embedding datasets by id, build the model named by
`config.model.name`, train with AdamW + warmup-cosine under one `jax.jit` step
(state donated, batch sharded over the mesh's 'data' axis), checkpoint with
Orbax every `config.checkpoint_every` steps (resuming from the latest), then
evaluate on the 20% test split next to closed-form baselines.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from tqdm import tqdm

from embtrans import baselines
from embtrans import checkpointing
from embtrans import evaluators
from embtrans import losses
from embtrans import metric_writers
from embtrans import models
from embtrans import sharding
from embtrans import workdirs
from embtrans.data import batching
from embtrans.data import build as build_lib
from embtrans.data import pairing
from embtrans.evaluation import evaluate_translators


class TrainingDivergedError(FloatingPointError):
  """The loss became NaN or infinite."""


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any


def load_paired_data(config: ml_collections.ConfigDict
                     ) -> tuple[pairing.Paired, dict]:
  """Resolves datasets A and B, pairs them by id and orients by direction."""
  d = config.data
  if d.direction not in ("a_to_b", "b_to_a"):
    raise ValueError(f"config.data.direction must be 'a_to_b' or 'b_to_a', "
                     f"got {d.direction!r}.")
  for spec in (d.a, d.b):
    build_lib.check_dataset_spec(spec, d.cache_dir or None)
  opened = [build_lib.resolve_dataset(spec, d.source, d.limit or None,
                                      d.cache_dir or None)
            for spec in (d.a, d.b)]
  paired = pairing.pair_datasets(*opened)
  src, tgt = opened
  if d.direction == "b_to_a":
    paired, src, tgt = paired.swapped(), tgt, src
  info = {"source": src.name, "target": tgt.name, "source_dim": src.dim,
          "target_dim": tgt.dim, "num_train": len(paired.train),
          "num_test": len(paired.test), "dropped_source_only":
              paired.dropped_a, "dropped_target_only": paired.dropped_b}
  return paired, info


def create_optimizer(config: ml_collections.ConfigDict
                     ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  o = config.optimizer
  schedule = optax.warmup_cosine_decay_schedule(
      0.0, o.learning_rate, o.warmup_steps,
      max(config.num_train_steps, o.warmup_steps + 1),
      o.learning_rate * o.end_lr_fraction)
  chain = [optax.clip_by_global_norm(o.grad_clip)] if o.grad_clip else []
  chain.append(optax.adamw(schedule, o.b1, o.b2,
                           weight_decay=o.weight_decay))
  return optax.chain(*chain), schedule


def build_model(config: ml_collections.ConfigDict, out_dim: int):
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  return models.get_model(config.model.name, out_dim=out_dim, **kwargs)


def create_train_state(model, tx, in_dim: int, seed: int,
                       mesh: jax.sharding.Mesh) -> TrainState:
  """Initialises params and optimizer state, replicated over `mesh`."""
  def init(rng):
    params = model.init(rng, jnp.zeros((1, in_dim), jnp.float32))["params"]
    return TrainState(jnp.zeros((), jnp.int32), params, tx.init(params))
  return jax.jit(init, out_shardings=sharding.replicated(mesh))(
      jax.random.key(seed))


def train_step_fn(model, tx, loss_fn: losses.LossFn):
  """The pure step `(state, x [b, d_in], y [b, d_out]) -> (state, loss)`.

  Not jitted, so callers can compose it: `make_train_step` jits it for one
  model; the sweep engine vmaps it over a stack of members.
  """
  def train_step(state: TrainState, x: jax.Array, y: jax.Array):
    def loss_of(params):
      return loss_fn(model.apply({"params": params}, x), y)
    loss, grads = jax.value_and_grad(loss_of)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return TrainState(state.step + 1, params, opt_state), loss

  return train_step


def make_train_step(model, tx, loss_fn: losses.LossFn,
                    mesh: jax.sharding.Mesh):
  """Returns `step(state, x [b, d_in], y [b, d_out]) -> (state, loss)`.

  Compiled once per shape; `state` is donated; x, y arrive sharded along
  'data' and the gradient mean is reduced across devices by XLA.
  """
  repl, data = sharding.replicated(mesh), sharding.data_sharding(mesh)
  return jax.jit(train_step_fn(model, tx, loss_fn), donate_argnums=(0,),
                 in_shardings=(repl, data, data), out_shardings=(repl, repl))


def make_predict_fn(model, mesh: jax.sharding.Mesh, batch_size: int):
  """Returns `predict(params, x: np [n, d_in]) -> np [n, d_out]`.

  Rows are padded to a multiple of `batch_size`, so any n compiles once.
  Outputs come back replicated, so every process (multi-host) can read them.
  """
  sharding.check_batch_size(batch_size, mesh)
  data = sharding.data_sharding(mesh)
  apply = jax.jit(lambda p, x: model.apply({"params": p}, x),
                  out_shardings=sharding.replicated(mesh))

  def predict(params, x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    padded = np.pad(x, ((0, -n % batch_size), (0, 0)))
    outs = [apply(params, sharding.put_global_batch(padded[i:i + batch_size],
                                                    data))
            for i in range(0, padded.shape[0], batch_size)]
    return np.concatenate(jax.device_get(outs))[:n]

  return predict


def _log_window(writer, step: int, losses_window: list[jax.Array],
                schedule, start_time: float, batch_size: int) -> float:
  """Fetches the window's losses (the loop's only sync), checks, writes.

  The rate is measured after the fetch, so it counts device time, not just
  the (asynchronous) dispatch.
  """
  values = np.asarray(jax.device_get(losses_window), np.float64)
  seconds = time.time() - start_time
  if not np.isfinite(values).all():
    first = step - len(values) + 1 + int(np.argmin(np.isfinite(values)))
    raise TrainingDivergedError(
        f"Loss became {values[~np.isfinite(values)][0]} at step {first}.")
  steps = len(values)
  writer.write_scalars(step, {
      "train/loss": values.mean(), "train/learning_rate": float(
          schedule(step)), "train/steps_per_sec": steps / seconds,
      "train/examples_per_sec": steps * batch_size / seconds})
  return float(values.mean())


def train_loop(config, state: TrainState, train_step, schedule,
               train_split: pairing.PairedSplit, mesh, manager,
               writer) -> TrainState:
  """Runs steps `state.step .. num_train_steps`; checkpoints and logs."""
  start, total = int(jax.device_get(state.step)), config.num_train_steps
  batches = batching.EpochBatches(len(train_split), config.batch_size,
                                  config.seed)
  data = sharding.data_sharding(mesh)
  window, t0 = [], time.time()
  inflight = sharding.max_inflight_steps(mesh, config.max_inflight_steps)
  queued: collections.deque[jax.Array] = collections.deque()
  bar = tqdm(total=total, initial=start, desc="train", unit="step",
             mininterval=build_lib.progress_interval(),
             disable=jax.process_index() > 0)
  for step in range(start, total):
    idx = batches.indices(step)
    x = sharding.put_global_batch(train_split.a[idx], data)
    y = sharding.put_global_batch(train_split.b[idx], data)
    with jax.transfer_guard("disallow"):
      state, loss = train_step(state, x, y)
    window.append(loss)
    queued.append(loss)
    while inflight and len(queued) >= inflight:
      queued.popleft().block_until_ready()
    bar.update(1)
    done = step + 1
    save_now = done % config.checkpoint_every == 0 or done == total
    if save_now or done % config.log_every == 0:
      try:
        mean = _log_window(writer, done, window, schedule, t0,
                           config.batch_size)
      except TrainingDivergedError as e:
        manager.wait_until_finished()
        good = manager.latest_step()
        raise TrainingDivergedError(
            f"{e} Training stopped; the last good checkpoint (step {good}) in"
            f" {manager.directory} is kept. Lower config.optimizer."
            "learning_rate or check the inputs for NaN/inf.") from None
      bar.set_postfix(loss=f"{mean:.4g}")
      window, t0 = [], time.time()
    if save_now:
      checkpointing.save(manager, done, state)
  bar.close()
  manager.wait_until_finished()
  return state


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Fails early, before anything is written, on names that do not exist."""
  if config.model.name not in models.known_models():
    raise ValueError(f"Unknown model {config.model.name!r} in "
                     f"config.model.name. Known models: "
                     f"{models.known_models()}.")
  losses.get_loss(config.loss.name)
  for name in config.baselines:
    if name not in baselines.BASELINES:
      raise ValueError(f"Unknown baseline {name!r} in config.baselines. "
                       f"Known baselines: {sorted(baselines.BASELINES)}.")
  known = evaluators.known_evaluators()
  for prefix, cfg in config.evals.items():
    if cfg.get("type", prefix) not in known:
      raise ValueError(f"Unknown evaluator type {cfg.get('type', prefix)!r} "
                       f"in config.evals.{prefix}. Known: {known}.")
  for key in ("num_train_steps", "log_every", "checkpoint_every",
              "batch_size", "eval_batch_size"):
    if config[key] < 1:
      raise ValueError(f"config.{key} must be >= 1, got {config[key]}.")


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str
                       ) -> dict[str, float]:
  """Trains per `config`, resuming from `workdir`; returns results.json."""
  validate_config(config)
  paired, info = load_paired_data(config)
  logging.info("Data: %s", info)
  workdir = workdirs.prepare(config, workdir, info)
  mesh = sharding.make_mesh(config.num_devices or None)
  sharding.check_batch_size(config.batch_size, mesh)
  model = build_model(config, info["target_dim"])
  tx, schedule = create_optimizer(config)
  state = create_train_state(model, tx, info["source_dim"], config.seed, mesh)
  manager = checkpointing.create_manager(workdir / "checkpoints",
                                         config.max_checkpoints)
  state, _ = checkpointing.restore_latest(manager, state)
  writer = metric_writers.create_default_writer(
      str(workdir), just_logging=jax.process_index() > 0)
  train_step = make_train_step(model, tx, losses.get_loss(
      config.loss.name, config.loss.temperature), mesh)
  state = train_loop(config, state, train_step, schedule, paired.train, mesh,
                     manager, writer)
  predict = make_predict_fn(model, mesh, config.eval_batch_size)
  results = evaluate_translators(
      config, lambda x: predict(state.params, x), paired)
  results.update({f"data/{k}": v for k, v in info.items()
                  if isinstance(v, (int, float))})
  writer.write_scalars(config.num_train_steps, results)
  writer.close()
  manager.close()
  workdirs.write_results(workdir, results)
  return results
