"""Run a grid: `run_sweep(config, workdir)`.

Workdir layout:

  config.json, data.json          the resolved config and the data (checked
                                  on resume, as for the single trainer)
  runs.jsonl                      one line per invocation: wall time, what ran
  programs/<key>/checkpoints/     Orbax checkpoints of one stacked program
  members/<key>/results.json      a finished member: metadata + test scores
  members/<key>/metrics.jsonl     its training losses (+ TensorBoard events)
  members/<key>/test_translated.npy  float16 [n_test, d_target] (optional)
  pairs/<source>__<target>.json   test ids of the directed pair, in row order

A member is finished when its results.json exists; a rerun skips finished
members, and a program whose members are all finished is not even built. A
killed run resumes each program from its latest checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections
import numpy as np
import threadpoolctl
from absl import logging

from embtrans import baselines
from embtrans import checkpointing
from embtrans import losses
from embtrans import metric_writers
from embtrans import sharding
from embtrans import train
from embtrans import workdirs
from embtrans.data import pairing
from embtrans.sweep import engine
from embtrans.sweep import plan
from embtrans.sweep import scores

Pairs = Mapping[tuple[str, str], pairing.Paired]


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Fails before anything is written on settings that cannot work."""
  for name, arch in config.archs.items():
    for key in ("steps", "batch_size"):
      if arch[key] < 1:
        raise ValueError(f"config.archs.{name}.{key} must be >= 1, got "
                         f"{arch[key]}.")
    if arch.learning_rate <= 0:
      raise ValueError(f"config.archs.{name}.learning_rate must be > 0.")
  for key in ("log_every", "checkpoint_every", "eval_batch_size",
              "overlap_k"):
    if config[key] < 1:
      raise ValueError(f"config.{key} must be >= 1, got {config[key]}.")
  if config.max_program_gib <= 0 or config.max_checkpoint_gib < 0:
    raise ValueError("config.max_program_gib must be > 0 and "
                     "config.max_checkpoint_gib >= 0.")
  if not config.members:
    raise ValueError("config.members is empty: nothing to train.")
  losses.get_loss(config.loss.name)


def data_info(spaces: Mapping[str, Any], pairs: Pairs) -> dict[str, Any]:
  """What data.json records (and a resume must match)."""
  return {
      "spaces": {s: {"name": plan.space_name(s), "path": str(ds.path),
                     "dim": ds.dim, "rows": len(ds)}
                 for s, ds in spaces.items()},
      "pairs": {f"{plan.space_name(a)}->{plan.space_name(b)}": {
          "num_train": len(p.train), "num_test": len(p.test),
          "dropped_source_only": p.dropped_a,
          "dropped_target_only": p.dropped_b} for (a, b), p in pairs.items()},
  }


def _member_dir(workdir: pathlib.Path, member: plan.Member) -> pathlib.Path:
  return workdir / "members" / member.key


def is_finished(workdir: pathlib.Path, member: plan.Member) -> bool:
  return (_member_dir(workdir, member) / "results.json").is_file()


def _write_member(workdir: pathlib.Path, member: plan.Member,
                  meta: Mapping[str, Any], test_scores: Mapping[str, float],
                  translated: np.ndarray | None, save: bool) -> None:
  path = _member_dir(workdir, member)
  path.mkdir(parents=True, exist_ok=True)
  if save and translated is not None:
    np.save(path / "test_translated.npy", translated.astype(np.float16))
  row = {"member": member.name, "source": plan.space_name(member.source),
         "target": plan.space_name(member.target), "arch": member.arch,
         **meta, **test_scores}
  # Strict JSON: a missing number (no loss logged this run) is null.
  workdirs.write_results(path, {k: None if isinstance(v, float) and not
                                np.isfinite(v) else v for k, v in row.items()})


def _score_or_nan(paired: pairing.Paired, translated: np.ndarray,
                  config: ml_collections.ConfigDict) -> dict[str, Any]:
  try:
    return scores.member_scores(paired.test.a, paired.test.b, translated,
                                config)
  except FloatingPointError as e:
    return {"error": str(e)}


def run_baselines(config: ml_collections.ConfigDict, workdir: pathlib.Path,
                  members: Sequence[plan.Member], pairs: Pairs) -> None:
  """Fits and scores every unfinished closed-form row."""
  for member in members:
    if is_finished(workdir, member):
      continue
    paired = pairs[(member.source, member.target)]
    t0 = time.time()
    # One BLAS thread: OpenBLAS threads spin-wait when the cores are busy
    # (XLA's pool lives in this process too); on 2 shared cores that made
    # one [6509, 384] lstsq take 44 s instead of 4 s.
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
      fitted = baselines.fit_baseline(member.arch, paired.train.a,
                                      paired.train.b)
    seconds = time.time() - t0
    translated = fitted(paired.test.a)
    meta = {"kind": "baseline", "model": member.arch, "layers": 0,
            "hidden_mult": 0, "params": int(fitted.w.size),
            "steps": 0, "batch_size": 0, "learning_rate": 0.0,
            "program": "closed-form", "program_members": 1,
            "train_seconds": seconds, "program_seconds": seconds,
            "num_train": len(paired.train), "num_test": len(paired.test)}
    _write_member(workdir, member, meta, _score_or_nan(paired, translated,
                                                       config),
                  translated, config.save_predictions)
    logging.info("%s: fitted in %.2fs.", member.name, seconds)


class _LossLog:
  """Per-member loss writers; remembers divergence and the last loss."""

  def __init__(self, workdir: pathlib.Path, program: plan.Program,
               schedule):
    self._members = program.members
    self._schedule = schedule
    self._writers = []
    for m in program.members:
      path = _member_dir(workdir, m)
      path.mkdir(parents=True, exist_ok=True)
      self._writers.append(metric_writers.MultiWriter([
          metric_writers.JsonlWriter(str(path)),
          metric_writers.TensorBoardWriter(str(path))]))
    self.diverged: dict[int, int] = {}
    self.last = np.full(len(program.members), np.nan)

  def __call__(self, log: engine.ChunkLog) -> None:
    steps = log.losses.shape[0]
    lr = float(self._schedule(log.step))
    for i, writer in enumerate(self._writers):
      values = log.losses[:, i]
      bad = ~np.isfinite(values)
      if bad.any() and i not in self.diverged:
        self.diverged[i] = log.step - steps + 1 + int(np.argmax(bad))
        logging.warning("%s diverged (loss %s at step %d); the other members"
                        " continue.", self._members[i].name,
                        values[bad][0], self.diverged[i])
      if i not in self.diverged:
        self.last[i] = values.mean()
        writer.write_scalars(log.step, {
            "train/loss": values.mean(), "train/learning_rate": lr,
            "train/steps_per_sec": steps / max(log.seconds, 1e-9)})
    logging.info("step %d: loss %s", log.step, ", ".join(
        f"{m.name}={v:.4g}" for m, v in zip(self._members, self.last)))

  def close(self) -> None:
    for w in self._writers:
      w.close()


def _program_meta(config, program: plan.Program, params: int, seconds: float,
                  member_cfg) -> dict[str, Any]:
  arch = config.archs[program.arch]
  model = dict(arch.model)
  return {"kind": "trained", "model": model["name"],
          "layers": model.get("layers", 0),
          "hidden_mult": model.get("hidden_mult", 0), "params": params,
          "steps": arch.steps, "batch_size": arch.batch_size,
          "learning_rate": arch.learning_rate,
          "program": program.key, "program_members": len(program.members),
          "train_seconds": seconds / len(program.members),
          "program_seconds": seconds, "seed": member_cfg.seed}


@dataclasses.dataclass(frozen=True)
class _ProgramFns:
  init: Callable
  chunk: engine.ChunkFn
  predict: Callable
  schedule: Callable


def _optimizer_key(member_cfg: ml_collections.ConfigDict) -> tuple:
  return (member_cfg.num_train_steps,) + tuple(
      sorted(member_cfg.optimizer.items()))


_FNS_CACHE: dict[tuple, _ProgramFns] = {}


def _program_fns(model, in_dim: int, optimizer_key: tuple, loss: str,
                 temperature: float, mesh, eval_batch_size: int
                 ) -> _ProgramFns:
  """The jitted functions of a program, cached per shape in this process, so
  a rerun in the same process (resume, tests, benchmarks) compiles nothing
  new."""
  key = (model, in_dim, optimizer_key, loss, temperature, eval_batch_size,
         tuple(d.id for d in mesh.devices.flat))
  if key not in _FNS_CACHE:
    steps, optimizer = optimizer_key[0], dict(optimizer_key[1:])
    tx, schedule = train.create_optimizer(ml_collections.ConfigDict(
        dict(num_train_steps=steps, optimizer=optimizer)))
    if len(_FNS_CACHE) >= 32:
      _FNS_CACHE.pop(next(iter(_FNS_CACHE)))
    _FNS_CACHE[key] = _ProgramFns(
        engine.make_init_fn(model, tx, in_dim, mesh),
        engine.make_chunk_fn(model, tx, losses.get_loss(loss, temperature),
                             mesh),
        engine.make_predict_fn(model, mesh, eval_batch_size), schedule)
  return _FNS_CACHE[key]


def _manager_for(config, workdir: pathlib.Path, program: plan.Program,
                 params: int):
  """The program's checkpoint manager, or None if its state is too big."""
  gib = params * plan.STATE_BYTES_PER_PARAM * len(program.members) / 2**30
  if gib > config.max_checkpoint_gib:
    logging.info("%s: %.1f GiB of state > config.max_checkpoint_gib: not "
                 "checkpointed.", program.key, gib)
    return None
  return checkpointing.create_manager(
      workdir / "programs" / program.key / "checkpoints",
      config.max_checkpoints)


def train_program(config: ml_collections.ConfigDict, workdir: pathlib.Path,
                  program: plan.Program, pairs: Pairs,
                  mesh: jax.sharding.Mesh, label: str) -> None:
  """Trains (or resumes) one program; scores and writes its members."""
  t0 = time.time()
  cfgs = [plan.member_config(config, m) for m in program.members]
  datas = [pairs[(m.source, m.target)] for m in program.members]
  model = plan.build_model(config, program.arch, program.out_dim)
  params = plan.param_count(model, program.in_dim)
  fns = _program_fns(model, program.in_dim, _optimizer_key(cfgs[0]),
                     config.loss.name, config.loss.temperature, mesh,
                     config.eval_batch_size)
  seeds = [c.seed for c in cfgs]
  state, start = fns.init(seeds), 0
  manager = _manager_for(config, workdir, program, params)
  if manager:
    state, start = checkpointing.restore_latest(manager, state)
  trainer = engine.StackTrainer(fns.chunk, [d.train.a for d in datas],
                                [d.train.b for d in datas],
                                cfgs[0].batch_size, seeds, mesh)
  log = _LossLog(workdir, program, fns.schedule)
  state = engine.train_stack(
      trainer, state, start, cfgs[0].num_train_steps, config.log_every, log,
      lambda step, s: manager and checkpointing.save(manager, step, s),
      config.checkpoint_every, f"{label} {program.key}")
  if manager:
    manager.wait_until_finished()
    manager.close()
  log.close()
  seconds = time.time() - t0
  translated = fns.predict(state.params,
                           engine.stack_rows([d.test.a for d in datas]))
  meta = _program_meta(config, program, params, seconds, cfgs[0])
  meta.update(resumed_from_step=start,
              predict_seconds=time.time() - t0 - seconds)
  for i, (member, paired) in enumerate(zip(program.members, datas)):
    if not is_finished(workdir, member):
      row = dict(meta, final_train_loss=float(log.last[i]),
                 diverged_at_step=log.diverged.get(i, -1),
                 num_train=len(paired.train), num_test=len(paired.test))
      _score_member(config, workdir, member, paired,
                    translated[i, :len(paired.test)], row,
                    diverged=i in log.diverged)


def _score_member(config, workdir: pathlib.Path, member: plan.Member,
                  paired: pairing.Paired, translated: np.ndarray,
                  row: dict[str, Any], diverged: bool) -> None:
  t0 = time.time()
  member_scores = ({"error": "diverged"} if diverged else
                   _score_or_nan(paired, translated, config))
  row["score_seconds"] = time.time() - t0
  _write_member(workdir, member, row, member_scores, translated,
                config.save_predictions)


def _write_pair_ids(workdir: pathlib.Path, pairs: Pairs) -> None:
  (workdir / "pairs").mkdir(exist_ok=True)
  for (a, b), paired in pairs.items():
    name = f"{plan.space_name(a)}__{plan.space_name(b)}.json"
    path = workdir / "pairs" / name
    if not path.is_file():
      workdirs.write_json_atomic(path, [str(i) for i in paired.test.ids])


def run_sweep(config: ml_collections.ConfigDict, workdir: str
              ) -> dict[str, Any]:
  """Trains and scores every unfinished member; returns a run summary."""
  t0, load_start = time.time(), os.getloadavg()[0]
  validate_config(config)
  trained = plan.trained_members(config)
  closed = plan.baseline_members(config, trained)
  spaces = plan.load_spaces(config)
  pairs = plan.pair_spaces(config, spaces)
  data_seconds = time.time() - t0
  path = workdirs.prepare(config, workdir, data_info(spaces, pairs))
  _write_pair_ids(path, pairs)
  mesh = sharding.make_mesh(config.num_devices or None)
  programs = plan.plan_programs(config, trained,
                                {s: ds.dim for s, ds in spaces.items()})
  run_baselines(config, path, closed, pairs)
  ran, skipped = [], []
  for i, program in enumerate(programs):
    if all(is_finished(path, m) for m in program.members):
      skipped.append(program.key)
      continue
    t = time.time()
    train_program(config, path, program, pairs, mesh,
                  f"[{i + 1}/{len(programs)}]")
    ran.append({"program": program.key, "members": len(program.members),
                "seconds": time.time() - t})
  summary = {"start": t0, "seconds": time.time() - t0,
             "load_avg_start": load_start, "load_avg_end": os.getloadavg()[0],
             "cpus": os.cpu_count(),
             "data_seconds": data_seconds, "programs_run": ran,
             "programs_skipped": skipped, "devices": mesh.devices.size,
             "platform": jax.devices()[0].platform,
             "members": len(trained) + len(closed)}
  if jax.process_index() == 0:
    with open(path / "runs.jsonl", "a", encoding="utf-8") as f:
      f.write(json.dumps(summary) + "\n")
  return summary
