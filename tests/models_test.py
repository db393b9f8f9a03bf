"""Every registered model: construction, output shapes, init, errors."""

import chex
import jax
import jax.numpy as jnp
import pytest

from embtrans import models

# Constructor kwargs per model beyond those it shares; models that need more
# than `out_dim` register their test kwargs here.
_TEST_KWARGS = {"mlp": dict(hidden_mult=2, layers=2)}
_TRANSLATORS = ("linear", "mlp")


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


def test_every_registered_model_is_covered():
  uncovered = set(models.known_models()) - set(_TRANSLATORS) - {
      "autoencoder", "attention_pool", "perceiver"}
  assert not uncovered, f"add shape tests for {uncovered}"


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
