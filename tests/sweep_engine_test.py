"""The vmapped grid engine equals k separate runs of the single trainer."""

import json

import jax
import ml_collections
import numpy as np

from embtrans import checkpointing
from embtrans import losses
from embtrans import metric_writers
from embtrans import models
from embtrans import sharding
from embtrans import train
from embtrans.data import pairing
from embtrans.sweep import engine

STEPS, CHUNK, BATCH = 8, 3, 16   # 8 = 3 + 3 + 2: a ragged last chunk.


def _config(seed: int) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      seed=seed, batch_size=BATCH, num_train_steps=STEPS, log_every=1,
      checkpoint_every=STEPS, max_inflight_steps=-1,
      optimizer=dict(learning_rate=3e-3, weight_decay=1e-4, b1=0.9, b2=0.999,
                     warmup_steps=3, end_lr_fraction=0.01, grad_clip=1.0)))


def _members():
  """Two members of one shape: different data, seeds and row counts."""
  rng = np.random.default_rng(0)
  w = rng.standard_normal((6, 5))
  out = []
  for rows, seed in ((70, 0), (53, 2)):
    x = rng.standard_normal((rows, 6)).astype(np.float32)
    y = (np.tanh(x @ w) + 0.1 * rng.standard_normal((rows, 5))).astype(
        np.float32)
    out.append((x, y, seed))
  return out


def _separate(step, tx, schedule, x, y, seed, model, mesh, tmp_path):
  """The single trainer's own loop (`train.train_loop`), one member."""
  config = _config(seed)
  state = train.create_train_state(model, tx, x.shape[1], seed, mesh)
  writer = metric_writers.JsonlWriter(str(tmp_path / f"single{seed}"))
  state = train.train_loop(config, state, step, schedule,
                           pairing.PairedSplit(np.arange(len(x)), x, y),
                           mesh, checkpointing.NoCheckpoints(), writer)
  writer.close()
  rows = [json.loads(l) for l in (tmp_path / f"single{seed}" /
                                  "metrics.jsonl").open()]
  return state, np.array([r["train/loss"] for r in rows])


def test_vmapped_members_equal_separate_trainings(tmp_path):
  # The batch is split over 2 of the 4 fake devices: the gradient is
  # all-reduced, as in the single trainer (2 compile faster than 4).
  mesh = sharding.make_mesh(2)
  model = models.get_model("mlp", out_dim=5, hidden_mult=2, layers=2)
  tx, schedule = train.create_optimizer(_config(0))
  members = _members()
  seeds = [s for _, _, s in members]
  state = engine.init_stack(model, tx, 6, seeds, mesh)
  trainer = engine.StackTrainer(
      engine.make_chunk_fn(model, tx, losses.mse, mesh),
      [x for x, _, _ in members], [y for _, y, _ in members], BATCH, seeds,
      mesh)
  logged, saved = [], []
  state = engine.train_stack(trainer, state, 0, STEPS, CHUNK, logged.append,
                             lambda step, s: saved.append(step), STEPS, "t")
  assert [log.step for log in logged] == [3, 6, 8]
  assert saved == [STEPS]
  grid_losses = np.concatenate([log.losses for log in logged])  # [8, 2]
  assert grid_losses.shape == (STEPS, 2)
  # One jitted step reused for every member, as a user's loop would.
  step = train.make_train_step(model, tx, losses.mse, mesh)
  for i, (x, y, seed) in enumerate(members):
    single, single_losses = _separate(step, tx, schedule, x, y, seed, model,
                                      mesh, tmp_path)
    np.testing.assert_allclose(grid_losses[:, i], single_losses, rtol=2e-5,
                               atol=1e-7)
    mine = jax.tree.map(lambda a, i=i: np.asarray(a[i]), state.params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(
        a, np.asarray(b), rtol=1e-4, atol=2e-6), mine, single.params)
    assert int(state.step[i]) == int(single.step) == STEPS
  # The members really differ (different data and seeds): no trivial pass.
  assert not np.allclose(grid_losses[:, 0], grid_losses[:, 1])


def test_batches_follow_each_members_own_epoch_order():
  x = [np.zeros((40, 3), np.float32), np.zeros((24, 3), np.float32)]
  mesh = sharding.make_mesh(1)
  trainer = engine.StackTrainer(lambda *a: None, x, [a[:, :2] for a in x],
                                8, [7, 9], mesh)
  idx = trainer.indices(2, 4)                    # steps 2..5
  assert idx.shape == (4, 2, 8)
  for m, (rows, seed) in enumerate(((40, 7), (24, 9))):
    # Independent reference: epoch e is permutation rng([seed, e]).
    per_epoch = rows // 8
    for t, step in enumerate(range(2, 6)):
      epoch, k = divmod(step, per_epoch)
      perm = np.random.default_rng([seed, epoch]).permutation(rows)
      np.testing.assert_array_equal(idx[t, m], perm[k * 8:(k + 1) * 8])


def test_stack_rows_pads_shorter_members_with_zeros():
  out = engine.stack_rows([np.ones((3, 2)), 2 * np.ones((1, 2))])
  np.testing.assert_array_equal(out, [[[1, 1]] * 3, [[2, 2], [0, 0],
                                                     [0, 0]]])
  assert out.dtype == np.float32
