"""Losses; each returns a scalar.

Translator losses take `pred: [batch, d]`, `target: [batch, d]`. The
autoencoder's take its reconstruction, its inputs and its codes
(`reconstruction`, `similarity_preservation`, `pair_pull`).
"""

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


# --- Autoencoder losses: reconstruction, similarity preservation, pairs. ---
SIMILARITY_FORMS = ("mse", "correlation", "rank")
CODE_METRICS = ("cosine", "euclidean")


def reconstruction(recon: jax.Array, x: jax.Array) -> jax.Array:
  """Mean over rows of the squared L2 error `|recon_i - x_i|^2`.

  recon, x: [batch, d]. Summed over dims (not averaged), so for unit-norm
  inputs it lies in [0, 4] whatever d is.
  """
  return jnp.mean(jnp.sum(jnp.square(recon - x), axis=-1))


def pairwise_cosine(x: jax.Array) -> jax.Array:
  """x: [b, d] -> [b, b] cosine similarity of every pair of rows."""
  u = _unit(x)
  return u @ u.T


def code_similarity(code: jax.Array, metric: str = "cosine") -> jax.Array:
  """code: [b, c] -> [b, b] similarities of the codes.

  'cosine': cosine of the code vectors; 'euclidean': 1 - |z_i - z_j|^2 / 2,
  which equals the cosine for unit-norm codes and compares squared distances
  with those of the unit-norm inputs (|x_i - x_j|^2 = 2 - 2 cos).
  """
  if metric == "cosine":
    return pairwise_cosine(code)
  if metric == "euclidean":
    sq = jnp.sum(code * code, axis=-1)
    dist2 = jnp.maximum(sq[:, None] + sq[None, :] - 2 * code @ code.T, 0.0)
    return 1.0 - 0.5 * dist2
  raise ValueError(f"Unknown code metric {metric!r}; known: {CODE_METRICS}.")


def _off_diagonal(s: jax.Array) -> jax.Array:
  """s: [b, b] -> [b, b - 1], row i without its entry i."""
  b = s.shape[0]
  return s.reshape(-1)[1:].reshape(b - 1, b + 1)[:, :-1].reshape(b, b - 1)


def _row_pearson(u: jax.Array, v: jax.Array, eps: float = 1e-8
                 ) -> jax.Array:
  """u, v: [r, m] -> [r] Pearson correlation of each row pair."""
  u = u - jnp.mean(u, axis=-1, keepdims=True)
  v = v - jnp.mean(v, axis=-1, keepdims=True)
  num = jnp.sum(u * v, axis=-1)
  return num / jnp.maximum(jnp.linalg.norm(u, axis=-1)
                           * jnp.linalg.norm(v, axis=-1), eps)


def similarity_mse(x: jax.Array, code: jax.Array,
                   code_metric: str = "cosine") -> jax.Array:
  """Mean over pairs i != j of (cos(x_i, x_j) - sim(z_i, z_j))^2.

  x: [b, d] inputs, code: [b, c] codes; sim: `code_similarity`.
  """
  diff = pairwise_cosine(x) - code_similarity(code, code_metric)
  return jnp.mean(jnp.square(_off_diagonal(diff)))


def similarity_correlation(x: jax.Array, code: jax.Array,
                           code_metric: str = "cosine") -> jax.Array:
  """1 - Pearson correlation of the input cosines and the code similarities
  over all pairs i != j (x: [b, d], code: [b, c]); blind to their scales."""
  s_x = _off_diagonal(pairwise_cosine(x)).reshape(1, -1)
  s_z = _off_diagonal(code_similarity(code, code_metric)).reshape(1, -1)
  return 1.0 - _row_pearson(s_x, s_z)[0]


def soft_rank(s: jax.Array, temperature: float) -> jax.Array:
  """s: [r, m] -> [r, m] differentiable ranks within each row, from 0.

  rank_j = sum_{l != j} sigmoid((s_j - s_l) / temperature): the number of
  row entries below s_j, each counted smoothly; exact ranks as t -> 0.
  """
  pairwise = jax.nn.sigmoid((s[:, :, None] - s[:, None, :]) / temperature)
  return jnp.sum(pairwise, axis=-1) - 0.5  # minus the l == j term


def similarity_rank(x: jax.Array, code: jax.Array, temperature: float = 0.1,
                    code_metric: str = "cosine") -> jax.Array:
  """1 - mean over anchors i of the Spearman-like correlation between the
  ranks of cos(x_i, x_j) over j != i and the soft ranks of sim(z_i, z_j).

  x: [b, d], code: [b, c]. The input ranks are exact (no gradient flows to
  them); the code ranks are `soft_rank` at `temperature` (in units of the
  code similarity). Each point's neighbour order matters, not its scale.
  """
  s_x = jax.lax.stop_gradient(_off_diagonal(pairwise_cosine(x)))
  rank_x = jnp.argsort(jnp.argsort(s_x, axis=-1), axis=-1).astype(s_x.dtype)
  rank_z = soft_rank(_off_diagonal(code_similarity(code, code_metric)),
                     temperature)
  return 1.0 - jnp.mean(_row_pearson(rank_x, rank_z))


def similarity_preservation(x: jax.Array, code: jax.Array, form: str = "mse",
                            code_metric: str = "cosine",
                            temperature: float = 0.1) -> jax.Array:
  """The similarity-preservation term in one of SIMILARITY_FORMS.

  x: [b, d] inputs, code: [b, c] their codes; 0 when the codes keep the
  in-batch cosine structure ('mse': its values; 'correlation': its values up
  to an affine map; 'rank': each row's order).
  """
  if form == "mse":
    return similarity_mse(x, code, code_metric)
  if form == "correlation":
    return similarity_correlation(x, code, code_metric)
  if form == "rank":
    return similarity_rank(x, code, temperature, code_metric)
  raise ValueError(f"Unknown similarity form {form!r}; known: "
                   f"{SIMILARITY_FORMS}.")


def pair_pull(code_a: jax.Array, code_b: jax.Array, relative: bool = True,
              eps: float = 1e-8) -> jax.Array:
  """Pulls known pairs together: row i of `code_a` pairs with row i of
  `code_b` (both [b, c]).

  Mean over i of |a_i - b_i|^2, divided (relative=True) by the mean over all
  (i, j) of |a_i - b_j|^2, so shrinking the whole code does not lower it;
  1 when pairs are no closer than random cross-population pairs.
  """
  paired = jnp.mean(jnp.sum(jnp.square(code_a - code_b), axis=-1))
  if not relative:
    return paired
  sq_a, sq_b = jnp.sum(code_a ** 2, -1), jnp.sum(code_b ** 2, -1)
  everyone = jnp.mean(sq_a[:, None] + sq_b[None, :] - 2 * code_a @ code_b.T)
  return paired / jnp.maximum(everyone, eps)


def get_loss(name: str, temperature: float = 0.05) -> LossFn:
  """'mse' | 'cosine' | 'contrastive' (InfoNCE at a fixed temperature)."""
  losses: dict[str, LossFn] = {
      "mse": mse, "cosine": cosine,
      "contrastive": lambda p, t: infonce(p, t, temperature),
  }
  if name not in losses:
    raise ValueError(f"Unknown loss {name!r}. Known losses: {sorted(losses)}.")
  return losses[name]
