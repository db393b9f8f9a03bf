"""Autoencoder to a low-dimensional code (3-D by default), for viewing a space.

    x [b, d_in] --encoder--> code [b, code_dim] --decoder--> recon [b, out_dim]

The encoder has hidden layers of the widths of the variant, then a linear
layer to the code (no activation, so the code is not squashed); the decoder
mirrors the hidden widths and ends in a linear layer to `out_dim`. `out_dim`
is the dim of the vectors the decoder reconstructs: the input dim for a plain
autoencoder, or e.g. the 50-d PCA input of a PCA(50) -> AE variant.

    model = get_model("autoencoder", out_dim=384)        # variant "base"
    recon, code = model.apply(params, x)
    code = model.apply(params, x, method=model.encode)
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

_ACTIVATIONS = {"gelu": nn.gelu, "relu": nn.relu, "silu": nn.silu,
                "tanh": nn.tanh}
# Encoder hidden widths per variant (the decoder uses them in reverse).
VARIANTS = {"tiny": (8,), "small": (128, 32), "base": (512, 128)}


class _MLP(nn.Module):
  """`[..., d] -> [..., out_dim]`: Dense+act per hidden width, then Dense."""

  widths: Sequence[int]
  out_dim: int
  activation: str

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    act = _ACTIVATIONS[self.activation]
    for i, w in enumerate(self.widths):
      x = act(nn.Dense(w, name=f"hidden_{i}")(x))
    return nn.Dense(self.out_dim, name="out")(x)


class Model(nn.Module):
  """Autoencoder `[b, d_in] -> (recon [b, out_dim], code [b, code_dim])`.

  Attributes:
    out_dim: dim of the reconstruction (the vectors the loss compares with).
    code_dim: dim of the bottleneck code (3 for a 3-D view).
    variant: encoder hidden widths, one of VARIANTS ("tiny" for tests).
    activation: one of gelu, relu, silu, tanh.
  """

  out_dim: int
  code_dim: int = 3
  variant: str = "base"
  activation: str = "gelu"

  def __post_init__(self):
    if self.variant not in VARIANTS:
      raise ValueError(f"autoencoder: unknown variant {self.variant!r}; "
                       f"known: {sorted(VARIANTS)}.")
    if self.activation not in _ACTIVATIONS:
      raise ValueError(f"autoencoder: unknown activation {self.activation!r};"
                       f" known: {sorted(_ACTIVATIONS)}.")
    if self.code_dim < 1 or self.out_dim < 1:
      raise ValueError(f"autoencoder: code_dim and out_dim must be >= 1, got "
                       f"{self.code_dim} and {self.out_dim}.")
    super().__post_init__()

  def setup(self):
    widths = VARIANTS[self.variant]
    self.encoder = _MLP(widths, self.code_dim, self.activation)
    self.decoder = _MLP(tuple(reversed(widths)), self.out_dim,
                        self.activation)

  def encode(self, x: jax.Array) -> jax.Array:
    """x: [b, d_in] -> code: [b, code_dim]."""
    return self.encoder(x)

  def decode(self, code: jax.Array) -> jax.Array:
    """code: [b, code_dim] -> recon: [b, out_dim]."""
    return self.decoder(code)

  def __call__(self, x: jax.Array, train: bool = False
               ) -> tuple[jax.Array, jax.Array]:
    """x: [b, d_in] -> (recon [b, out_dim], code [b, code_dim])."""
    del train
    code = self.encode(x)
    return self.decode(code), code
