"""Losses. All take `pred: [batch, d]`, `target: [batch, d]` and return a scalar."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


def mse(pred: jax.Array, target: jax.Array) -> jax.Array:
  """Mean over rows and dims of the squared error."""
  return jnp.mean(jnp.square(pred - target))


def _unit(x: jax.Array, eps: float = 1e-8) -> jax.Array:
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), eps)


def cosine(pred: jax.Array, target: jax.Array) -> jax.Array:
  """1 - mean row cosine similarity."""
  return 1.0 - jnp.mean(jnp.sum(_unit(pred) * _unit(target), axis=-1))


def infonce(a: jax.Array, b: jax.Array, temperature: jax.Array | float
            ) -> jax.Array:
  """Symmetric InfoNCE (CLIP loss); row i of `a` pairs with row i of `b`.

  Args:
    a: [batch, d], b: [batch, d]; both are L2-normalised here.
    temperature: scalar > 0; logits = cos / temperature.

  Returns:
    Mean of the a->b and b->a cross-entropies; equals ln(batch) at chance.
  """
  logits = jnp.einsum("id,jd->ij", _unit(a), _unit(b)) / temperature
  labels = jnp.arange(a.shape[0])
  log_ab = jax.nn.log_softmax(logits, axis=1)[labels, labels]
  log_ba = jax.nn.log_softmax(logits, axis=0)[labels, labels]
  return -0.5 * (jnp.mean(log_ab) + jnp.mean(log_ba))


def get_loss(name: str, temperature: float = 0.05) -> LossFn:
  """'mse' | 'cosine' | 'contrastive' (InfoNCE at a fixed temperature)."""
  losses: dict[str, LossFn] = {
      "mse": mse, "cosine": cosine,
      "contrastive": lambda p, t: infonce(p, t, temperature),
  }
  if name not in losses:
    raise ValueError(f"Unknown loss {name!r}. Known losses: {sorted(losses)}.")
  return losses[name]
