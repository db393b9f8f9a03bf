"""Config helpers: `:arg` strings and the translator config every file shares.

Config files call `parse_arg(arg, key=default, ...)` on the string after the
colon in `--config=configs/mlp32x.py:layers=2,tiny=True`; values are cast to
the type of their default and unknown keys fail with the list of known ones.
"""

from __future__ import annotations

from typing import Any

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
