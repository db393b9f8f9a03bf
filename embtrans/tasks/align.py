"""Task `align`: a pooling head on frozen tokens, contrastively aligned with
target embeddings (vision-text style: image patch tokens <-> captions).

  python -m embtrans.main --config=configs/align_perceiver.py --workdir=W
  python -m embtrans.sweep --config=configs/perceiver_ablation.py --workdir=W

Model (`models/dual_encoder.py`): head (`config.model.name`: perceiver |
attention_pool) on tokens -> [D], Dense on targets -> [D], D = config.mrl.dim.
Loss: symmetric InfoNCE summed over the Matryoshka prefixes
(`config.mrl.prefixes`) with a learnable, clipped temperature (clamped after
each update); AdamW with weight decay on kernels only. Diagnostics logged with
the loss (`align_diagnostics.py`): grad norms per group, latent cosine,
attention entropy, and on data with a known `signal_mask` (planted) the
attention mass on the signal tokens. `config.fault` (off by default; see
`align_faults.py`) injects a known training bug; `train/loss_logged` is the
loss a script with that bug would print.

Members of one program share everything but seed (init and data order), peak
learning rate and the Perceiver's latent init; members with the same seed
see the same batches. Batches (`token_pairs.PairSampler`): items shuffled per
epoch, one of each item's targets drawn per step; rows gathered on the
devices when the token store fits in `config.data.max_device_gib`, else
built on the host and streamed.

Scores (`align_scores.py`), flat keys under `test/`: one-to-many Recall@K
and ranks image->text (`i2t/`) and text->image (`t2i/`), also at each MRL
prefix (`mrl_<p>/...`). `baselines` adds the closed-form references under
`reference_<name>/` (mean pool + ridge; the planted oracle on planted data).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from embtrans import models
from embtrans import sharding
from embtrans.data import planted
from embtrans.data import pydocs_pairs
from embtrans.data import token_pairs
from embtrans.engine import feeds
from embtrans.engine import members as members_lib
from embtrans.engine import optim
from embtrans.engine import program as program_lib
from embtrans.models import _attention
from embtrans.models import dual_encoder
from embtrans.tasks import align_diagnostics as diagnostics
from embtrans.tasks import align_faults
from embtrans.tasks import align_scores

# Config keys in which members of one program may differ.
MEMBER_KEYS = ("seed", "optimizer.learning_rate", "model.latent_init",
               "model.latent_init_std")
HEADS = ("attention_pool", "perceiver")
DATA_NAMES = ("synthetic", "pydocs", "dirs")
# Keys of config.data that are not arguments of the data's loader.
_FEED_KEYS = ("name", "max_device_gib")


@dataclasses.dataclass
class Data:
  """Token pairs; `info` goes to data.json; `memo` caches the references."""

  pairs: token_pairs.AlignmentData
  info: dict
  memo: dict = dataclasses.field(default_factory=dict, repr=False)


def is_closed_form(config: ml_collections.ConfigDict) -> bool:
  del config
  return False


def closed_form(config, data, name, prefix):
  del config, data, prefix
  raise ValueError(f"The align task has no closed-form model {name!r}; its "
                   "closed-form references come with every run under "
                   "reference_<name>/.")


def _check_mrl(config: ml_collections.ConfigDict) -> None:
  dim, prefixes = config.mrl.dim, tuple(config.mrl.prefixes)
  if not prefixes or any(not 1 <= p <= dim for p in prefixes):
    raise ValueError(f"config.mrl.prefixes must be dims in [1, {dim}] "
                     f"(config.mrl.dim), got {prefixes}.")
  if config.mrl.weights is not None and len(config.mrl.weights) != len(
      prefixes):
    raise ValueError("config.mrl.weights needs one weight per prefix.")


def validate(config: ml_collections.ConfigDict) -> None:
  """Fails early, before anything is written, on impossible settings."""
  if config.model.name not in HEADS:
    raise ValueError(f"Unknown alignment head {config.model.name!r} in "
                     f"config.model.name. Known heads: {list(HEADS)}.")
  if config.data.name not in DATA_NAMES:
    raise ValueError(f"Unknown config.data.name {config.data.name!r}; known:"
                     f" {', '.join(DATA_NAMES)}.")
  _check_mrl(config)
  align_faults.check(config.get("fault", "none"), config.batch_size)
  for key in ("num_train_steps", "log_every", "batch_size", "num_seeds",
              "eval_batch_size"):
    if config[key] < 1:
      raise ValueError(f"config.{key} must be >= 1, got {config[key]}.")
  if config.checkpoint_every < 0:
    raise ValueError("config.checkpoint_every must be >= 0 (0 = never).")
  build_model(config)  # Checks the head's settings and the temperature.


def build_model(config: ml_collections.ConfigDict
                ) -> dual_encoder.DualEncoder:
  """`config.model` (head), `config.mrl.dim`, `config.temperature` -> model."""
  t = dict(config.temperature)
  init, top = t.get("init_temperature", 0.07), t.get("max_logit_scale", 100.0)
  if not (top >= 1 and 1 / top <= init <= 1):
    raise ValueError(f"config.temperature.init_temperature must be in "
                     f"[1/max_logit_scale, 1] = [{1 / max(top, 1e-9):.4g}, 1]"
                     f", got {init} (max_logit_scale {top}).")
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  head = models.get_model(config.model.name, out_dim=config.mrl.dim, **kwargs)
  return dual_encoder.DualEncoder(head, config.mrl.dim, **t)


def _open(cfg: Mapping[str, Any]) -> token_pairs.AlignmentData:
  """`config.data` -> the token pairs (see DATA_NAMES)."""
  args = {k: v for k, v in cfg.items() if k not in _FEED_KEYS}
  if cfg["name"] == "synthetic":
    return planted.planted(**args)
  if cfg["name"] == "pydocs":
    return pydocs_pairs.load(**args)
  if cfg["name"] == "dirs":
    return token_pairs.open_dirs(**args)
  raise ValueError(f"Unknown config.data.name {cfg['name']!r}; known: "
                   f"{', '.join(DATA_NAMES)}.")


def load_data(config: ml_collections.ConfigDict, memo: dict | None = None
              ) -> Data:
  """Opens (building on first use) the token pairs of `config.data`.

  `memo` (a dict kept by the caller) shares opened data between the cells
  of a sweep; without it everything is opened afresh.
  """
  memo = {} if memo is None else memo
  cfg = config.data.to_dict()
  key = ("align", json.dumps({k: v for k, v in cfg.items()
                              if k != "max_device_gib"}, sort_keys=True))
  if key not in memo:
    pairs = _open(cfg)
    memo[key] = Data(pairs, {"name": pairs.name, **pairs.info})
  data = memo[key]
  if config.batch_size > data.pairs.train.num_items:
    raise ValueError(f"config.batch_size={config.batch_size} is larger than "
                     f"the {data.pairs.train.num_items} training items; lower"
                     " it.")
  return data


def _flat(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """{'optimizer.learning_rate': ..., ...} of a config."""
  out = {}

  def walk(node: Mapping[str, Any], prefix: str) -> None:
    for key, value in node.items():
      if isinstance(value, Mapping):
        walk(value, f"{prefix}{key}.")
      else:
        out[f"{prefix}{key}"] = value

  walk(json.loads(config.to_json_best_effort()), "")
  return out


def program_key(config: ml_collections.ConfigDict, data: Data) -> str:
  """Configs equal but for MEMBER_KEYS (and num_seeds) train together."""
  del data  # config.data is part of the key.
  flat = {k: v for k, v in _flat(config).items()
          if k not in MEMBER_KEYS + ("num_seeds",)}
  return json.dumps(flat, sort_keys=True, default=str)


@functools.lru_cache(maxsize=64)
def _init_fn(model: dual_encoder.DualEncoder, token_dim: int,
             max_tokens: int, target_dim: int):
  """Jitted `key -> params` per (model, shapes): compiled once per process."""
  dummy = (jnp.zeros((1, max_tokens, token_dim)), None,
           jnp.zeros((1, target_dim)))
  return jax.jit(lambda key: model.init(key, *dummy)["params"])


def _loss_fn(model: dual_encoder.DualEncoder,
             objective: align_faults.Objective):
  """-> loss_fn(params, (tokens [B, T, d], lengths [B], targets [B, d_t]
  [, signal mask [B, T]]))."""
  def loss_fn(params, batch):
    tokens, lengths, targets = batch[:3]
    mask = _attention.key_mask(lengths, tokens.shape[1])
    (img, txt, scale), state = model.apply(
        {"params": params}, tokens, mask, targets, mutable=["intermediates"])
    loss, logged, full = objective(img, txt, scale)
    _, _, scale = objective.inputs(img, txt, scale)
    sown = state.get("intermediates", {})
    aux = {"loss_full": full, "loss_logged": logged,
           "temperature": 1.0 / scale, **diagnostics.sown(sown)}
    if len(batch) > 3:
      aux.update(diagnostics.signal_mass(sown, batch[3], lengths))
    return loss, aux
  return loss_fn


def _diagnose(grads, params) -> dict[str, jax.Array]:
  return {**diagnostics.grad_norms(grads), **diagnostics.latent_cosine(params)}


def _gather(resident, idx):
  """resident (tokens [n, T, d], lengths [n], targets [m, d_t] [, signal
  mask [n, T]]), idx (items [B], targets [B]) -> (tokens [B, T, d] float32,
  lengths [B], targets [B, d_t] [, signal mask [B, T]])."""
  tokens, lengths, targets = resident[:3]
  items, chosen = idx
  out = (tokens[items].astype(jnp.float32), lengths[items], targets[chosen])
  return out + tuple(r[items] for r in resident[3:])


def _device_bytes(split: token_pairs.TokenSplit) -> int:
  row = int(np.prod(split.tokens.shape[1:])) * split.tokens.dtype.itemsize
  return split.num_items * row + split.targets.nbytes + split.lengths.nbytes


def _feed(configs: Sequence[ml_collections.ConfigDict],
          split: token_pairs.TokenSplit, mesh: jax.sharding.Mesh,
          signal_mask: np.ndarray | None = None):
  """DeviceFeed if the split fits in `data.max_device_gib`, else StreamFeed.

  Both give member m the batches of `PairSampler(split, B, seed_m)`; the
  DeviceFeed adds each item's row of `signal_mask` (rows as the token store)
  when given.
  """
  c = configs[0]
  seeds = sorted({cfg.seed for cfg in configs})
  if _device_bytes(split) <= c.data.get("max_device_gib", 2.0) * 2**30:
    by_seed = {s: token_pairs.PairSampler(split, c.batch_size, s)
               for s in seeds}
    resident = (np.asarray(split.tokens[split.rows]),
                np.asarray(split.lengths, np.int32),
                np.asarray(split.targets, np.float32))
    if signal_mask is not None:
      resident += (np.asarray(signal_mask[split.rows], bool),)
    return feeds.DeviceFeed(resident, [by_seed[cfg.seed] for cfg in configs],
                            _gather, mesh)
  streams = [token_pairs.PairBatches(split, c.batch_size, s) for s in seeds]
  return feeds.StreamFeed(lambda s, t: streams[s].batch(t),
                          [seeds.index(cfg.seed) for cfg in configs], mesh)


def build(configs: Sequence[ml_collections.ConfigDict],
          datas: Sequence[Data], names: Sequence[str],
          mesh: jax.sharding.Mesh) -> program_lib.Program:
  """The program training `configs[i]` on `datas[i]` (same program_key)."""
  c, pairs = configs[0], datas[0].pairs
  sharding.check_batch_size(c.batch_size, mesh)
  model = build_model(c)
  tx, unit = optim.create(c.optimizer, c.num_train_steps)
  weights = None if c.mrl.weights is None else tuple(
      float(w) for w in c.mrl.weights)
  top = c.temperature.max_logit_scale
  loss_fn = _loss_fn(model, align_faults.Objective(
      c.get("fault", "none"), c.mrl.prefixes, weights, top))
  step = members_lib.member_step(
      loss_fn, tx, lambda p: dual_encoder.clamp_log_scale(p, top), _diagnose)
  shapes = (pairs.token_dim, pairs.max_tokens, pairs.target_dim)
  return program_lib.Program(
      names=list(names),
      init_fns=[_init_fn(build_model(cfg), *shapes) for cfg in configs],
      seeds=[cfg.seed for cfg in configs],
      lrs=[cfg.optimizer.learning_rate for cfg in configs], tx=tx, unit=unit,
      step=step, feed=_feed(configs, pairs.train, mesh,
                                  pairs.extras.get("signal_mask")),
      num_steps=c.num_train_steps,
      evaluate=lambda params: evaluate(c, model, params, pairs.test, mesh))


@functools.lru_cache(maxsize=16)
def _embed_fns(model: dual_encoder.DualEncoder, mesh: jax.sharding.Mesh):
  """Jitted, member-vmapped `image(params, tokens, lengths)`, `text(params,
  targets)` -> [M, b, D]."""
  data = sharding.data_sharding(mesh)
  out = jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec(None, sharding.DATA_AXIS))
  repl = sharding.replicated(mesh)

  def image(params, tokens, lengths):
    mask = _attention.key_mask(lengths, tokens.shape[1])
    return model.apply({"params": params}, tokens, mask,
                       method=dual_encoder.DualEncoder.embed_image)

  def text(params, targets):
    return model.apply({"params": params}, targets,
                       method=dual_encoder.DualEncoder.embed_text)

  return (jax.jit(jax.vmap(image, in_axes=(0, None, None)),
                  in_shardings=(repl, data, data), out_shardings=out),
          jax.jit(jax.vmap(text, in_axes=(0, None)),
                  in_shardings=(repl, data), out_shardings=out))


def embed_split(params, split: token_pairs.TokenSplit, model, batch_size: int,
                mesh: jax.sharding.Mesh) -> tuple[np.ndarray, np.ndarray]:
  """-> image [M, n_items, D], text [M, n_targets, D] (float32, numpy).

  Rows go through in blocks of `batch_size` (the last padded with its first
  row), so any n compiles once.
  """
  sharding.check_batch_size(batch_size, mesh)
  data = sharding.data_sharding(mesh)
  image_fn, text_fn = _embed_fns(model, mesh)

  def blocks(n, fetch, fn):
    outs = []
    for start in range(0, n, batch_size):
      idx = np.arange(start, min(start + batch_size, n))
      padded = np.concatenate([idx, np.full(batch_size - len(idx), idx[0])])
      args = [sharding.put_global_batch(a, data) for a in fetch(padded)]
      outs.append((fn(params, *args), len(idx)))
    return np.concatenate([np.asarray(jax.device_get(o))[:, :k]
                           for o, k in outs], axis=1)

  return (blocks(split.num_items, split.item_tokens, image_fn),
          blocks(split.num_targets, lambda i: (np.asarray(
              split.targets[i], np.float32),), text_fn))


def evaluate(config: ml_collections.ConfigDict, model, params,
             split: token_pairs.TokenSplit, mesh: jax.sharding.Mesh
             ) -> list[tuple[dict, dict]]:
  """Per member: (`test/...` retrieval scores, or {'error': ...}; {})."""
  image, text = embed_split(params, split, model, config.eval_batch_size,
                            mesh)
  out = []
  for m in range(image.shape[0]):
    if not (np.isfinite(image[m]).all() and np.isfinite(text[m]).all()):
      out.append(({"error": "the model produced NaN/inf embeddings on the "
                            "test split."}, {}))
      continue
    scores = align_scores.retrieval_scores(
        image[m], text[m], split, config.mrl.prefixes,
        tuple(config.recall_ks))
    out.append(({f"test/{k}": v for k, v in scores.items()}, {}))
  return out


def baselines(config: ml_collections.ConfigDict, data: Data
              ) -> dict[str, float]:
  """`reference_<name>/...`: the closed-form references of the data."""
  del config
  if "references" not in data.memo:
    data.memo["references"] = align_scores.references(data.pairs)
  return {f"reference_{name}/{k}": v
          for name, scores in data.memo["references"].items()
          for k, v in scores.items()}


def window_extras(config: ml_collections.ConfigDict) -> dict[str, float]:
  """ln(batch): the symmetric InfoNCE at chance, and the chance level of the
  logged loss (`align_faults.chance_level`), logged with the loss."""
  return {"ln_batch": math.log(config.batch_size),
          "chance_logged": align_faults.chance_level(
              config.get("fault", "none"), config.batch_size,
              len(config.mrl.prefixes), config.mrl.weights)}


def param_count(config: ml_collections.ConfigDict, data: Data) -> int:
  """Trainable parameters of one member (from shapes; nothing is run)."""
  p = data.pairs
  shapes = jax.eval_shape(_init_fn(build_model(config), p.token_dim,
                                   p.max_tokens, p.target_dim),
                          jax.random.key(0))
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(shapes)))
