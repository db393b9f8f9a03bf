"""Losses. All take `pred: [batch, d]`, `target: [batch, d]` and return a scalar."""

from __future__ import annotations

from typing import Callable, Sequence

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


def matryoshka_infonce(img: jax.Array, txt: jax.Array,
                       prefixes: Sequence[int],
                       temperature: jax.Array | float,
                       weights: Sequence[float] | None = None) -> jax.Array:
  """Matryoshka (MRL) InfoNCE: weighted sum of `infonce` over nested prefixes.

  Args:
    img: [batch, d], txt: [batch, d]; row i of one pairs with row i of the
      other.
    prefixes: leading-dim counts, each in [1, d] (e.g. d, d/2, d/4, d/8).
    temperature: scalar > 0, shared by all prefixes.
    weights: one per prefix; None = all 1 (Kusupati et al.'s default).

  Returns:
    sum_m weights[m] * infonce(img[:, :m], txt[:, :m], temperature); each
    prefix is L2-normalised on its own. At chance: sum(weights) * ln(batch).
  """
  d = img.shape[-1]
  if not prefixes or any(not 1 <= int(m) <= d for m in prefixes):
    raise ValueError(f"MRL prefixes must be a non-empty list of dims in "
                     f"[1, {d}], got {tuple(prefixes)}.")
  weights = [1.0] * len(prefixes) if weights is None else list(weights)
  if len(weights) != len(prefixes):
    raise ValueError(f"{len(weights)} MRL weights for {len(prefixes)} "
                     "prefixes; give one weight per prefix.")
  return sum(w * infonce(img[:, :int(m)], txt[:, :int(m)], temperature)
             for m, w in zip(prefixes, weights))


def get_loss(name: str, temperature: float = 0.05) -> LossFn:
  """'mse' | 'cosine' | 'contrastive' (InfoNCE at a fixed temperature)."""
  losses: dict[str, LossFn] = {
      "mse": mse, "cosine": cosine,
      "contrastive": lambda p, t: infonce(p, t, temperature),
  }
  if name not in losses:
    raise ValueError(f"Unknown loss {name!r}. Known losses: {sorted(losses)}.")
  return losses[name]
