"""Every registered model: construction, output shapes, init, errors."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
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


def _gelu(x):  # flax's default gelu: the tanh approximation.
  return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


_NP_ACTIVATIONS = {"gelu": _gelu, "relu": lambda x: np.maximum(x, 0),
                   "tanh": np.tanh, "silu": lambda x: x / (1 + np.exp(-x))}


def _numpy_forward(name, p, x, kwargs, out_dim):
  """The documented maps, in float64 NumPy, from the param tree `p`."""
  dense = lambda h, q: h @ np.asarray(q["kernel"], np.float64) + (  # pylint: disable=g-long-lambda
      np.asarray(q["bias"], np.float64) if "bias" in q else 0)
  if name == "linear":                                    # x W + b
    return dense(x, p["dense"])
  if name == "mlp":                                       # act(x W_i + b_i)...
    act = _NP_ACTIVATIONS[kwargs.get("activation", "gelu")]
    for i in range(kwargs.get("layers", 1)):
      x = act(dense(x, p[f"hidden_{i}"]))
    return dense(x, p["out"])
  fixed = np.pad(x, ((0, 0), (0, max(0, out_dim - x.shape[1]))))[:, :out_dim]
  return dense(dense(x, p["down"]), p["up"]) + fixed    # lowrank


@pytest.mark.parametrize("name, kwargs, in_dim, out_dim", [
    ("linear", {}, 6, 4),
    ("mlp", dict(hidden_mult=2, layers=1), 5, 3),
    ("mlp", dict(hidden_mult=3, layers=2, activation="relu"), 4, 6),
    ("mlp", dict(hidden_mult=1, layers=1, activation="silu"), 4, 4),
    ("lowrank", dict(rank=2), 6, 4),
    ("lowrank", dict(rank=2), 3, 5)])
def test_translator_forward_matches_numpy(name, kwargs, in_dim, out_dim):
  model = models.get_model(name, out_dim=out_dim, **kwargs)
  rng = np.random.default_rng(0)
  x = rng.standard_normal((7, in_dim)).astype(np.float32)
  shapes = model.init(jax.random.key(0), x)
  # Random values everywhere (inits may be zeros, e.g. biases, lowrank up).
  params = jax.tree.map(lambda a: rng.standard_normal(a.shape).astype(
      np.float32) * 0.7, shapes)
  got = np.asarray(model.apply(params, x))
  want = _numpy_forward(name, params["params"], x.astype(np.float64), kwargs,
                        out_dim)
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


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
