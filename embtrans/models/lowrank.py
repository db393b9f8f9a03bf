"""Low-rank affine translator: y = x P + (x U) V + b, rank `rank`.

P is the identity when the dims agree and `residual` is on (the adapter
starts as "no change" and learns a rank-`rank` correction, as in
Drift-Adapter's low-rank affine), else zero-padding / truncation of x to
`out_dim` (so with different dims the fixed part is a crop, and all of the
learnt map is rank `rank`).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


class Model(nn.Module):
  """`[..., d_in] -> [..., out_dim]`: a fixed part plus a rank-`rank` map.

  Attributes:
    out_dim: target embedding dim.
    rank: rank of the learnt linear part (>= 1).
    residual: add x (zero-padded or cropped to out_dim) to the output.
  """

  out_dim: int
  rank: int = 32
  residual: bool = True

  def __post_init__(self):
    if self.rank < 1:
      raise ValueError(f"lowrank: rank must be >= 1, got {self.rank}.")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    down = nn.Dense(self.rank, use_bias=False, name="down")(x)
    y = nn.Dense(self.out_dim, name="up",
                 kernel_init=nn.initializers.zeros)(down)
    if not self.residual:
      return y
    d = x.shape[-1]
    fixed = x[..., :self.out_dim] if d >= self.out_dim else jnp.pad(
        x, [(0, 0)] * (x.ndim - 1) + [(0, self.out_dim - d)])
    return y + fixed
