"""Attention and MLP blocks shared by the pooling heads (not a model itself).

`MultiHeadAttention` is written out (rather than `nn.MultiHeadDotProductAttention`)
so that it can report, through `sow('intermediates', ...)`, the normalised
entropy of its attention weights: 1.0 = uniform over the valid keys, 0.0 = all
mass on one key. Training reads it as a diagnostic; nothing else depends on it.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

# Sown under these names in the 'intermediates' collection.
ENTROPY = "attention_entropy"
# [batch, keys]: attention weights averaged over heads and queries.
KEY_WEIGHTS = "attention_key_weights"


def check_heads(what: str, width: int, num_heads: int) -> int:
  """Returns the head dim; raises if `width` does not split into heads."""
  if num_heads < 1:
    raise ValueError(f"{what}: num_heads must be >= 1, got {num_heads}.")
  if width < 1 or width % num_heads:
    raise ValueError(
        f"{what}: width {width} is not divisible by num_heads {num_heads}; "
        f"pick a width that is a multiple of num_heads (e.g. "
        f"{num_heads * max(1, width // num_heads)}).")
  return width // num_heads


def normalised_entropy(weights: jax.Array, num_keys: jax.Array) -> jax.Array:
  """Mean attention entropy divided by log(number of valid keys).

  Args:
    weights: [batch, heads, queries, keys], rows sum to 1 (0 on padding).
    num_keys: [batch] valid keys per example (>= 1).

  Returns:
    Scalar in [0, 1]: 1.0 is uniform attention; averaged over batch, heads
    and queries. Examples with a single valid key count as 0.
  """
  ent = -jnp.sum(jnp.where(weights > 0, weights * jnp.log(weights), 0.0), -1)
  denom = jnp.log(jnp.maximum(num_keys, 1).astype(weights.dtype))
  per_example = jnp.mean(ent, axis=(1, 2)) / jnp.maximum(denom, 1e-12)
  return jnp.mean(jnp.where(num_keys > 1, per_example, 0.0))


class MultiHeadAttention(nn.Module):
  """Queries attend over keys/values with a key padding mask.

  Attributes:
    num_heads: attention heads.
    head_dim: per-head width of queries, keys and values.
    out_dim: width of the output projection.
    uniform: weights fixed at 1 / (valid keys) on every valid key (a
      control: the queries and keys are then unused).
  """

  num_heads: int
  head_dim: int
  out_dim: int
  uniform: bool = False

  @nn.compact
  def __call__(self, q_in: jax.Array, kv_in: jax.Array,
               mask: jax.Array | None = None) -> jax.Array:
    """Attends `q_in` over `kv_in`.

    Args:
      q_in: [batch, queries, d_q].
      kv_in: [batch, keys, d_kv].
      mask: [batch, keys] bool, True = a real key; None = all real. Every
        example needs at least one real key.

    Returns:
      [batch, queries, out_dim].
    """
    heads = (self.num_heads, self.head_dim)
    q = nn.DenseGeneral(heads, name="query")(q_in)    # [b, q, h, e]
    k = nn.DenseGeneral(heads, name="key")(kv_in)     # [b, k, h, e]
    v = nn.DenseGeneral(heads, name="value")(kv_in)   # [b, k, h, e]
    logits = jnp.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.head_dim)
    if mask is None:
      mask = jnp.ones(kv_in.shape[:2], bool)
    big_neg = jnp.finfo(logits.dtype).min
    logits = jnp.where(mask[:, None, None, :], logits, big_neg)
    if self.uniform:
      weights = uniform_weights(mask, logits.shape)
    else:
      weights = jax.nn.softmax(logits, axis=-1)
      weights = jnp.where(mask[:, None, None, :], weights, 0.0)
    self.sow("intermediates", ENTROPY,
             normalised_entropy(weights, jnp.sum(mask, axis=-1)))
    self.sow("intermediates", KEY_WEIGHTS, jnp.mean(weights, axis=(1, 2)))
    out = jnp.einsum("bhqk,bkhe->bqhe", weights, v)
    return nn.DenseGeneral(self.out_dim, axis=(-2, -1), name="out")(out)


def uniform_weights(mask: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """mask [batch, keys] -> [batch, heads, queries, keys] = mask / #valid."""
  w = mask.astype(jnp.float32) / jnp.maximum(
      jnp.sum(mask, axis=-1, keepdims=True), 1)
  return jnp.broadcast_to(w[:, None, None, :], shape)


class Mlp(nn.Module):
  """Dense(width * ratio) -> GELU -> Dense(width), on [..., width]."""

  ratio: int = 4

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    width = x.shape[-1]
    x = nn.gelu(nn.Dense(width * self.ratio, name="fc1")(x))
    return nn.Dense(width, name="fc2")(x)


def key_mask(lengths: jax.Array | None, num_tokens: int) -> jax.Array | None:
  """[batch] valid lengths -> [batch, num_tokens] bool (None stays None)."""
  if lengths is None:
    return None
  return jnp.arange(num_tokens)[None, :] < lengths[:, None]


def pairwise_cosine(x: jax.Array) -> jax.Array:
  """Mean cosine over distinct pairs of rows of `x: [..., n, d]` (n >= 2)."""
  unit = x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
  gram = jnp.einsum("...nd,...md->...nm", unit, unit)
  n = x.shape[-2]
  off_diagonal = jnp.sum(gram, axis=(-2, -1)) - jnp.trace(gram, axis1=-2,
                                                           axis2=-1)
  return jnp.mean(off_diagonal / (n * (n - 1)))
