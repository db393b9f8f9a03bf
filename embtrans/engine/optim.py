"""AdamW with a unit warmup-cosine schedule; the peak lr is per-member data.

The transformation's updates are `-unit(step) * adam(...)`; the member step
multiplies them by the member's own peak learning rate, so members of one
program may differ in lr without recompiling. For a single member this is
`optax.adamw(lr * unit)` (decoupled weight decay scaled by the schedule).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jax
import ml_collections
import optax

DECAY = ("all", "kernels")


def _kernels_only(params: Any) -> Any:
  return jax.tree_util.tree_map_with_path(
      lambda path, _: getattr(path[-1], "key", None) == "kernel", params)


def unit_schedule(o: ml_collections.ConfigDict, num_steps: int
                  ) -> optax.Schedule:
  """Warmup from 0 to 1, cosine down to `o.end_lr_fraction` at num_steps."""
  return optax.warmup_cosine_decay_schedule(
      0.0, 1.0, o.warmup_steps, max(num_steps, o.warmup_steps + 1),
      o.end_lr_fraction)


def create(o: ml_collections.ConfigDict, num_steps: int
           ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """-> (transformation, unit schedule); see the module docstring.

  `o.decay` ('all' | 'kernels', default 'all') picks what weight decay
  applies to; 'kernels' leaves biases, norms, latents and scales alone.
  Equal settings return the same objects, so programs that share them
  share compiled functions too.
  """
  return _create(json.dumps(o.to_dict(), sort_keys=True), int(num_steps))


@functools.lru_cache(maxsize=64)
def _create(settings: str, num_steps: int):
  o = ml_collections.ConfigDict(json.loads(settings))
  decay = o.get("decay", "all")
  if decay not in DECAY:
    raise ValueError(f"config.optimizer.decay must be one of {DECAY}, got "
                     f"{decay!r}.")
  unit = unit_schedule(o, num_steps)
  chain = [optax.clip_by_global_norm(o.grad_clip)] if o.grad_clip else []
  chain += [optax.scale_by_adam(o.b1, o.b2),
            optax.add_decayed_weights(
                o.weight_decay, _kernels_only if decay == "kernels" else None),
            optax.scale_by_schedule(lambda s: -unit(s))]
  return optax.chain(*chain), unit
