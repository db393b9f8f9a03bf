"""Perceiver resampler head: learned latents read a token sequence.

  tokens [b, T, d_in] --LN--> K, V
  latents [N, width] --(LN)--> Q --cross-attention--> + MLP --> self-attention
  + MLP blocks (x `self_per_cross`), the whole repeated `depth` times
  --> final LN --> mean over the N latents --> Dense(out_dim)   (MRL head)

Pre-LN residual blocks throughout, as in DeepMind's Perceiver (`CrossAttention`
applies `layer_norm(inputs_q)` and `layer_norm(inputs_kv)`) and Flamingo's
resampler (`norm_latents`, `norm_media`).

Latent initialisation (`latent_init`):
  correct  N(0, 1), as open_flamingo and flamingo-pytorch (`torch.randn`). It
           gives queries of unit scale with or without the LayerNorm on the
           latents, so attention logits are O(1) at step 0 either way. (With
           the LayerNorm on, DeepMind's truncated normal 0.02 is equally
           correct: LN removes the scale. N(0, 1) is chosen because it is the
           only one of the two that stays correct when the LN is switched off.)
  std      DeepMind's `TrainablePositionEncoding` init: truncated normal at
           +-2 sigma with sigma = `latent_init_std` (haiku's TruncatedNormal:
           empirical std 0.88 sigma, i.e. 0.0176 for 0.02).
  bug      a literal reproduction of the seed report's code: draw N(0, 1)
           (`torch.randn`), then overwrite it with N(0, 0.02^2)
           (`nn.init.normal_(std=0.02)`). Empirical std 0.02; the first draw
           is discarded, so this is `std` without the truncation.

`uniform_attention` fixes every cross-attention's weights at 1 / (valid
tokens) (a control: the head then sees the mean of the token values, like
mean pooling, whatever the latents and their init).

`latent_layernorm` switches the LayerNorm on the latents where they enter each
cross-attention as queries. The LN on the tokens (keys/values) and the pre-LNs
of the MLP and self-attention blocks stay on either way.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from embtrans.models import _attention

LATENT_INITS = ("correct", "std", "bug")
LATENT_PARAM = "latents"
# Sown under this name: mean pairwise cosine of the final latents.
LATENT_COSINE = "output_latent_cosine"
SEED_BUG_STD = 0.02


def seed_bug_init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
  """The seed's latents: randn, then overwritten in place by normal(0.02)."""
  first, second = jax.random.split(key)
  latents = jax.random.normal(first, shape, dtype)             # torch.randn
  latents = SEED_BUG_STD * jax.random.normal(second, shape, dtype)  # normal_
  return latents


def latent_initializer(kind: str, std: float) -> nn.initializers.Initializer:
  if kind == "correct":
    return nn.initializers.normal(1.0)
  if kind == "std":
    return nn.initializers.truncated_normal(std, lower=-2.0, upper=2.0)
  if kind == "bug":
    return seed_bug_init
  raise ValueError(f"perceiver: unknown latent_init {kind!r}; known: "
                   f"{LATENT_INITS}.")


class Model(nn.Module):
  """`tokens: [b, T, d_in]` (+ `mask: [b, T]`) -> `[b, out_dim]`.

  Attributes:
    out_dim: output (MRL) dim.
    num_latents: N learned latent queries.
    width: latent dim; must be divisible by num_heads.
    depth: cross-attention layers.
    self_per_cross: self-attention + MLP blocks after each cross-attention.
    num_heads: heads of every attention.
    mlp_ratio: MLP hidden width / width.
    latent_init: 'correct' | 'std' | 'bug' (see the module docstring).
    latent_init_std: sigma of 'std'.
    latent_layernorm: LayerNorm on the latents as cross-attention queries.
    uniform_attention: cross-attention weights fixed uniform (a control).
  """

  out_dim: int
  num_latents: int = 64
  width: int = 512
  depth: int = 1
  self_per_cross: int = 1
  num_heads: int = 8
  mlp_ratio: int = 4
  latent_init: str = "correct"
  latent_init_std: float = 0.02
  latent_layernorm: bool = True
  uniform_attention: bool = False

  def __post_init__(self):
    _attention.check_heads("perceiver", self.width, self.num_heads)
    for key in ("out_dim", "num_latents", "depth", "mlp_ratio"):
      if getattr(self, key) < 1:
        raise ValueError(f"perceiver: {key} must be >= 1, got "
                         f"{getattr(self, key)}.")
    if self.self_per_cross < 0:
      raise ValueError(f"perceiver: self_per_cross must be >= 0, got "
                       f"{self.self_per_cross}.")
    latent_initializer(self.latent_init, self.latent_init_std)
    if self.latent_init == "std" and not self.latent_init_std > 0:
      raise ValueError(f"perceiver: latent_init_std must be > 0, got "
                       f"{self.latent_init_std}.")
    super().__post_init__()

  def _attention(self, name: str, uniform: bool = False
                 ) -> _attention.MultiHeadAttention:
    return _attention.MultiHeadAttention(
        self.num_heads, self.width // self.num_heads, self.width,
        uniform=uniform, name=name)

  def _cross_block(self, i: int, x: jax.Array, kv: jax.Array,
                   mask: jax.Array | None) -> jax.Array:
    """x: [b, N, width] latents; kv: [b, T, d_in] normalised tokens."""
    q = nn.LayerNorm(name=f"latent_norm_{i}")(x) if (
        self.latent_layernorm) else x
    x = x + self._attention(f"cross_attn_{i}", self.uniform_attention)(
        q, kv, mask)
    y = nn.LayerNorm(name=f"cross_mlp_norm_{i}")(x)
    return x + _attention.Mlp(self.mlp_ratio, name=f"cross_mlp_{i}")(y)

  def _self_block(self, name: str, x: jax.Array) -> jax.Array:
    y = nn.LayerNorm(name=f"{name}_norm")(x)
    x = x + self._attention(f"{name}_attn")(y, y)
    y = nn.LayerNorm(name=f"{name}_mlp_norm")(x)
    return x + _attention.Mlp(self.mlp_ratio, name=f"{name}_mlp")(y)

  @nn.compact
  def __call__(self, tokens: jax.Array, mask: jax.Array | None = None,
               train: bool = False) -> jax.Array:
    """Pools tokens into one vector.

    Args:
      tokens: [batch, T, d_in] frozen encoder tokens.
      mask: [batch, T] bool, True = real token; None = all real.
      train: unused (no dropout); kept for a uniform model signature.

    Returns:
      [batch, out_dim].
    """
    del train
    if tokens.ndim != 3:
      raise ValueError(f"perceiver: tokens must be [batch, T, d_in], got "
                       f"shape {tokens.shape}.")
    latents = self.param(LATENT_PARAM, latent_initializer(
        self.latent_init, self.latent_init_std),
                         (self.num_latents, self.width))
    kv = nn.LayerNorm(name="input_norm")(tokens)
    x = jnp.broadcast_to(latents, (tokens.shape[0],) + latents.shape)
    for i in range(self.depth):
      x = self._cross_block(i, x, kv, mask)
      for j in range(self.self_per_cross):
        x = self._self_block(f"self_{i}_{j}", x)
    x = nn.LayerNorm(name="final_norm")(x)
    if self.num_latents > 1:
      self.sow("intermediates", LATENT_COSINE,
               _attention.pairwise_cosine(x))
    return nn.Dense(self.out_dim, name="head")(jnp.mean(x, axis=1))
