"""Train and evaluate a vision-text style alignment head: `train_and_evaluate`.

  python -m embtrans.main --config=configs/align_perceiver.py --workdir=W

The config's `num_seeds` seeds (seed, seed+1, ...) train together as one
vmapped program (`engine.py`). results.json has flat keys: `test/i2t/recall@1`,
`test/t2i/recall@1`, `test/mrl_<p>/i2t/recall@1`, ..., `train/final_loss`,
`train/ln_batch`; with several seeds, `test/<key>` is the mean over seeds,
`test/<key>/std` the standard deviation and `seed_<s>/test/<key>` each seed.
"""

from __future__ import annotations

import collections
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections
import numpy as np
import optax
from absl import logging

from embtrans import checkpointing
from embtrans import metric_writers
from embtrans import models
from embtrans import sharding
from embtrans import workdirs
from embtrans.alignment import data as data_lib
from embtrans.alignment import engine
from embtrans.alignment import evaluation
from embtrans.alignment import model as model_lib
from embtrans.train import TrainingDivergedError

LogFn = Callable[[int, Mapping[str, np.ndarray]], None]


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Fails early, before anything is written, on impossible settings."""
  if config.model.name not in models.known_models():
    raise ValueError(f"Unknown model {config.model.name!r} in config.model."
                     f"name. Known models: {models.known_models()}.")
  dim, prefixes = config.mrl.dim, tuple(config.mrl.prefixes)
  if not prefixes or any(not 1 <= p <= dim for p in prefixes):
    raise ValueError(f"config.mrl.prefixes must be dims in [1, {dim}] "
                     f"(config.mrl.dim), got {prefixes}.")
  if config.mrl.weights is not None and len(config.mrl.weights) != len(
      prefixes):
    raise ValueError("config.mrl.weights needs one weight per prefix.")
  for key in ("num_train_steps", "log_every", "batch_size", "num_seeds",
              "eval_batch_size"):
    if config[key] < 1:
      raise ValueError(f"config.{key} must be >= 1, got {config[key]}.")
  if config.checkpoint_every < 0:
    raise ValueError("config.checkpoint_every must be >= 0 (0 = never).")
  model_lib.build(config.model, dim, config.temperature)  # Checks the head.


def member_specs(config: ml_collections.ConfigDict
                 ) -> list[engine.MemberSpec]:
  """The config's seeds as members (same model, same learning rate)."""
  model = model_lib.build(config.model, config.mrl.dim, config.temperature)
  return [engine.MemberSpec(config.seed + i, config.optimizer.learning_rate,
                            model) for i in range(config.num_seeds)]


def _window_means(window: list[Mapping[str, jax.Array]]
                  ) -> dict[str, np.ndarray]:
  """Fetches a window of per-step metrics (the loop's only sync): mean."""
  fetched = jax.device_get(window)
  return {k: np.mean(np.stack([np.asarray(w[k], np.float64)
                               for w in fetched]), axis=0)
          for k in fetched[0]}


def _window_scalars(window: list, done: int, members: engine.Members,
                    config: ml_collections.ConfigDict, unit: optax.Schedule,
                    seconds: float, raise_on_nan: bool
                    ) -> dict[str, np.ndarray]:
  """The log window's mean metrics per member, plus lr, ln(batch), speed."""
  scalars = _window_means(window)
  bad = ~np.isfinite(scalars["loss"])
  if bad.any() and raise_on_nan:
    raise TrainingDivergedError(
        f"Loss became non-finite within steps {done - len(window) + 1}-"
        f"{done} (members {np.flatnonzero(bad).tolist()}). Lower config."
        "optimizer.learning_rate or check the inputs for NaN/inf.")
  lr = np.asarray(jax.device_get(members.lr), np.float64)
  scalars["learning_rate"] = lr * float(unit(done))
  scalars["ln_batch"] = np.full(len(lr), engine.ln_batch(config.batch_size))
  scalars["steps_per_sec"] = np.full(len(lr), len(window) / seconds)
  return scalars


def train_members(config: ml_collections.ConfigDict,
                  specs: Sequence[engine.MemberSpec],
                  data: data_lib.AlignmentData, mesh: jax.sharding.Mesh,
                  log_fn: LogFn, manager=None, raise_on_nan: bool = True
                  ) -> engine.Members:
  """Trains `specs` as one vmapped program; logs every `config.log_every`.

  Members whose loss turns NaN/inf keep training (their values stay NaN and
  are reported as such) unless `raise_on_nan`.
  """
  sharding.check_batch_size(config.batch_size, mesh)
  tx, unit = engine.create_optimizer(config.optimizer, config.num_train_steps)
  seeds = sorted({s.seed for s in specs})
  members = engine.init_members(
      specs, tx, [seeds.index(s.seed) for s in specs], data.token_dim,
      data.max_tokens, data.target_dim, mesh)
  if manager is not None:
    members, _ = checkpointing.restore_latest(manager, members)
  step_fn = engine.make_train_step(
      specs[0].model, tx, config.mrl.prefixes, config.mrl.weights,
      config.temperature.max_logit_scale, mesh)
  batches = engine.StreamBatches(data.train, config.batch_size, seeds)
  spec = engine.stream_sharding(mesh)
  inflight = sharding.max_inflight_steps(mesh, config.max_inflight_steps)
  queued: collections.deque = collections.deque()
  window, t0 = [], time.time()
  start, total = int(jax.device_get(members.step)), config.num_train_steps
  for step in range(start, total):
    host = batches.batch(step)
    arrays = [engine.put_stream_batch(a, spec) for a in host]
    with jax.transfer_guard("disallow"):
      members, metrics = step_fn(members, *arrays)
    window.append(metrics)
    queued.append(metrics["loss"])
    while inflight and len(queued) >= inflight:
      queued.popleft().block_until_ready()
    done = step + 1
    if done % config.log_every == 0 or done == total:
      scalars = _window_scalars(window, done, members, config, unit,
                                time.time() - t0, raise_on_nan)
      log_fn(done, scalars)
      window, t0 = [], time.time()
    if manager is not None and config.checkpoint_every and (
        done % config.checkpoint_every == 0 or done == total):
      checkpointing.save(manager, done, members)
  if manager is not None:
    manager.wait_until_finished()
  return members


def evaluate_members(config: ml_collections.ConfigDict,
                     members: engine.Members, model: model_lib.DualEncoder,
                     split: data_lib.TokenSplit, mesh: jax.sharding.Mesh
                     ) -> list[dict[str, float]]:
  """Retrieval scores of each member on `split` (one dict per member)."""
  fns = engine.make_embed_fns(model, mesh)
  image, text = engine.embed_split(members, split, fns,
                                   config.eval_batch_size, mesh)
  out = []
  for m in range(image.shape[0]):
    if not (np.isfinite(image[m]).all() and np.isfinite(text[m]).all()):
      out.append({"diverged": 1.0})
      continue
    out.append(evaluation.retrieval_scores(
        image[m], text[m], split, config.mrl.prefixes,
        tuple(config.recall_ks)))
  return out


def aggregate(per_member: Sequence[Mapping[str, float]],
              seeds: Sequence[int]) -> dict[str, float]:
  """One member: its dict. Several: mean, `<key>/std`, `seed_<s>/<key>`."""
  if len(per_member) == 1:
    return dict(per_member[0])
  out = {}
  for key in sorted(set().union(*per_member)):
    values = np.array([m.get(key, np.nan) for m in per_member], np.float64)
    out[key], out[f"{key}/std"] = float(np.mean(values)), float(
        np.std(values))
  for seed, member in zip(seeds, per_member):
    out.update({f"seed_{seed}/{k}": v for k, v in member.items()})
  return out


def _writer_log_fn(writer, seeds: Sequence[int], last: dict) -> LogFn:
  def log(step: int, scalars: Mapping[str, np.ndarray]) -> None:
    last.clear()
    last.update(scalars)
    flat = {f"train/{k}": float(np.mean(v)) for k, v in scalars.items()}
    if len(seeds) > 1:
      flat.update({f"seed_{s}/train/{k}": float(v[i])
                   for k, v in scalars.items() for i, s in enumerate(seeds)})
    writer.write_scalars(step, flat)
  return log


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str
                       ) -> dict[str, float]:
  """Trains `config.num_seeds` seeds as one program; writes results.json."""
  validate_config(config)
  data = data_lib.load_data(config.data)
  info = {"name": data.name, **data.info}
  logging.info("Alignment data: %s", info)
  workdir = workdirs.prepare(config, workdir, info)
  mesh = sharding.make_mesh(config.num_devices or None)
  specs = member_specs(config)
  seeds = [s.seed for s in specs]
  manager = checkpointing.create_manager(workdir / "checkpoints",
                                         config.max_checkpoints) if (
                                             config.checkpoint_every) else None
  writer = metric_writers.create_default_writer(
      str(workdir), just_logging=jax.process_index() > 0)
  last: dict = {}
  members = train_members(config, specs, data, mesh,
                          _writer_log_fn(writer, seeds, last), manager)
  per_member = evaluate_members(config, members, specs[0].model, data.test,
                                mesh)
  per_member = [{**{f"test/{k}": v for k, v in m.items()},
                 **{f"train/final_{k}": float(last[k][i]) for k in (
                     "loss", "loss_full", "temperature", "ln_batch")
                    if k in last}} for i, m in enumerate(per_member)]
  results = aggregate(per_member, seeds)
  results.update({f"data/{k}": v for k, v in info.items()
                  if isinstance(v, (int, float))})
  writer.write_scalars(config.num_train_steps, results)
  writer.close()
  if manager is not None:
    manager.close()
  workdirs.write_results(workdir, results)
  return results
