"""Full-rank affine translator: y = x W + b."""

import flax.linen as nn
import jax


class Model(nn.Module):
  """Affine map `[..., d_in] -> [..., out_dim]` (a full-rank `d_in x out_dim`).

  Attributes:
    out_dim: target embedding dim.
  """

  out_dim: int

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    return nn.Dense(self.out_dim, name="dense")(x)
