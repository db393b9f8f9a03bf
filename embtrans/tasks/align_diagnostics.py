"""Training diagnostics computed inside the jitted step (one scalar each).

  entropy/<layer>          attention entropy / log(#keys), mean over batch,
                           heads and queries: 1.0 = uniform attention.
  latent_cosine/params     mean pairwise cosine between the learned latents.
  latent_cosine/output     the same between the head's final latents, per
                           example, averaged (Perceiver): 1.0 = collapsed.
  grad_norm/latents        L2 norm of the gradient of the learned latents
                           (the probe of attention_pool),
  grad_norm/query_proj     of the cross-attention query projections,
  grad_norm/rest           of every other parameter (text side included).
  temperature              1 / logit scale.
  signal_mass/<layer>      attention mass on the signal tokens (planted
                           data): sum of the weights (mean over heads and
                           queries) on the marked tokens, mean over batch.
  signal_mass/uniform      the same for uniform attention: marked / valid.

The step returns these with the loss; the host fetches them only at log steps.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from embtrans.models import _attention
from embtrans.models import perceiver

GROUPS = ("latents", "query_proj", "rest")


def _names(path) -> list[str]:
  return [str(getattr(k, "key", getattr(k, "name", k))) for k in path]


def param_group(path) -> str:
  """'latents' | 'query_proj' | 'rest' for a parameter's tree path."""
  names = _names(path)
  if names[-1] == perceiver.LATENT_PARAM:
    return "latents"
  for outer, inner in zip(names, names[1:]):
    if outer.startswith("cross_attn") and inner == "query":
      return "query_proj"
  return "rest"


def grad_norms(grads: Any) -> dict[str, jax.Array]:
  """{'grad_norm/<group>': L2 norm over that group's leaves}."""
  sums = {g: jnp.zeros((), jnp.float32) for g in GROUPS}
  for path, leaf in jax.tree_util.tree_flatten_with_path(grads)[0]:
    group = param_group(path)
    sums[group] = sums[group] + jnp.sum(jnp.square(leaf.astype(jnp.float32)))
  return {f"grad_norm/{g}": jnp.sqrt(s) for g, s in sums.items()}


def sown(intermediates: Any) -> dict[str, jax.Array]:
  """Entropies and output-latent cosine from the 'intermediates' collection."""
  out = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(intermediates)[0]:
    names = _names(path)
    # Sown values are tuples: the path ends in (<name>, <index>).
    name, layer = names[-2], "/".join(n for n in names[1:-2] if n)
    if name == _attention.KEY_WEIGHTS:
      continue
    if name == _attention.ENTROPY:
      out[f"entropy/{layer}"] = leaf
    elif name == perceiver.LATENT_COSINE:
      out["latent_cosine/output"] = leaf
  return out


def signal_mass(intermediates: Any, signal: jax.Array, lengths: jax.Array
                ) -> dict[str, jax.Array]:
  """{'signal_mass/<layer>', 'signal_mass/uniform'}; signal [b, T] bool,
  lengths [b]."""
  marked = signal.astype(jnp.float32)
  out = {"signal_mass/uniform": jnp.mean(
      jnp.sum(marked, -1) / jnp.maximum(lengths, 1))}
  for path, leaf in jax.tree_util.tree_flatten_with_path(intermediates)[0]:
    names = _names(path)
    if names[-2] == _attention.KEY_WEIGHTS:
      layer = "/".join(n for n in names[1:-2] if n)
      out[f"signal_mass/{layer}"] = jnp.mean(jnp.sum(leaf * marked, -1))
  return out


def latent_cosine(params: Any) -> dict[str, jax.Array]:
  """Pairwise cosine of the learned latents, when there are >= 2."""
  head = params.get("image", {})
  latents = head.get(perceiver.LATENT_PARAM) if hasattr(head, "get") else None
  if latents is None or latents.shape[0] < 2:
    return {}
  return {"latent_cosine/params": _attention.pairwise_cosine(latents)}
