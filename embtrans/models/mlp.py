"""MLP translator with 1 or 2 hidden layers of width `hidden_mult x d_in`."""

import flax.linen as nn
import jax

_ACTIVATIONS = {"gelu": nn.gelu, "relu": nn.relu, "silu": nn.silu,
                "tanh": nn.tanh}


class Model(nn.Module):
  """`[..., d_in] -> [..., out_dim]` through `layers` hidden layers.

  Attributes:
    out_dim: target embedding dim.
    hidden_mult: hidden width as a multiple of the input dim (1, 8, 32, ...).
    layers: number of hidden layers (1 or 2).
    activation: one of gelu, relu, silu, tanh.
  """

  out_dim: int
  hidden_mult: int = 1
  layers: int = 1
  activation: str = "gelu"

  def __post_init__(self):
    if self.layers not in (1, 2):
      raise ValueError(f"mlp: layers must be 1 or 2, got {self.layers}.")
    if self.hidden_mult < 1:
      raise ValueError(f"mlp: hidden_mult must be >= 1, got "
                       f"{self.hidden_mult}.")
    if self.activation not in _ACTIVATIONS:
      raise ValueError(f"mlp: unknown activation {self.activation!r}; known: "
                       f"{sorted(_ACTIVATIONS)}.")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train
    width = self.hidden_mult * x.shape[-1]
    act = _ACTIVATIONS[self.activation]
    for i in range(self.layers):
      x = act(nn.Dense(width, name=f"hidden_{i}")(x))
    return nn.Dense(self.out_dim, name="out")(x)
