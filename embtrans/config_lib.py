"""Config helpers: `:arg` strings and the configs the files share.

Config files call `parse_arg(arg, key=default, ...)` on the string after the
colon in `--config=configs/mlp32x.py:layers=2,tiny=True`; values are cast to
the type of their default and unknown keys fail with the list of known ones.

  translator_config, mlp_config   task 'translate' (configs/linear.py, ...)
  alignment_config + align_*      task 'align' (configs/align_*.py and the
                                  ablation); sizes:
    full   ViT-L/14-shaped tokens (257 x 1024), MRL dim 4096, batch 128: the
           seed report's setting, for a TPU/GPU with COCO tokens (data=coco).
    small  planted tokens 32 x 64, 64 latents of width 64, MRL dim 256: the
           CPU ablation (docs/results/perceiver_ablation).
    tiny   a few hundred examples and steps, for tests and smoke runs.
"""

from __future__ import annotations

from typing import Any, Mapping

import ml_collections

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _cast(key: str, text: str, default: Any) -> Any:
  if isinstance(default, bool):
    if text.lower() not in _TRUE | _FALSE:
      raise ValueError(f"config arg {key}={text!r}: expected true/false.")
    return text.lower() in _TRUE
  try:
    return type(default)(text) if default is not None else text
  except ValueError as e:
    raise ValueError(f"config arg {key}={text!r}: expected "
                     f"{type(default).__name__}.") from e


def parse_arg(arg: str | None, **spec: Any) -> ml_collections.ConfigDict:
  """Parses 'k1=v1,k2=v2' against `spec` (the defaults); returns all keys."""
  out = dict(spec)
  for item in filter(None, (arg or "").split(",")):
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or key not in spec:
      raise ValueError(
          f"Unknown config arg {item!r}. This config takes: "
          f"{', '.join(f'{k}={v!r}' for k, v in spec.items())}.")
    out[key] = _cast(key, value.strip(), spec[key])
  return ml_collections.ConfigDict(out)


def translator_config(model: dict, arg: str | None
                      ) -> ml_collections.ConfigDict:
  """The shared translator config; `model` is `config.model` (with name).

  `arg` keys: a, b (encoder names or dataset dirs), direction (a_to_b |
  b_to_a), loss (mse | cosine | contrastive), seed, steps (0 = default),
  tiny (a few hundred texts and steps, for tests and smoke runs).
  """
  arg = parse_arg(arg, a="minilm", b="tfidf_lsa", direction="a_to_b",
                  loss="mse", seed=0, steps=0, tiny=False)
  c = ml_collections.ConfigDict()
  c.task = "translate"
  c.seed = arg.seed
  c.num_seeds = 1  # > 1: seeds seed, seed+1, ... as one vmapped program.
  c.data = dict(source="pydocs", a=arg.a, b=arg.b, direction=arg.direction,
                limit=0, cache_dir="")
  c.model = dict(model)
  c.loss = dict(name=arg.loss, temperature=0.05)
  c.optimizer = dict(learning_rate=1e-3, weight_decay=1e-4, b1=0.9, b2=0.999,
                     warmup_steps=100, end_lr_fraction=0.01, grad_clip=1.0)
  c.batch_size = 256
  c.num_train_steps = arg.steps or 1000
  c.log_every = 50
  c.checkpoint_every = 250
  c.max_checkpoints = 3
  c.num_devices = 0  # 0 = all local devices.
  c.max_inflight_steps = -1  # -1 = auto (see sharding.max_inflight_steps).
  c.eval_batch_size = 512
  c.recall_ks = (1, 5, 10)
  c.baselines = ("lstsq", "procrustes")
  c.evals = ml_collections.ConfigDict()
  if arg.tiny:
    c.data.limit = 400
    c.batch_size, c.eval_batch_size = 32, 64
    c.num_train_steps = arg.steps or 60
    c.optimizer.warmup_steps = 10
    c.log_every, c.checkpoint_every = 10, 20
  return c


def mlp_config(hidden_mult: int, arg: str | None) -> ml_collections.ConfigDict:
  """MLP translator config; `arg` takes `layers=1|2` plus translator_config's."""
  arg = parse_arg(arg, layers=1, a="minilm", b="tfidf_lsa",
                  direction="a_to_b", loss="mse", seed=0, steps=0, tiny=False)
  if arg.layers not in (1, 2):
    raise ValueError(f"layers must be 1 or 2, got {arg.layers}.")
  rest = ",".join(f"{k}={v}" for k, v in arg.items() if k != "layers")
  model = dict(name="mlp", hidden_mult=hidden_mult, layers=arg.layers,
               activation="gelu")
  return translator_config(model, rest)


ALIGN_SIZES = ("full", "small", "tiny")

_ALIGN_HEADS = {
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

_ALIGN_DATA = {
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


def align_mrl_dim(size: str) -> int:
  """The Matryoshka dim at `size` (prefixes are 1, 1/2, 1/4, 1/8 of it)."""
  return _ALIGN_HEADS[size][2]


def align_head_config(model: str, size: str, **overrides: Any) -> dict:
  """`config.model` of alignment head 'perceiver' | 'attention_pool'."""
  if size not in ALIGN_SIZES:
    raise ValueError(f"size must be one of {ALIGN_SIZES}, got {size!r}.")
  perceiver, pool, _ = _ALIGN_HEADS[size]
  if model == "perceiver":
    return dict(name=model, **{**perceiver, "latent_init": "correct",
                               "latent_init_std": 0.02,
                               "latent_layernorm": True, **overrides})
  if model == "attention_pool":
    return dict(name=model, **{**pool, **overrides})
  raise ValueError(f"alignment head must be perceiver or attention_pool, got"
                   f" {model!r}.")


def align_data_config(data: str, size: str, seed: int = 0, tokens: str = "",
                      targets: str = "") -> dict:
  """`config.data`: synthetic | pydocs | coco (token + caption dirs)."""
  if data == "synthetic":
    return dict(name="synthetic", seed=seed,
                **_ALIGN_DATA["synthetic"][size])
  if data == "pydocs":
    return dict(name="pydocs", **{"target": "tfidf_lsa", "limit": 0,
                                  "cache_dir": "",
                                  **_ALIGN_DATA["pydocs"][size]})
  if data in ("coco", "dirs"):
    if not tokens or not targets:
      raise ValueError(f"data={data} needs tokens=<token dataset dir> and "
                       "targets=<caption embedding dir> (see python -m "
                       "embtrans.data.coco --help).")
    return dict(name="dirs", tokens=tokens, targets=targets,
                train_split="train", test_split="test")
  raise ValueError(f"data must be synthetic, pydocs or coco, got {data!r}.")


def alignment_config(model: Mapping[str, Any], data: Mapping[str, Any],
                     mrl_dim: int, lr: float, batch_size: int, steps: int,
                     seed: int = 0, num_seeds: int = 1
                     ) -> ml_collections.ConfigDict:
  """Task `align`; `model` / `data` from `align_head_config` /
  `align_data_config`."""
  c = ml_collections.ConfigDict()
  c.task = "align"
  c.seed, c.num_seeds = seed, num_seeds
  # Token stores up to this size live on the devices (rows gathered in the
  # step); bigger ones are streamed from the host.
  c.data = dict(data, max_device_gib=2.0)
  c.model = dict(model)
  c.mrl = dict(dim=mrl_dim, prefixes=tuple(mrl_dim // f for f in (1, 2, 4, 8)),
               weights=None)
  c.temperature = dict(init_temperature=0.07, max_logit_scale=100.0,
                       learn_temperature=True)
  c.optimizer = dict(learning_rate=lr, weight_decay=1e-4, b1=0.9, b2=0.999,
                     warmup_steps=max(1, steps // 20), end_lr_fraction=0.01,
                     grad_clip=1.0, decay="kernels")
  c.batch_size = batch_size
  c.num_train_steps = steps
  c.log_every = max(1, steps // 50)
  c.checkpoint_every = 0 if steps < 1000 else steps // 4
  c.max_checkpoints = 2
  c.num_devices = 0  # 0 = all local devices.
  c.eval_batch_size = 256 if batch_size >= 64 else 32
  c.recall_ks = (1, 5, 10)
  c.fault = "none"  # A known training bug to inject: tasks/align_faults.py.
  return c


def align_from_arg(a: ml_collections.ConfigDict, size: str,
                   model: Mapping[str, Any]) -> ml_collections.ConfigDict:
  """The alignment config of parsed `:arg` keys `a` (`parse_align_arg`) with
  head `model`: the size's data, batch (32 when tiny) and default steps."""
  data = align_data_config(a.data, size, a.seed, a.tokens, a.targets)
  batch = 32 if size == "tiny" else a.batch
  steps = a.steps or ALIGN_DEFAULT_STEPS[size]
  return alignment_config(model, data, align_mrl_dim(size), a.lr, batch,
                          steps, a.seed, a.seeds)


def parse_align_arg(arg: str | None, **extra: Any
                    ) -> ml_collections.ConfigDict:
  """The `:k=v` keys every alignment config takes, plus (or overriding) extra.

  size (full | small | tiny), data (synthetic | pydocs | coco), tokens and
  targets (dataset dirs for data=coco), lr, batch, steps (0 = the size's
  default), seed, seeds (trained together as one vmapped program).
  """
  spec = dict(size="small", data="synthetic", tokens="", targets="", lr=2e-4,
              batch=128, steps=0, seed=0, seeds=1)
  spec.update(extra)
  return parse_arg(arg, **spec)


ALIGN_DEFAULT_STEPS = {"full": 20000, "small": 1500, "tiny": 12}
