"""InfoNCE, Matryoshka InfoNCE and the learnable temperature vs NumPy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from embtrans import losses
from embtrans import models
from embtrans.models import dual_encoder
from embtrans.tasks import align
from tests import helpers
from tests.align_helpers import fast_compile  # pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("fast_compile")


def _np_infonce(a, b, t):
  """Symmetric InfoNCE in float64 NumPy, written from the definition."""
  a = a / np.linalg.norm(a, axis=1, keepdims=True)
  b = b / np.linalg.norm(b, axis=1, keepdims=True)
  logits = (a @ b.T) / t
  def xent(z):  # rows are queries, the diagonal is the positive.
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(np.diag(logp))
  return 0.5 * (xent(logits) + xent(logits.T))


def _pair(n=6, d=16, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.standard_normal((n, d)).astype(np.float64),
          rng.standard_normal((n, d)).astype(np.float64))


@pytest.mark.parametrize("t", [0.07, 0.5, 1.0])
def test_infonce_matches_numpy(t):
  a, b = _pair()
  got = float(losses.infonce(jnp.asarray(a, jnp.float32),
                             jnp.asarray(b, jnp.float32), t))
  assert got == pytest.approx(_np_infonce(a, b, t), rel=1e-5)


def test_infonce_at_chance_is_ln_batch():
  # Uninformative embeddings (all rows equal): every logit ties.
  a, b = np.ones((8, 4)), np.full((8, 4), -2.0)
  assert float(losses.infonce(jnp.asarray(a), jnp.asarray(b), 0.1)) == (
      pytest.approx(math.log(8), rel=1e-6))


@pytest.mark.parametrize("weights", [None, (1.0, 0.5, 0.25, 2.0)])
def test_matryoshka_is_the_sum_of_per_prefix_losses(weights):
  a, b = _pair(n=5, d=16, seed=2)
  prefixes = (16, 8, 4, 2)
  w = weights or (1.0,) * 4
  expected = sum(wi * _np_infonce(a[:, :p], b[:, :p], 0.1)
                 for p, wi in zip(prefixes, w))
  got = losses.matryoshka_infonce(jnp.asarray(a, jnp.float32),
                                  jnp.asarray(b, jnp.float32), prefixes, 0.1,
                                  weights)
  assert float(got) == pytest.approx(expected, rel=1e-5)
  # Each prefix is normalised on its own: scaling the tail of the vectors
  # leaves the loss of the shorter prefixes unchanged.
  a2 = a.copy()
  a2[:, 8:] *= 10
  per8 = float(losses.matryoshka_infonce(jnp.asarray(a2, jnp.float32),
                                         jnp.asarray(b, jnp.float32),
                                         (8, 4, 2), 0.1))
  assert per8 == pytest.approx(sum(_np_infonce(a[:, :p], b[:, :p], 0.1)
                                   for p in (8, 4, 2)), rel=1e-5)


@pytest.mark.parametrize("prefixes, weights, message", [
    ((16, 0), None, "prefixes must be"), ((17,), None, "prefixes must be"),
    ((), None, "prefixes must be"), ((8, 4), (1.0,), "one weight per prefix")])
def test_matryoshka_rejects_bad_prefixes(prefixes, weights, message):
  a = jnp.ones((3, 16))
  with pytest.raises(ValueError, match=message):
    losses.matryoshka_infonce(a, a, prefixes, 0.1, weights)


def _dual(**temperature):
  head = models.get_model("attention_pool", out_dim=8, num_heads=2)
  return dual_encoder.DualEncoder(head, 8, **temperature)


def test_temperature_is_log_parameterised_and_clipped():
  model = _dual()
  x = jax.random.normal(jax.random.key(1), (4, 3, 4))
  y = jax.random.normal(jax.random.key(2), (4, 5))
  params = jax.jit(model.init)(jax.random.key(0), x, None, y)["params"]
  assert float(params["log_logit_scale"]) == pytest.approx(math.log(1 / 0.07))
  apply = jax.jit(lambda p: model.apply({"params": p}, x, None, y))
  scale = lambda p: float(apply(p)[2])  # pylint: disable=unnecessary-lambda-assignment
  assert scale(params) == pytest.approx(1 / 0.07, rel=1e-5)
  high = {**params, "log_logit_scale": jnp.asarray(math.log(1000.0))}
  assert scale(high) == pytest.approx(100.0, rel=1e-5)      # clip at 100
  low = {**params, "log_logit_scale": jnp.asarray(-3.0)}
  assert scale(low) == pytest.approx(1.0, rel=1e-6)          # floor at 1
  clamped = dual_encoder.clamp_log_scale(high, 100.0)
  assert float(clamped["log_logit_scale"]) == pytest.approx(math.log(100))
  # The gradient reaches the temperature inside the clip, not beyond it.
  @jax.jit
  @jax.grad
  def grad(p):
    img, txt, s = apply(p)
    return losses.infonce(img, txt, 1.0 / s)
  assert float(grad(params)["log_logit_scale"]) != 0.0
  assert float(grad(high)["log_logit_scale"]) == 0.0


def test_temperature_config_is_validated():
  config = helpers.load_config("align_attention_pool", "tiny=True")
  config.temperature.init_temperature = 0.001
  with pytest.raises(ValueError, match="init_temperature must be in"):
    align.validate(config)
