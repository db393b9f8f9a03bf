"""Task `autoencode`: a space seen in 3-D, two populations kept aligned.

  python -m embtrans.main --config=configs/ae3d.py --workdir=W
  python -m embtrans.sweep --config=configs/ae3d.py --workdir=W

Data (`config.data`, `data/populations.py`): population A and B of one
space with known pairs (E5 'query: ' summaries vs 'passage: ' bodies, or
MiniLM vectors translated into E5's space next to E5's own), split by pair
into train / val / test. A member trains on the train rows of A, of B, or
of both (`config.data.train`) and is scored on `config.data.eval_split`
('val' while choosing settings, 'test' for the final numbers).

Model (`models/autoencoder.py`): encoder -> `code_dim` (3) -> decoder. With
`config.model.pca_dim` > 0 the autoencoder reads the PCA coordinates of the
training rows (PCA fitted on them) and rebuilds those: the PCA(50) -> AE
variant. Loss (`autoencode_objective.py`): reconstruction + similarity_weight
x similarity preservation (in-batch cosines of the raw vectors vs of the
codes, form 'mse' | 'correlation' | 'rank') + pair_weight x the pull of known
pairs (train='both' only). The two weights are member data, like the
learning rate, so cells differing in them share a program.

Closed-form models (`config.model.name` in autoencode_baselines.METHODS):
PCA(3), UMAP(3), PCA(50) -> UMAP(3), fitted on the same training rows.

Scores (`autoencode_scores.py`), flat keys under `<eval_split>/`:
trustworthiness / continuity / k-NN preservation / Spearman per population
and on both, cross-population Recall@1/10 of the pairs in 3-D and in the
original space, the population gap before and after. Artifacts: the codes
of A and B (`codes_a`, `codes_b`), for the report's pages.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from embtrans import models
from embtrans import sharding
from embtrans.data import populations as pops_lib
from embtrans.engine import feeds
from embtrans.engine import members as members_lib
from embtrans.engine import optim
from embtrans.engine import program as program_lib
from embtrans.tasks import autoencode_baselines as baselines_lib
from embtrans.tasks import autoencode_objective as objective
from embtrans.tasks import autoencode_scores as scores_lib

# Config keys in which members of one program may differ.
MEMBER_KEYS = ("seed", "optimizer.learning_rate", "data.train",
               "loss.similarity_weight", "loss.pair_weight")
TRAINS = ("a", "b", "both")
DATA_KINDS = ("two_kinds", "translated")
EVAL_SPLITS = ("val", "test")
# Keys of config.data that pick rows of the loaded populations (not what is
# loaded).
_ROW_KEYS = ("train", "eval_split")


@dataclasses.dataclass
class Data:
  """The populations and their splits; `info` goes to data.json."""

  pops: pops_lib.Populations
  train: pops_lib.Populations
  eval: pops_lib.Populations
  train_on: str
  info: dict
  memo: dict = dataclasses.field(default_factory=dict, repr=False)

  def train_rows(self) -> np.ndarray:
    """[n, d] raw training vectors: A's, B's, or A's then B's."""
    return _rows(self.train, self.train_on)


def _rows(p: pops_lib.Populations, which: str) -> np.ndarray:
  return {"a": p.x_a, "b": p.x_b,
          "both": np.concatenate([p.x_a, p.x_b])}[which]


def method_of(config: ml_collections.ConfigDict) -> str:
  """The row label of a config's method: ae, pca50_ae, or a baseline."""
  if is_closed_form(config):
    return config.model.name
  pca = config.model.get("pca_dim", 0)
  return f"pca{pca}_ae" if pca else "ae"


def loss_config(config: ml_collections.ConfigDict) -> objective.LossConfig:
  loss = config.loss
  return objective.LossConfig(
      similarity_weight=loss.similarity_weight, form=loss.form,
      code_metric=loss.code_metric, temperature=loss.temperature,
      pair_weight=loss.pair_weight)


def loss_name(config: ml_collections.ConfigDict) -> str:
  """'recon', 'recon+mse', ..., or '-' for the closed-form methods."""
  return "-" if is_closed_form(config) else loss_config(config).name


def is_closed_form(config: ml_collections.ConfigDict) -> bool:
  return config.model.name in baselines_lib.METHODS


def validate(config: ml_collections.ConfigDict) -> None:
  """Fails early, before anything is written, on impossible settings."""
  known = ["autoencoder"] + list(baselines_lib.METHODS)
  if config.model.name not in known:
    raise ValueError(f"Unknown model {config.model.name!r} in config.model."
                     f"name for the autoencode task. Known: {known}.")
  d = config.data
  for key, allowed in (("kind", DATA_KINDS), ("train", TRAINS),
                       ("eval_split", EVAL_SPLITS)):
    if d[key] not in allowed:
      raise ValueError(f"config.data.{key}={d[key]!r}; choose one of "
                       f"{allowed}.")
  for key in ("num_train_steps", "log_every", "batch_size", "num_seeds",
              "pair_batch_size"):
    if config[key] < 1:
      raise ValueError(f"config.{key} must be >= 1, got {config[key]}.")
  if is_closed_form(config):
    return
  cfg = loss_config(config)  # checks form, metric, signs
  if cfg.pair_weight and d.train != "both":
    raise ValueError("config.loss.pair_weight > 0 needs both populations "
                     "(config.data.train='both'): pairs join A and B.")
  if config.model.get("pca_dim", 0) < 0:
    raise ValueError("config.model.pca_dim must be >= 0 (0: no PCA).")
  build_model(config, 4)  # checks variant, activation, code_dim


def _load_key(config: ml_collections.ConfigDict) -> str:
  return json.dumps({k: v for k, v in config.data.to_dict().items()
                     if k not in _ROW_KEYS}, sort_keys=True)


def _load(d: Mapping[str, Any]) -> tuple[pops_lib.Populations, dict]:
  """The populations `config.data` names, and facts about them."""
  common = dict(source=d["source"], limit=d["limit"] or None,
                cache_dir=d["cache_dir"] or None)
  if d["kind"] == "two_kinds":
    pops = pops_lib.load_populations(
        d["encoder_a"], d["encoder_b"], dict(d["kwargs_a"]),
        dict(d["kwargs_b"]), **common)
    return pops, {}
  pops = pops_lib.load_populations(
      d["encoder_a"], d["encoder_b"], dict(d["kwargs_a"]),
      dict(d["kwargs_b"]), parts=("body", "body"), check_dims=False,
      **common)
  return pops_lib.translated(pops)


def load_data(config: ml_collections.ConfigDict, memo: dict | None = None
              ) -> Data:
  """Opens (building on first use) the two populations; memoised in `memo`
  (shared by a sweep's cells) by everything but the rows picked."""
  memo = {} if memo is None else memo
  key = ("autoencode", _load_key(config))
  if key not in memo:
    memo[key] = _load(config.data.to_dict())
  pops, facts = memo[key]
  splits = memo.setdefault(key + ("splits",), {})
  for split in ("train", config.data.eval_split):
    if split not in splits:
      splits[split] = pops.subset(split)
  train, ev = splits["train"], splits[config.data.eval_split]
  info = {"populations": list(pops.names), "dim": int(pops.x_b.shape[1]),
          "num_a": len(pops.x_a), "num_b": len(pops.x_b),
          "num_pairs": len(pops.pairs), "num_train_a": len(train.x_a),
          "num_train_b": len(train.x_b), "num_train_pairs": len(train.pairs),
          "eval_split": config.data.eval_split, "num_eval_a": len(ev.x_a),
          "num_eval_b": len(ev.x_b), "num_eval_pairs": len(ev.pairs),
          "train": config.data.train, **facts}
  data = Data(pops, train, ev, config.data.train, info, memo)
  n = len(data.train_rows())
  if not is_closed_form(config) and config.batch_size > n:
    raise ValueError(f"config.batch_size={config.batch_size} is larger than "
                     f"the {n} training rows; lower it.")
  return data


def program_key(config: ml_collections.ConfigDict, data: Data) -> str:
  """Configs equal but for MEMBER_KEYS train together, as long as each loss
  term is on in all of them or in none."""
  del data  # config.data is part of the key.
  flat = json.loads(config.to_json_best_effort())
  for dotted in MEMBER_KEYS + ("num_seeds",):
    node, _, leaf = dotted.rpartition(".")
    (flat[node] if node else flat).pop(leaf, None)
  cfg = loss_config(config)
  flat["terms"] = [bool(cfg.similarity_weight), bool(cfg.pair_weight)]
  return json.dumps(flat, sort_keys=True, default=str)


def build_model(config: ml_collections.ConfigDict, out_dim: int):
  kwargs = {k: v for k, v in config.model.items()
            if k not in ("name", "pca_dim")}
  return models.get_model("autoencoder", out_dim=out_dim, **kwargs)


def _in_dim(config: ml_collections.ConfigDict, dim: int) -> int:
  """The autoencoder's input dim: min(pca_dim, dim) with PCA, else dim."""
  pca = config.model.get("pca_dim", 0)
  return min(pca, dim) if pca else dim


@functools.lru_cache(maxsize=64)
def _init_fn(model, in_dim: int):
  return jax.jit(lambda key: model.init(
      key, jnp.zeros((1, in_dim), jnp.float32))["params"])


def _pca(config: ml_collections.ConfigDict, data: Data):
  """The member's input map: identity, or PCA fitted on its training rows
  (memoised per training population)."""
  if not config.model.get("pca_dim", 0):
    return lambda x: np.asarray(x, np.float32)
  dim = _in_dim(config, data.info["dim"])
  key = ("pca", dim, data.train_on, id(data.train))
  if key not in data.memo:
    data.memo[key] = baselines_lib.fit_pca(data.train_rows(), dim)
  return data.memo[key]


class _Sampler:
  """`indices(step) -> {'rows': [B], 'pairs': [P]}` of one member."""

  def __init__(self, num_rows: int, num_pairs: int, batch: int,
               pair_batch: int, seed: int):
    self._rows = feeds.RowSampler(num_rows, batch, seed)
    self._pairs = (feeds.RowSampler(num_pairs, pair_batch, seed + 7919)
                   if num_pairs >= pair_batch else None)
    self._pair_batch = pair_batch

  def indices(self, step: int) -> dict[str, np.ndarray]:
    pairs = (self._pairs.indices(step) if self._pairs is not None
             else np.zeros(self._pair_batch, np.int32))
    return {"rows": self._rows.indices(step), "pairs": pairs}


def _member_arrays(config, data: Data) -> dict[str, np.ndarray]:
  """One member's resident arrays: inputs, raw vectors, pair inputs,
  loss weights."""
  raw = data.train_rows()
  to_input = _pca(config, data)
  pairs = data.train.pairs if data.train_on == "both" else np.zeros(
      (0, 2), np.int64)
  n_a = len(data.train.x_a) if data.train_on == "both" else 0
  x = to_input(raw)
  pa = x[pairs[:, 0]] if len(pairs) else np.zeros((1, x.shape[1]))
  pb = x[n_a + pairs[:, 1]] if len(pairs) else np.zeros((1, x.shape[1]))
  return {"x": x, "sim": raw, "pa": pa, "pb": pb,
          "w": np.asarray([config.loss.similarity_weight,
                           config.loss.pair_weight], np.float32)}


def _stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
  """[m] arrays [n_i, ...] -> [m, max n_i, ...] float32, zero-padded."""
  shape = (len(arrays), max(len(a) for a in arrays)) + arrays[0].shape[1:]
  out = np.zeros(shape, np.float32)
  for i, a in enumerate(arrays):
    out[i, :len(a)] = a
  return out


def _gather(resident, idx):
  """One member's resident arrays and indices -> its batch."""
  return {"x": resident["x"][idx["rows"]],
          "sim": resident["sim"][idx["rows"]],
          "pa": resident["pa"][idx["pairs"]],
          "pb": resident["pb"][idx["pairs"]], "w": resident["w"]}


def _feed(configs, datas: Sequence[Data], mesh) -> feeds.DeviceFeed:
  per = [_member_arrays(c, d) for c, d in zip(configs, datas)]
  resident = {k: _stack([p[k] for p in per]) for k in per[0]}
  samplers = [_Sampler(len(p["x"]), len(p["pa"]) if d.train_on == "both"
                       else 0, c.batch_size, c.pair_batch_size, c.seed)
              for p, c, d in zip(per, configs, datas)]
  return feeds.DeviceFeed(resident, samplers, _gather, mesh, per_member=True)


def _loss_fn(model, cfg: objective.LossConfig):
  """loss_fn(params, batch) with the member's weights from the batch."""
  on = dataclasses.replace(cfg, similarity_weight=float(
      bool(cfg.similarity_weight)), pair_weight=float(bool(cfg.pair_weight)))

  def loss_fn(params, batch):
    _, terms = objective.objective(
        model.apply, {"params": params}, batch["x"], on, sim_x=batch["sim"],
        x_pair_a=batch["pa"] if on.pair_weight else None,
        x_pair_b=batch["pb"] if on.pair_weight else None)
    w = batch["w"]
    total = (terms["recon"] + w[0] * terms.get("similarity", 0.0)
             + w[1] * terms.get("pairs", 0.0))
    return total, terms
  return loss_fn


def build(configs: Sequence[ml_collections.ConfigDict],
          datas: Sequence[Data], names: Sequence[str],
          mesh: jax.sharding.Mesh) -> program_lib.Program:
  """The program training `configs[i]` on `datas[i]` (same program_key)."""
  c = configs[0]
  sharding.check_batch_size(c.batch_size, mesh)
  in_dim = _in_dim(c, datas[0].info["dim"])
  model = build_model(c, in_dim)
  tx, unit = optim.create(c.optimizer, c.num_train_steps)
  encode = _encode_fn(model, mesh)

  def evaluate(params):
    xs_a = _stack([_pca(cfg, d)(d.eval.x_a) for cfg, d in zip(configs, datas)])
    xs_b = _stack([_pca(cfg, d)(d.eval.x_b) for cfg, d in zip(configs, datas)])
    codes_a = np.asarray(encode(params, xs_a))
    codes_b = np.asarray(encode(params, xs_b))
    return [score(cfg, d, codes_a[i, :len(d.eval.x_a)],
                  codes_b[i, :len(d.eval.x_b)])
            for i, (cfg, d) in enumerate(zip(configs, datas))]

  return program_lib.Program(
      names=list(names), init_fns=[_init_fn(model, in_dim)] * len(configs),
      seeds=[cfg.seed for cfg in configs],
      lrs=[cfg.optimizer.learning_rate for cfg in configs], tx=tx, unit=unit,
      step=members_lib.member_step(_loss_fn(model, loss_config(c)), tx),
      feed=_feed(configs, datas, mesh), num_steps=c.num_train_steps,
      evaluate=evaluate)


@functools.lru_cache(maxsize=16)
def _encode_fn(model, mesh):
  """Jitted `(params [M, ...], x [M, n, d_in]) -> codes [M, n, code_dim]`."""
  repl = sharding.replicated(mesh)
  return jax.jit(jax.vmap(lambda p, x: model.apply(
      {"params": p}, x, method=model.encode)), in_shardings=(repl, repl),
                 out_shardings=repl)


def score(config: ml_collections.ConfigDict, data: Data, codes_a: np.ndarray,
          codes_b: np.ndarray, prefix: str | None = None
          ) -> tuple[dict, dict]:
  """-> (scores `<prefix>/<key>`, or {'error': ...} for NaN codes;
  artifacts {'codes_a', 'codes_b'})."""
  prefix = prefix or config.data.eval_split
  artifacts = {"codes_a": codes_a, "codes_b": codes_b}
  if not (np.isfinite(codes_a).all() and np.isfinite(codes_b).all()):
    return {"error": f"{prefix}: the codes hold NaN/inf."}, artifacts
  ev = data.eval
  got = scores_lib.evaluate_projection(codes_a, codes_b, ev.x_a, ev.x_b,
                                       ev.pairs, seed=config.seed)
  return {f"{prefix}/{k}": v for k, v in got.items()}, artifacts


def closed_form(config: ml_collections.ConfigDict, data: Data, name: str,
                prefix: str) -> tuple[dict, dict]:
  """Fits baseline `name` on the training rows; -> (scores, artifacts).

  `prefix` 'test' (what train.py and sweeps.py pass for a closed-form run's
  own scores) means the evaluated split, `config.data.eval_split`.
  """
  key = ("fit", name, data.train_on, config.seed,
         config.baseline_fit_sample, id(data.train))
  if key not in data.memo:
    data.memo[key] = baselines_lib.fit_baseline(
        name, data.train_rows(), seed=config.seed,
        fit_sample=config.baseline_fit_sample or None)
  proj = data.memo[key]
  return score(config, data, proj(data.eval.x_a), proj(data.eval.x_b),
               prefix if prefix != "test" else None)


def param_count(config: ml_collections.ConfigDict, data: Data) -> int:
  """Trainable parameters of one member (from shapes; nothing is run)."""
  in_dim = _in_dim(config, data.info["dim"])
  shapes = jax.eval_shape(_init_fn(build_model(config, in_dim), in_dim),
                          jax.random.key(0))
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(shapes)))
