"""Fault injection for the align task: training bugs a run can be checked
against (`config.fault`, off by default).

  config.fault = "none"                        # the correct objective
  config.fault = "shifted_pairs"               # one fault
  config.fault = "shifted_pairs+loss_bits"     # several, joined with '+'

Each fault changes what the step optimises or what it logs as the loss
(`train/loss_logged`: what a training script with that bug would print).
`chance_level` is the logged loss when every embedding is the same (all
logits tie): the level a run that learns nothing sits at.

  shifted_pairs          image row i is paired with text row i + 1 (an
                         off-by-one between the image and caption lists).
  stop_gradient          the image embedding is cut from the loss
                         (stop-gradient between the head and the loss).
  frozen_temperature     the logit scale stays at its init (1 / 0.07).
  collapsed_temperature  the logit scale is fixed at max_logit_scale (100:
                         temperature 0.01).
  unit_temperature       the logit scale is fixed at 1 (temperature 1).
  gather_labels          the batch is split into GATHER_SHARDS "devices";
                         each shard's rows are scored against the gathered
                         batch with labels arange(local batch), not offset by
                         the shard's rank (only shard 0 is labelled right).
  mrl_sum_logged         the logged loss is the sum over the Matryoshka
                         prefixes (what the step optimises), not the
                         full-dim InfoNCE.
  loss_bits              the logged loss is in bits (log2, not ln).
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

from embtrans import losses

FAULTS = {
    "shifted_pairs": "image i paired with text i + 1",
    "stop_gradient": "stop-gradient between the image head and the loss",
    "frozen_temperature": "logit scale frozen at its init",
    "collapsed_temperature": "logit scale fixed at max_logit_scale",
    "unit_temperature": "logit scale fixed at 1",
    "gather_labels": "gathered batch, labels not offset by shard rank",
    "mrl_sum_logged": "logged loss = sum over the MRL prefixes",
    "loss_bits": "logged loss in bits (log2)",
}
GATHER_SHARDS = 4


def parse(fault: str) -> tuple[str, ...]:
  """'a+b' -> ('a', 'b'); 'none' or '' -> (). Raises on an unknown name."""
  names = tuple(n for n in (fault or "none").split("+") if n != "none")
  unknown = [n for n in names if n not in FAULTS]
  if unknown:
    raise ValueError(f"Unknown config.fault {unknown[0]!r}; known faults: "
                     f"{', '.join(FAULTS)} (or none; join several with "
                     "'+').")
  return names


def check(fault: str, batch_size: int) -> None:
  """Validates `fault` for a run at `batch_size`."""
  if "gather_labels" in parse(fault) and batch_size % GATHER_SHARDS:
    raise ValueError(f"fault gather_labels splits the batch into "
                     f"{GATHER_SHARDS} shards; use a batch size divisible by"
                     f" {GATHER_SHARDS}, got {batch_size}.")


def gather_labels_infonce(a: jax.Array, b: jax.Array,
                          temperature: jax.Array | float) -> jax.Array:
  """Symmetric InfoNCE of GATHER_SHARDS local shards against the gathered
  batch, with each shard's labels arange(local) (rank offset missing).

  a, b: [batch, d]; batch divisible by GATHER_SHARDS.
  """
  n = a.shape[0]
  local = n // GATHER_SHARDS
  logits = jnp.einsum("id,jd->ij", _unit(a), _unit(b)) / temperature
  labels = jnp.tile(jnp.arange(local), GATHER_SHARDS)     # [batch]
  rows = jnp.arange(n)
  log_ab = jax.nn.log_softmax(logits, axis=1)[rows, labels]
  log_ba = jax.nn.log_softmax(logits, axis=0)[labels, rows]
  return -0.5 * (jnp.mean(log_ab) + jnp.mean(log_ba))


def _unit(x: jax.Array) -> jax.Array:
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


class Objective:
  """The (possibly faulty) objective: inputs -> (optimised, logged, full)."""

  def __init__(self, fault: str, prefixes: Sequence[int],
               weights: Sequence[float] | None, max_logit_scale: float):
    self.names = parse(fault)
    self.prefixes = tuple(int(p) for p in prefixes)
    self.weights = ((1.0,) * len(self.prefixes) if weights is None
                    else tuple(weights))
    self.max_scale = float(max_logit_scale)

  def inputs(self, img: jax.Array, txt: jax.Array, scale: jax.Array):
    """img, txt [batch, D], scale [] -> the same after the input faults."""
    if "shifted_pairs" in self.names:
      txt = jnp.roll(txt, -1, axis=0)
    if "stop_gradient" in self.names:
      img = jax.lax.stop_gradient(img)
    if "frozen_temperature" in self.names:
      scale = jax.lax.stop_gradient(scale)
    if "collapsed_temperature" in self.names:
      scale = jnp.full_like(scale, self.max_scale)
    if "unit_temperature" in self.names:
      scale = jnp.ones_like(scale)
    return img, txt, scale

  def pair_loss(self, a, b, temperature):
    if "gather_labels" in self.names:
      return gather_labels_infonce(a, b, temperature)
    return losses.infonce(a, b, temperature)

  def __call__(self, img, txt, scale):
    """-> (loss optimised, loss logged, full-dim loss), scalars."""
    img, txt, scale = self.inputs(img, txt, scale)
    temperature = 1.0 / scale
    loss = sum(w * self.pair_loss(img[:, :m], txt[:, :m], temperature)
               for m, w in zip(self.prefixes, self.weights))
    full = self.pair_loss(img, txt, temperature)
    logged = full
    if "mrl_sum_logged" in self.names:
      logged = loss
    if "loss_bits" in self.names:
      logged = logged / math.log(2.0)
    return loss, logged, full


def chance_level(fault: str, batch_size: int, num_prefixes: int,
                 weights: Sequence[float] | None = None) -> float:
  """The logged loss when all logits tie (a run that learns nothing)."""
  names = parse(fault)
  level = math.log(batch_size)
  if "mrl_sum_logged" in names:
    level *= float(sum(weights) if weights is not None else num_prefixes)
  if "loss_bits" in names:
    level /= math.log(2.0)
  return level


def floor_level(fault: str, batch_size: int) -> float | None:
  """The lowest full-dim loss a fixed logit scale allows (unit vectors:
  positive cosine 1, negatives at the simplex's -1/(B-1)); None when the
  scale is learned (the floor is then 0 in the limit)."""
  names = parse(fault)
  scale = (1.0 if "unit_temperature" in names else None)
  if scale is None:
    return None
  b = batch_size
  return math.log1p((b - 1) * math.exp(-scale * (1 + 1 / (b - 1))))
