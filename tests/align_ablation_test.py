"""The ablation's controls and knobs: forced-uniform attention, the signal
fraction of the planted data, the attention mass on the signal tokens, and
the fault registry and chance levels (NumPy / closed-form references)."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from embtrans.data import planted
from embtrans.models import _attention
from embtrans.models import perceiver
from embtrans.tasks import align_diagnostics
from embtrans.tasks import align_faults
from embtrans.tasks import align_scores
from tests.align_helpers import fast_compile  # pylint: disable=unused-import


def _perceiver(uniform):
  """-> (jitted params -> (out, key weights [b, T], entropy), params, lengths)."""
  model = perceiver.Model(out_dim=8, num_latents=4, width=8, num_heads=2,
                          self_per_cross=0, latent_init="bug",
                          uniform_attention=uniform)
  tokens = jax.random.normal(jax.random.key(0), (3, 6, 5))
  lengths = np.array([6, 3, 1])
  mask = _attention.key_mask(jnp.asarray(lengths), 6)
  params = jax.jit(model.init)(jax.random.key(1), tokens, mask)["params"]

  @jax.jit
  def run(p):
    out, state = model.apply({"params": p}, tokens, mask,
                             mutable=["intermediates"])
    inter = state["intermediates"]["cross_attn_0"]
    return (out, inter[_attention.KEY_WEIGHTS][0],
            inter[_attention.ENTROPY][0])
  return run, params, lengths


@pytest.mark.usefixtures("fast_compile")
def test_forced_uniform_attention_is_exactly_uniform():
  run, params, lengths = _perceiver(True)
  _, weights, entropy = run(params)
  expected = (np.arange(6)[None, :] < lengths[:, None]) / lengths[:, None]
  np.testing.assert_array_equal(np.asarray(weights),
                                expected.astype(np.float32))
  # Entropy 1 for the two examples with > 1 key, 0 for the one-key example.
  assert float(entropy) == pytest.approx(2 / 3, abs=1e-6)
  # Other latents (queries) leave the weights exactly where they were.
  moved = dict(params, latents=params["latents"] * 50.0 + 3.0)
  chex.assert_trees_all_equal(run(moved)[1], weights)


@pytest.mark.usefixtures("fast_compile")
def test_learned_attention_is_not_uniform():
  run, params, lengths = _perceiver(False)
  weights = np.asarray(run(params)[1])
  np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
  uniform = (np.arange(6)[None, :] < lengths[:, None]) / lengths[:, None]
  assert np.abs(weights[0] - uniform[0]).max() > 1e-4


@pytest.mark.parametrize("fraction", [0.25, 1.0])
def test_signal_fraction_sets_the_marked_share(fraction):
  data = planted.planted(num_train=64, num_test=16, num_tokens=8,
                         token_dim=8, code_dim=4, target_dim=8,
                         signal_fraction=fraction, seed=3)
  mask = data.extras["signal_mask"][data.train.rows]
  lengths = data.train.lengths
  expected = np.maximum(1, np.rint(fraction * lengths))
  np.testing.assert_array_equal(mask.sum(1), expected)
  assert not np.any(mask & (np.arange(8)[None, :] >= lengths[:, None]))
  tokens = np.asarray(data.train.tokens)[data.train.rows]
  marker = data.extras["marker_direction"]
  proj = tokens @ marker
  others = ~mask & (np.arange(8) < lengths[:, None])
  assert proj[mask].mean() > 3.0
  if fraction < 1:
    assert proj[others].mean() < 1.0
  else:
    assert not others.any()


def test_mean_pooling_recovers_the_code_when_every_token_carries_it():
  kw = dict(num_train=1024, num_test=128, num_tokens=16, token_dim=32,
            code_dim=8, target_dim=16, seed=1)
  one = align_scores.mean_pool_ridge(planted.planted(**kw))
  every = align_scores.mean_pool_ridge(planted.planted(signal_fraction=1.0,
                                                       **kw))
  assert one["i2t/recall@1"] < 0.3 < 0.9 < every["i2t/recall@1"]


def test_signal_mass_matches_numpy():
  weights = np.array([[0.5, 0.25, 0.25, 0.0], [0.1, 0.2, 0.3, 0.4]],
                     np.float32)
  signal = np.array([[True, False, False, False], [False, True, True, False]])
  inter = {"image": {"cross_attn_0": {_attention.KEY_WEIGHTS: (
      jnp.asarray(weights),)}}}
  out = align_diagnostics.signal_mass(inter, jnp.asarray(signal),
                                      jnp.array([3, 4]))
  assert float(out["signal_mass/cross_attn_0"]) == pytest.approx(
      (0.5 + 0.5) / 2)
  assert float(out["signal_mass/uniform"]) == pytest.approx((1 / 3 + 2 / 4)
                                                            / 2)


def test_unknown_fault_lists_the_known():
  with pytest.raises(ValueError, match="known faults: shifted_pairs, "):
    align_faults.parse("shifted_pairs+nonsense")
  with pytest.raises(ValueError, match="divisible by 4"):
    align_faults.check("gather_labels", 30)
  assert align_faults.parse("none") == ()


def _np_infonce(a, b, scale, labels_ab, labels_ba):
  a = a / np.linalg.norm(a, axis=1, keepdims=True)
  b = b / np.linalg.norm(b, axis=1, keepdims=True)
  z = scale * a @ b.T
  lsm1 = z - np.log(np.exp(z).sum(1, keepdims=True))
  lsm0 = z - np.log(np.exp(z).sum(0, keepdims=True))
  rows = np.arange(len(a))
  return -0.5 * (lsm1[rows, labels_ab].mean() + lsm0[labels_ba, rows].mean())


@pytest.mark.usefixtures("fast_compile")
def test_faulty_objectives_match_numpy():
  rng = np.random.default_rng(0)
  img, txt = rng.standard_normal((8, 16)), rng.standard_normal((8, 16))
  scale = np.float32(7.0)
  rows = np.arange(8)
  shards = np.tile(np.arange(2), 4)
  cases = {"none": (txt, 7.0, rows), "unit_temperature": (txt, 1.0, rows),
           "collapsed_temperature": (txt, 100.0, rows),
           "shifted_pairs": (np.roll(txt, -1, 0), 7.0, rows),
           "gather_labels": (txt, 7.0, shards)}
  for fault, (t, s, labels) in cases.items():
    obj = jax.jit(align_faults.Objective(fault, (16,), None, 100.0))
    _, logged, _ = obj(jnp.asarray(img, jnp.float32),
                       jnp.asarray(txt, jnp.float32), jnp.asarray(scale))
    assert float(logged) == pytest.approx(
        _np_infonce(img, t, s, labels, labels), rel=1e-4), fault


@pytest.mark.usefixtures("fast_compile")
def test_chance_level_is_the_logged_loss_when_all_logits_tie():
  batch, prefixes = 8, (4, 2, 1)
  same = jnp.ones((batch, 4))
  for fault in list(align_faults.FAULTS) + ["shifted_pairs+loss_bits"]:
    _, logged, _ = align_faults.Objective(fault, prefixes, None, 100.0)(
        same, same, jnp.asarray(14.0))
    chance = align_faults.chance_level(fault, batch, len(prefixes))
    assert float(logged) == pytest.approx(chance, rel=1e-5), fault
  # At the seed's batch 64: ln 64, 4 ln 64 over 4 prefixes, log2 64 = 6.
  closed = {"none": math.log(64), "mrl_sum_logged": 4 * math.log(64),
            "loss_bits": 6.0, "shifted_pairs+loss_bits": 6.0,
            "gather_labels": math.log(64)}
  for fault, value in closed.items():
    assert align_faults.chance_level(fault, 64, 4) == pytest.approx(value)


def test_unit_temperature_floor_is_the_simplex_loss():
  b = 4
  # Regular simplex in R^3: cosines -1/3 between distinct vertices.
  v = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
  floor = _np_infonce(v, v, 1.0, np.arange(b), np.arange(b))
  assert align_faults.floor_level("unit_temperature", b) == pytest.approx(
      floor)
  assert align_faults.floor_level("none", b) is None
