"""Every registered model: construction, output shapes, init, errors."""

import chex
import jax
import jax.numpy as jnp
import pytest

from embtrans import models

# Constructor kwargs per model beyond those it shares; models that need more
# than `out_dim` register their test kwargs here.
_TEST_KWARGS = {"mlp": dict(hidden_mult=2, layers=2), "lowrank": dict(rank=3)}
_TRANSLATORS = ("linear", "lowrank", "mlp")


@pytest.mark.parametrize("name", [m for m in models.known_models()
                                  if m in _TRANSLATORS])
@pytest.mark.parametrize("in_dim, out_dim", [(6, 6), (8, 5), (4, 12)])
def test_translator_output_shape(name, in_dim, out_dim):
  model = models.get_model(name, out_dim=out_dim, **_TEST_KWARGS.get(name, {}))
  x = jnp.ones((3, in_dim))
  params = model.init(jax.random.key(0), x)
  y = model.apply(params, x)
  chex.assert_shape(y, (3, out_dim))
  chex.assert_tree_all_finite(y)


# Models whose shapes are tested elsewhere: the pooling heads in
# align_models_test.py, the autoencoder below.
_OTHERS = ("autoencoder", "attention_pool", "perceiver")


def test_every_registered_model_is_covered():
  uncovered = set(models.known_models()) - set(_TRANSLATORS) - set(_OTHERS)
  assert not uncovered, f"add shape tests for {uncovered}"


@pytest.mark.parametrize("variant, in_dim, out_dim, code_dim", [
    ("tiny", 16, 16, 3), ("tiny", 10, 24, 2)])
def test_autoencoder_shapes(variant, in_dim, out_dim, code_dim):
  model = models.get_model("autoencoder", out_dim=out_dim, code_dim=code_dim,
                           variant=variant)
  x = jax.random.normal(jax.random.key(0), (5, in_dim))

  @jax.jit
  def run(x):
    params = model.init(jax.random.key(1), x)
    recon, code = model.apply(params, x)
    return (recon, code, model.apply(params, x, method=model.encode),
            model.apply(params, code, method=model.decode))

  recon, code, encoded, decoded = run(x)
  chex.assert_shape(recon, (5, out_dim))
  chex.assert_shape(code, (5, code_dim))
  chex.assert_tree_all_finite((recon, code))
  # encode / decode are the two halves of __call__.
  chex.assert_trees_all_close(encoded, code, atol=1e-6)
  chex.assert_trees_all_close(decoded, recon, atol=1e-6)


def test_autoencoder_code_is_linear_and_widths_mirror():
  model = models.get_model("autoencoder", out_dim=7, variant="small")
  params = jax.eval_shape(model.init, jax.random.key(0),
                          jnp.ones((1, 9)))["params"]
  enc, dec = params["encoder"], params["decoder"]
  assert enc["hidden_0"]["kernel"].shape == (9, 128)
  assert enc["out"]["kernel"].shape == (32, 3)
  assert dec["hidden_0"]["kernel"].shape == (3, 32)
  assert dec["out"]["kernel"].shape == (128, 7)
  assert set(enc) == {"hidden_0", "hidden_1", "out"}  # no activation layer


@pytest.mark.parametrize("kwargs, match", [
    (dict(variant="huge"), "unknown variant 'huge'.*known"),
    (dict(activation="elu"), "unknown activation 'elu'"),
    (dict(code_dim=0), "code_dim and out_dim must be >= 1")])
def test_autoencoder_rejects_bad_args(kwargs, match):
  with pytest.raises(ValueError, match=match):
    models.get_model("autoencoder", out_dim=4, **kwargs)


@pytest.mark.parametrize("mult, layers, expected", [(1, 1, 2), (8, 1, 2),
                                                     (32, 2, 3)])
def test_mlp_width_and_depth(mult, layers, expected):
  model = models.get_model("mlp", out_dim=5, hidden_mult=mult, layers=layers)
  params = model.init(jax.random.key(0), jnp.ones((1, 4)))["params"]
  assert len(params) == expected
  assert params["hidden_0"]["kernel"].shape == (4, 4 * mult)


def test_unknown_model_lists_known_ones():
  with pytest.raises(ValueError, match="Known models: .*linear.*mlp"):
    models.get_model("transformer_xl", out_dim=3)


def test_mlp_rejects_bad_layers():
  with pytest.raises(ValueError, match="layers must be 1 or 2"):
    models.get_model("mlp", out_dim=3, layers=3)


def test_lowrank_starts_as_identity_and_has_the_rank():
  model = models.get_model("lowrank", out_dim=6, rank=2)
  x = jax.random.normal(jax.random.key(1), (5, 6))
  params = model.init(jax.random.key(0), x)
  chex.assert_trees_all_close(model.apply(params, x), x)  # up starts at 0.
  chex.assert_shape(params["params"]["down"]["kernel"], (6, 2))
  with pytest.raises(ValueError, match="rank must be >= 1"):
    models.get_model("lowrank", out_dim=6, rank=0)
