"""The alignment config every `configs/align_*.py` and the ablation share.

Sizes (`size=`):
  full   ViT-L/14-shaped tokens (257 x 1024), MRL dim 4096, batch 128: the
         seed report's setting, for a TPU/GPU with COCO tokens (`data=coco`).
  small  planted tokens 32 x 64, 64 latents of width 64, MRL dim 256: the
         CPU ablation (docs/results/perceiver_ablation).
  tiny   a few hundred examples and steps, for tests and smoke runs.
"""

from __future__ import annotations

from typing import Any, Mapping

import ml_collections

from embtrans import config_lib

SIZES = ("full", "small", "tiny")

_HEADS = {
    # size: (perceiver kwargs, attention_pool kwargs, mrl dim)
    "full": (dict(num_latents=64, width=1024, depth=2, self_per_cross=1,
                  num_heads=16, mlp_ratio=4),
             dict(num_queries=1, num_heads=16, mlp_ratio=4), 4096),
    "small": (dict(num_latents=64, width=64, depth=1, self_per_cross=1,
                   num_heads=4, mlp_ratio=2),
              dict(num_queries=1, num_heads=4, mlp_ratio=2), 256),
    "tiny": (dict(num_latents=8, width=16, depth=1, self_per_cross=0,
                  num_heads=2, mlp_ratio=2),
             dict(num_queries=2, num_heads=2, mlp_ratio=2), 32),
}

_DATA = {
    "synthetic": {
        "full": dict(num_train=16384, num_test=2048, num_tokens=257,
                     token_dim=1024, code_dim=64, target_dim=768),
        "small": dict(num_train=8192, num_test=1024, num_tokens=32,
                      token_dim=64, code_dim=16, target_dim=64),
        "tiny": dict(num_train=256, num_test=64, num_tokens=8, token_dim=8,
                     code_dim=4, target_dim=8),
    },
    "pydocs": {
        "full": dict(max_tokens=64), "small": dict(max_tokens=64),
        "tiny": dict(max_tokens=16, limit=300, target="minilm_static"),
    },
}


def mrl_dim(size: str) -> int:
  """The Matryoshka dim at `size` (prefixes are 1, 1/2, 1/4, 1/8 of it)."""
  return _HEADS[size][2]


def head_config(model: str, size: str, **overrides: Any) -> dict:
  """`config.model` for 'perceiver' | 'attention_pool' at `size`."""
  if size not in SIZES:
    raise ValueError(f"size must be one of {SIZES}, got {size!r}.")
  perceiver, pool, _ = _HEADS[size]
  if model == "perceiver":
    return dict(name=model, **{**perceiver, "latent_init": "correct",
                               "latent_init_std": 0.02,
                               "latent_layernorm": True, **overrides})
  if model == "attention_pool":
    return dict(name=model, **{**pool, **overrides})
  raise ValueError(f"alignment head must be perceiver or attention_pool, got"
                   f" {model!r}.")


def data_config(data: str, size: str, seed: int = 0, tokens: str = "",
                targets: str = "") -> dict:
  """`config.data`: synthetic | pydocs | coco (token + caption dirs)."""
  if data == "synthetic":
    return dict(name="synthetic", seed=seed, **_DATA["synthetic"][size])
  if data == "pydocs":
    return dict(name="pydocs", **{"target": "tfidf_lsa", "limit": 0,
                                  "cache_dir": "", **_DATA["pydocs"][size]})
  if data in ("coco", "dirs"):
    if not tokens or not targets:
      raise ValueError(f"data={data} needs tokens=<token dataset dir> and "
                       "targets=<caption embedding dir> (see python -m "
                       "embtrans.alignment.coco --help).")
    return dict(name="dirs", tokens=tokens, targets=targets,
                train_split="train", test_split="test")
  raise ValueError(f"data must be synthetic, pydocs or coco, got {data!r}.")


def alignment_config(model: Mapping[str, Any], data: Mapping[str, Any],
                     mrl_dim: int, lr: float, batch_size: int, steps: int,
                     seed: int = 0, num_seeds: int = 1
                     ) -> ml_collections.ConfigDict:
  """The full config; `model` / `data` from `head_config` / `data_config`."""
  c = ml_collections.ConfigDict()
  c.trainer = "alignment"
  c.seed, c.num_seeds = seed, num_seeds
  c.data = dict(data)
  c.model = dict(model)
  c.mrl = dict(dim=mrl_dim, prefixes=tuple(mrl_dim // f for f in (1, 2, 4, 8)),
               weights=None)
  c.temperature = dict(init_temperature=0.07, max_logit_scale=100.0,
                       learn_temperature=True)
  c.optimizer = dict(learning_rate=lr, weight_decay=1e-4, b1=0.9, b2=0.999,
                     warmup_steps=max(1, steps // 20), end_lr_fraction=0.01,
                     grad_clip=1.0)
  c.batch_size = batch_size
  c.num_train_steps = steps
  c.log_every = max(1, steps // 50)
  c.checkpoint_every = 0 if steps < 1000 else steps // 4
  c.max_checkpoints = 2
  c.num_devices = 0  # 0 = all local devices.
  c.max_inflight_steps = -1
  c.eval_batch_size = 256 if batch_size >= 64 else 32
  c.recall_ks = (1, 5, 10)
  return c


def parse_common(arg: str | None, **extra: Any) -> ml_collections.ConfigDict:
  """The `:k=v` keys every alignment config takes, plus (or overriding) extra.

  size (full | small | tiny), data (synthetic | pydocs | coco), tokens and
  targets (dataset dirs for data=coco), lr, batch, steps (0 = the size's
  default), seed, seeds (trained together as one vmapped program).
  """
  spec = dict(size="small", data="synthetic", tokens="", targets="", lr=2e-4,
              batch=128, steps=0, seed=0, seeds=1)
  spec.update(extra)
  return config_lib.parse_arg(arg, **spec)


DEFAULT_STEPS = {"full": 20000, "small": 1500, "tiny": 12}
