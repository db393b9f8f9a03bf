"""The alignment task's model: a pooling head on tokens, a projection on
targets, a temperature.

  image side: tokens [b, T, d] --head (attention_pool | perceiver)--> [b, D]
  text side:  targets [b, d_t] --Dense (text_proj)--> [b, D]
  D is the Matryoshka dim; losses and retrieval use nested prefixes of it.

The temperature is learned CLIP-style: the parameter is log(1 / temperature)
(`log_logit_scale`, init log(1 / 0.07)); the logit scale exp(.) is clipped to
[1, max_logit_scale] (100) in the forward pass, and the trainer also clamps
the stored parameter after each update so it cannot drift beyond the clip
(`clamp_log_scale`, the align task's post-update).

Not a registered translator model (no `Model` class): the head is one
(`models.get_model('perceiver' | 'attention_pool', ...)`), and the align
task wraps it here.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

LOG_SCALE = "log_logit_scale"


class DualEncoder(nn.Module):
  """Attributes:
    image: the pooling head, `(tokens [b, T, d], mask [b, T]) -> [b, D]`.
    mrl_dim: D.
    init_temperature: initial temperature (CLIP: 0.07).
    max_logit_scale: clip of 1 / temperature (CLIP: 100).
    learn_temperature: False keeps the temperature at its initial value.
  """

  image: nn.Module
  mrl_dim: int
  init_temperature: float = 0.07
  max_logit_scale: float = 100.0
  learn_temperature: bool = True

  def setup(self):
    self.text_proj = nn.Dense(self.mrl_dim, name="text_proj")
    self.log_logit_scale = self.param(
        LOG_SCALE, nn.initializers.constant(-math.log(self.init_temperature)),
        ())

  def embed_image(self, tokens: jax.Array, mask: jax.Array | None
                  ) -> jax.Array:
    """tokens: [b, T, d], mask: [b, T] -> [b, D] (not normalised)."""
    return self.image(tokens, mask)

  def embed_text(self, targets: jax.Array) -> jax.Array:
    """targets: [b, d_t] -> [b, D] (not normalised)."""
    return self.text_proj(targets)

  def logit_scale(self) -> jax.Array:
    """exp(log_logit_scale) clipped to [1, max_logit_scale]."""
    log_scale = self.log_logit_scale
    if not self.learn_temperature:
      log_scale = jax.lax.stop_gradient(log_scale)
    return jnp.exp(jnp.clip(log_scale, 0.0, math.log(self.max_logit_scale)))

  def __call__(self, tokens: jax.Array, mask: jax.Array | None,
               targets: jax.Array
               ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """-> (image [b, D], text [b, D], logit scale [])."""
    return (self.embed_image(tokens, mask), self.embed_text(targets),
            self.logit_scale())


def clamp_log_scale(params: Any, max_logit_scale: float) -> Any:
  """Returns params with log_logit_scale clamped to [0, log(max)] (as CLIP)."""
  params = dict(params)
  params[LOG_SCALE] = jnp.clip(params[LOG_SCALE], 0.0,
                               math.log(max_logit_scale))
  return params
