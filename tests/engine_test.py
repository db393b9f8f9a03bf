"""The engine: members, feeds, loop, optimizer — each against a reference."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from embtrans import checkpointing
from embtrans import sharding
from embtrans.data import pairing
from embtrans.engine import feeds
from embtrans.engine import loop
from embtrans.engine import members as members_lib
from embtrans.engine import optim
from embtrans.engine import program as program_lib
from embtrans.tasks import translate

STEPS, BATCH = 12, 16


def _config(seed=0, lr=3e-3, model="mlp", steps=STEPS):
  c = ml_collections.ConfigDict(dict(
      seed=seed, batch_size=BATCH, num_train_steps=steps, eval_batch_size=32,
      recall_ks=(1, 5), evals={}, baselines=(),
      model=dict(name=model, hidden_mult=2, layers=1) if model == "mlp" else
      dict(name=model),
      loss=dict(name="mse", temperature=0.05),
      optimizer=dict(learning_rate=lr, weight_decay=1e-4, b1=0.9, b2=0.999,
                     warmup_steps=3, end_lr_fraction=0.01, grad_clip=1.0)))
  return c


def _data(rows=70, seed=0, d_in=6, d_out=5) -> translate.Data:
  rng = np.random.default_rng(seed)
  w = rng.standard_normal((d_in, d_out))
  x = rng.standard_normal((rows + 20, d_in)).astype(np.float32)
  y = (np.tanh(x @ w) + 0.1 * rng.standard_normal((rows + 20, d_out))
       ).astype(np.float32)
  ids = np.array([f"r{i}" for i in range(rows + 20)])
  split = lambda s: pairing.PairedSplit(ids[s], x[s], y[s])  # pylint: disable=g-long-lambda
  paired = pairing.Paired(split(slice(0, rows)), split(slice(rows, None)),
                          0, 0)
  return translate.Data(paired, {"source_dim": d_in, "target_dim": d_out})


def _train(configs, datas, mesh, log_every=5, manager=None, policy="stop"):
  prog = translate.build(configs, datas, [f"m{i}" for i in range(len(
      configs))], mesh)
  outcome, _ = program_lib.train(
      prog, mesh, manager or checkpointing.NoCheckpoints(),
      log_every=log_every, checkpoint_every=0 if manager is None else 5,
      on_window=lambda w: None, nan_policy=policy)
  return prog, outcome


def test_segments_cut_at_both_cadences_and_resume_the_same():
  assert loop.segments(0, 12, 5, 0) == [(0, 5), (5, 10), (10, 12)]
  assert loop.segments(0, 12, 5, 4) == [(0, 4), (4, 5), (5, 8), (8, 10),
                                        (10, 12)]
  # From a saved step the remaining chunks are the uninterrupted run's.
  assert loop.segments(8, 12, 5, 4) == loop.segments(0, 12, 5, 4)[-2:]


def test_optimizer_equals_adamw_with_the_scaled_schedule():
  o = _config().optimizer
  tx, unit = optim.create(o, 50)
  ref = optax.chain(optax.clip_by_global_norm(o.grad_clip), optax.adamw(
      optax.warmup_cosine_decay_schedule(0.0, o.learning_rate, o.warmup_steps,
                                         50, o.learning_rate *
                                         o.end_lr_fraction),
      o.b1, o.b2, weight_decay=o.weight_decay))
  params = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3)}
  state, ref_state, p, q = tx.init(params), ref.init(params), params, params
  for step in range(8):
    g = jax.tree.map(lambda a: jnp.sin(a * (step + 1)), p)
    u, state = tx.update(g, state, p)
    p = optax.apply_updates(p, jax.tree.map(lambda x: o.learning_rate * x, u))
    g = jax.tree.map(lambda a: jnp.sin(a * (step + 1)), q)
    v, ref_state = ref.update(g, ref_state, q)
    q = optax.apply_updates(q, v)
  chex_close(p, q, rtol=1e-6)
  assert float(unit(o.warmup_steps)) == pytest.approx(1.0)


def chex_close(a, b, rtol):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol,
                               atol=1e-7)


def test_one_member_alone_equals_member_k_of_a_vmapped_program():
  mesh = sharding.make_mesh(1)
  datas = [_data(70, 0), _data(53, 1), _data(70, 2)]
  configs = [_config(seed=s, lr=lr) for s, lr in ((0, 3e-3), (2, 1e-2),
                                                  (5, 3e-3))]
  _, stacked = _train(configs, datas, mesh)
  for k in range(3):
    _, alone = _train([configs[k]], [datas[k]], mesh)
    chex_close(jax.tree.map(lambda a: a[k], stacked.members.params),
               jax.tree.map(lambda a: a[0], alone.members.params), rtol=2e-5)
    np.testing.assert_allclose(stacked.last["loss"][k],
                               alone.last["loss"][0], rtol=2e-5)


def test_shuffled_members_break_the_equality():
  """The equality above can fail: member 1's params are not member 0's."""
  mesh = sharding.make_mesh(1)
  configs = [_config(seed=0), _config(seed=1)]
  _, out = _train(configs, [_data()] * 2, mesh)
  p = out.members.params
  a = np.asarray(jax.tree.leaves(p)[0][0])
  b = np.asarray(jax.tree.leaves(p)[0][1])
  assert np.abs(a - b).max() > 1e-3


def test_device_and_stream_feeds_train_identically():
  mesh = sharding.make_mesh(2)
  data = _data()
  c = _config()
  prog = translate.build([c], [data], ["m"], mesh)
  train = data.paired.train
  sampler = feeds.RowSampler(len(train), BATCH, c.seed)
  stream = feeds.StreamFeed(
      lambda s, t: (train.a[sampler.indices(t)], train.b[sampler.indices(t)]),
      [0], mesh)
  state = program_lib.init(prog, mesh)
  outs = []
  for feed in (prog.feed, stream):
    run = members_lib.chunk_fn(prog.step, feed, mesh)
    s = jax.tree.map(jnp.copy, state)
    s, m = run(s, feed.resident, feed.inputs(0, STEPS))
    outs.append((s.params, np.asarray(m["loss"])))
  chex_close(outs[0][0], outs[1][0], rtol=1e-6)
  np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6)
  assert outs[0][1].shape == (STEPS, 1)


def test_four_devices_equal_one():
  datas, configs = [_data()], [_config()]
  _, one = _train(configs, datas, sharding.make_mesh(1))
  _, four = _train(configs, datas, sharding.make_mesh(4))
  chex_close(one.members.params, four.members.params, rtol=1e-4)


def test_nan_policy_stop_names_the_member_and_keeps_the_checkpoint(tmp_path):
  mesh = sharding.make_mesh(1)
  manager = checkpointing.create_manager(tmp_path / "ckpt")
  c = _config(lr=1e30, model="linear")
  with pytest.raises(loop.TrainingDivergedError, match=r"Loss of m0 became"):
    _train([c], [_data()], mesh, manager=manager)
  # Nothing was saved after the divergence was seen.
  assert manager.latest_step() is None or manager.latest_step() < STEPS


def test_nan_policy_continue_lets_the_other_members_finish():
  mesh = sharding.make_mesh(1)
  configs = [_config(lr=3e-3, model="linear"), _config(lr=1e30,
                                                       model="linear")]
  prog, out = _train(configs, [_data()] * 2, mesh, policy="continue")
  assert list(out.diverged) == [1] and 1 <= out.diverged[1] <= STEPS
  assert np.isfinite(out.last["loss"][0]) and not np.isfinite(
      out.last["loss"][1])
  scores = prog.evaluate(out.members.params)
  assert "error" in scores[1][0] and np.isfinite(scores[0][0]["test/mse"])


def test_resume_from_a_checkpoint_is_bitwise_the_uninterrupted_run(tmp_path):
  mesh = sharding.make_mesh(1)
  c, data = _config(), _data()
  _, ref = _train([c], [data], mesh)
  manager = checkpointing.create_manager(tmp_path / "ckpt")
  short = _config(steps=STEPS)
  prog = translate.build([short], [data], ["m"], mesh)
  prog.num_steps = 5  # Stop after the first checkpoint, as a kill would.
  program_lib.train(prog, mesh, manager, log_every=5, checkpoint_every=5,
                    on_window=lambda w: None)
  assert manager.latest_step() == 5
  _, resumed = _train([c], [data], mesh, manager=manager)
  for x, y in zip(jax.tree.leaves(ref.members.params),
                  jax.tree.leaves(resumed.members.params)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


class _FakeDevice:
  """A clock and an asynchronous device: a dispatched chunk runs `chunk_s`
  seconds after the previous one ends; fetching it waits for its end;
  a checkpoint save takes `save_s` seconds of host time."""

  def __init__(self, chunk_s, save_s):
    self.now, self.busy_until = 100.0, 100.0
    self.chunk_s, self.save_s = chunk_s, save_s

  def chunk(self, members, resident, inputs):
    del resident
    self.busy_until = max(self.now, self.busy_until) + self.chunk_s
    steps = inputs.shape[0]
    return members, {"loss": np.zeros((steps, 1)), "_end": self.busy_until}

  def fetch(self, metrics):
    self.now = max(self.now, metrics["_end"])
    return {"loss": metrics["loss"]}

  def save(self, *args):
    del args
    self.now += self.save_s


def test_window_seconds_are_chunk_seconds_around_checkpoints(monkeypatch):
  fake = _FakeDevice(chunk_s=2.0, save_s=7.0)
  monkeypatch.setattr(loop.time, "time", lambda: fake.now)
  monkeypatch.setattr(loop, "_fetch", fake.fetch)
  monkeypatch.setattr(checkpointing, "save", fake.save)

  class Feed:
    resident = None

    def inputs(self, begin, n):
      return np.arange(begin, begin + n)

  windows = []
  loop.run(fake.chunk, None, Feed(), 0, 40, log_every=5, checkpoint_every=10,
           manager=checkpointing.NoCheckpoints(), on_window=windows.append,
           names=["m0"])
  assert [w.step for w in windows] == list(range(5, 41, 5))
  # Each window took one chunk of device time: no checkpoint save counted
  # in, and the chunk fetched right at a checkpoint not counted as ~0 s.
  np.testing.assert_allclose([w.seconds for w in windows], 2.0)
