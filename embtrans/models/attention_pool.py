"""Attention pooling head: learned queries read a token sequence, then project.

  tokens [b, T, d_in] --LN--> K, V
  probe [Q, d_in] --multi-head attention--> [b, Q, d_in] --> x + MLP(LN(x))
  --> mean over the Q queries --> Dense(out_dim)   (the projection / MRL head)

The design of big_vision's `MAPHead` (multihead attention pooling): the probe is
xavier-uniform initialised in the token space and is not layer-normalised; the
MLP is a pre-LN residual. The learned queries are stored as `latents` so that
diagnostics treat this head and the Perceiver alike.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from embtrans.models import _attention

LATENT_PARAM = "latents"


class Model(nn.Module):
  """`tokens: [b, T, d_in]` (+ `mask: [b, T]`) -> `[b, out_dim]`.

  Attributes:
    out_dim: output (MRL) dim.
    num_queries: learned queries (their outputs are averaged).
    num_heads: attention heads; d_in must be divisible by it.
    mlp_ratio: MLP hidden width / d_in.
    input_layernorm: LayerNorm on the tokens before attention.
  """

  out_dim: int
  num_queries: int = 1
  num_heads: int = 8
  mlp_ratio: int = 4
  input_layernorm: bool = True

  def __post_init__(self):
    for key in ("out_dim", "num_queries", "num_heads", "mlp_ratio"):
      if getattr(self, key) < 1:
        raise ValueError(f"attention_pool: {key} must be >= 1, got "
                         f"{getattr(self, key)}.")
    super().__post_init__()

  @nn.compact
  def __call__(self, tokens: jax.Array, mask: jax.Array | None = None,
               train: bool = False) -> jax.Array:
    """Pools tokens into one vector.

    Args:
      tokens: [batch, T, d_in] frozen encoder tokens.
      mask: [batch, T] bool, True = real token; None = all real.
      train: unused (no dropout).

    Returns:
      [batch, out_dim].

    Raises:
      ValueError: d_in is not divisible by num_heads.
    """
    del train
    if tokens.ndim != 3:
      raise ValueError(f"attention_pool: tokens must be [batch, T, d_in], got"
                       f" shape {tokens.shape}.")
    d_in = tokens.shape[-1]
    head_dim = _attention.check_heads("attention_pool (token dim)", d_in,
                                      self.num_heads)
    probe = self.param(LATENT_PARAM, nn.initializers.xavier_uniform(),
                       (self.num_queries, d_in))
    kv = nn.LayerNorm(name="input_norm")(tokens) if (
        self.input_layernorm) else tokens
    q = jnp.broadcast_to(probe, (tokens.shape[0],) + probe.shape)
    x = _attention.MultiHeadAttention(self.num_heads, head_dim, d_in,
                                      name="cross_attn_0")(q, kv, mask)
    y = nn.LayerNorm(name="mlp_norm")(x)
    x = x + _attention.Mlp(self.mlp_ratio, name="mlp")(y)
    return nn.Dense(self.out_dim, name="head")(jnp.mean(x, axis=1))
