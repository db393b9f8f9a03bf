"""The autoencoder's training objective, for the `autoencode` task to call.

    loss = reconstruction(recon, x)
         + similarity_weight * similarity_preservation(sim_x, code, form)
         + pair_weight * pair_pull(encode(x_pair_a), encode(x_pair_b))

`x` is what the autoencoder reads and rebuilds (raw vectors, or their
PCA(50) coordinates for the PCA(50) -> AE variant); `sim_x` the vectors
whose in-batch cosines the code should keep (default `x`). The pair term
needs a batch of known pairs (row i of `x_pair_a` pairs with row i of
`x_pair_b`); it is skipped when its weight is 0.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from embtrans import losses


@dataclasses.dataclass(frozen=True)
class LossConfig:
  """Weights and form of the objective's terms.

  Attributes:
    similarity_weight: lambda of the similarity-preservation term (0: off).
    form: one of losses.SIMILARITY_FORMS.
    code_metric: 'cosine' or 'euclidean' similarity of the codes.
    temperature: of the soft ranks ('rank' form only).
    pair_weight: weight of the relative pair-pull term (0: off).
  """

  similarity_weight: float = 0.0
  form: str = "mse"
  code_metric: str = "cosine"
  temperature: float = 0.1
  pair_weight: float = 0.0

  def __post_init__(self):
    if self.form not in losses.SIMILARITY_FORMS:
      raise ValueError(f"Unknown similarity form {self.form!r}; known: "
                       f"{losses.SIMILARITY_FORMS}.")
    if self.code_metric not in losses.CODE_METRICS:
      raise ValueError(f"Unknown code metric {self.code_metric!r}; known: "
                       f"{losses.CODE_METRICS}.")
    if min(self.similarity_weight, self.pair_weight) < 0 or (
        self.temperature <= 0):
      raise ValueError("similarity_weight and pair_weight must be >= 0 and "
                       "temperature > 0.")

  @property
  def name(self) -> str:
    """The row label of this loss in a results table, e.g. 'recon+rank'."""
    parts = ["recon"]
    if self.similarity_weight:
      parts.append(self.form)
    if self.pair_weight:
      parts.append("pairs")
    return "+".join(parts)


def objective(apply_fn: Callable[..., Any], params: Any, x: jax.Array,
              config: LossConfig, sim_x: jax.Array | None = None,
              x_pair_a: jax.Array | None = None,
              x_pair_b: jax.Array | None = None
              ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The loss of one batch and its terms.

  Args:
    apply_fn: `model.apply` of an `embtrans.models.autoencoder.Model`.
    params: its variables ({'params': ...}).
    x: [b, d_in] the autoencoder's input (and reconstruction target).
    config: the terms' weights.
    sim_x: [b, d] the vectors whose cosines to keep; default x.
    x_pair_a, x_pair_b: [p, d_in] a batch of known pairs (pair_weight > 0).

  Returns:
    (loss, {'recon', 'similarity', 'pairs'}: each term before weighting).
  """
  recon, code = apply_fn(params, x)
  terms = {"recon": losses.reconstruction(recon, x)}
  total = terms["recon"]
  if config.similarity_weight:
    terms["similarity"] = losses.similarity_preservation(
        x if sim_x is None else sim_x, code, config.form, config.code_metric,
        config.temperature)
    total = total + config.similarity_weight * terms["similarity"]
  if config.pair_weight:
    if x_pair_a is None or x_pair_b is None:
      raise ValueError("pair_weight > 0 needs a batch of pairs: pass x_pair_a "
                       "and x_pair_b.")
    codes = apply_fn(params, jnp.concatenate([x_pair_a, x_pair_b]))[1]
    terms["pairs"] = losses.pair_pull(codes[:len(x_pair_a)],
                                      codes[len(x_pair_a):])
    total = total + config.pair_weight * terms["pairs"]
  return total, terms
