"""The pooling heads: shapes, masks, latent inits, early errors."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from embtrans import models
from embtrans.models import _attention
from embtrans.models import perceiver
from embtrans.tasks import align_diagnostics as diagnostics
from tests.align_helpers import fast_compile  # pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("fast_compile")

_SMALL = {"perceiver": dict(num_latents=4, width=8, num_heads=2, mlp_ratio=2),
          "attention_pool": dict(num_queries=3, num_heads=2, mlp_ratio=2)}


def _tokens(b=3, t=5, d=6, seed=0):
  return jax.random.normal(jax.random.key(seed), (b, t, d))


@pytest.mark.parametrize("name", ["perceiver", "attention_pool"])
def test_registered_and_output_shape_with_mask(name):
  assert name in models.known_models()
  model = models.get_model(name, out_dim=7, **_SMALL[name])
  x = _tokens()
  mask = jnp.arange(5)[None, :] < jnp.array([5, 2, 1])[:, None]
  params = jax.jit(model.init)(jax.random.key(1), x, mask)
  apply = jax.jit(model.apply)
  y = apply(params, x, mask)
  chex.assert_shape(y, (3, 7))
  chex.assert_tree_all_finite(y)
  # Padded positions do not matter: change them, get the same outputs ...
  noise = 100.0 * _tokens(seed=2)
  y2 = apply(params, jnp.where(mask[..., None], x, noise), mask)
  np.testing.assert_allclose(y2, y, rtol=1e-5, atol=1e-5)
  # ... and they do matter when every position is valid.
  y3 = apply(params, jnp.where(mask[..., None], x, noise), mask | True)
  assert not np.allclose(y3, y, atol=1e-3)


def test_perceiver_depth_and_self_blocks_create_layers():
  model = models.get_model("perceiver", out_dim=4, num_latents=4, width=8,
                           num_heads=2, depth=2, self_per_cross=2)
  params = jax.eval_shape(model.init, jax.random.key(0), _tokens())["params"]
  assert {"cross_attn_0", "cross_attn_1", "self_1_1_attn",
          "latent_norm_1"} <= set(params)
  groups = {diagnostics.param_group(path) for path, _ in
            jax.tree_util.tree_flatten_with_path(params)[0]
            if "self_1_1_attn" in diagnostics._names(path)}  # pylint: disable=protected-access
  assert groups == {"rest"}  # Self-attention queries are not "query_proj".
  assert params["latents"].shape == (4, 8)


def test_latent_layernorm_switch_removes_only_the_latent_norms():
  on = models.get_model("perceiver", out_dim=4, **_SMALL["perceiver"])
  off = models.get_model("perceiver", out_dim=4, latent_layernorm=False,
                         **_SMALL["perceiver"])
  p_on = jax.eval_shape(on.init, jax.random.key(0), _tokens())["params"]
  p_off = jax.eval_shape(off.init, jax.random.key(0), _tokens())["params"]
  assert set(p_on) - set(p_off) == {"latent_norm_0"}
  assert "input_norm" in p_off


@pytest.mark.parametrize("kind, expected_std", [
    ("correct", 1.0),
    ("bug", 0.02),                  # randn, then overwritten by normal(0.02)
    ("std", 0.02 * 0.87962566),     # truncated at +-2 sigma (haiku/DeepMind)
])
def test_latent_init_empirical_std(kind, expected_std):
  model = models.get_model("perceiver", out_dim=4, num_latents=64, width=512,
                           num_heads=8, latent_init=kind)
  params = jax.eval_shape(model.init, jax.random.key(0), _tokens(d=8))
  assert params["params"]["latents"].shape == (64, 512)
  init = perceiver.latent_initializer(kind, 0.02)
  latents = np.asarray(init(jax.random.key(3), (64, 512), jnp.float32))
  # 32768 draws: the std estimate is within ~1% of the truth.
  assert abs(latents.std() / expected_std - 1) < 0.03
  assert abs(latents.mean()) < 0.05 * expected_std
  if kind == "std":
    assert np.abs(latents).max() <= 2 * 0.02 + 1e-7


def test_bug_init_discards_the_first_draw():
  key = jax.random.key(5)
  first, second = jax.random.split(key)
  got = perceiver.seed_bug_init(key, (4, 6))
  np.testing.assert_allclose(got, 0.02 * jax.random.normal(second, (4, 6)))
  assert not np.allclose(got, jax.random.normal(first, (4, 6)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(width=10, num_heads=4), "not divisible by num_heads"),
    (dict(width=8, num_heads=0), "num_heads must be >= 1"),
    (dict(width=8, num_heads=2, num_latents=0), "num_latents must be >= 1"),
    (dict(width=8, num_heads=2, latent_init="zeros"), "unknown latent_init"),
    (dict(width=8, num_heads=2, latent_init="std", latent_init_std=0.0),
     "latent_init_std must be > 0"),
])
def test_perceiver_rejects_impossible_settings(kwargs, message):
  with pytest.raises(ValueError, match=message):
    models.get_model("perceiver", out_dim=4, **kwargs)


def test_attention_pool_rejects_token_dim_not_divisible_by_heads():
  model = models.get_model("attention_pool", out_dim=4, num_heads=4)
  with pytest.raises(ValueError, match="token dim.*width 6 is not divisible"):
    jax.eval_shape(model.init, jax.random.key(0), _tokens(d=6))


def test_entropy_is_one_for_uniform_and_zero_for_one_hot():
  uniform = jnp.full((2, 1, 3, 4), 0.25)
  assert float(_attention.normalised_entropy(uniform, jnp.array([4, 4]))) == (
      pytest.approx(1.0, abs=1e-6))
  one_hot = jnp.zeros((2, 1, 3, 4)).at[..., 1].set(1.0)
  assert float(_attention.normalised_entropy(one_hot, jnp.array([4, 4]))) == (
      pytest.approx(0.0, abs=1e-6))
  # Two valid keys of four, uniform over them: entropy ln 2 / ln 2 = 1.
  half = jnp.zeros((1, 1, 1, 4)).at[..., :2].set(0.5)
  assert float(_attention.normalised_entropy(half, jnp.array([2]))) == (
      pytest.approx(1.0, abs=1e-6))


def test_pairwise_cosine_matches_numpy():
  x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
  u = x / np.linalg.norm(x, axis=1, keepdims=True)
  g = u @ u.T
  expected = (g.sum() - np.trace(g)) / 20
  assert float(_attention.pairwise_cosine(jnp.asarray(x))) == pytest.approx(
      expected, abs=1e-6)
