"""Task `translate`: a translator A -> B trained on embeddings paired by id.

Members of one program share the model, optimizer, loss, batch size and
step budget; they may differ in seed and in the pair of spaces (as long as
the dims agree), so a grid's same-shape translators train together.

Test scores (flat keys under `test/`; closed-form rows and `config.
baselines` under `baseline_<name>/`): MSE, mean cosine, R^2, Recall@K and
ranks of "translated row i retrieves target row i among all test targets"
(the vec2vec protocol), the `config.evals` evaluators and, when
`config.overlap_k` is set, the retrieval overlap.

`config.data.val_percent` > 0 carves that share of the train ids (by a
salted hash of the id, `pairing.carve_validation`) into a validation split
that nothing is fitted on; trained members and closed-form fits then also
get `val/` scores (MSE, cosine, R^2, Recall@K, ranks among the val targets)
for choices made on them (which member, which direction), so the test split
is left for final numbers.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import threadpoolctl

from embtrans import baselines as baselines_lib
from embtrans import evaluators
from embtrans import losses
from embtrans import metrics
from embtrans import models
from embtrans import sharding
from embtrans.data import build as build_lib
from embtrans.data import pairing
from embtrans.engine import feeds
from embtrans.engine import members as members_lib
from embtrans.engine import optim
from embtrans.engine import program as program_lib
from embtrans.metrics import retrieval

# Config keys in which members of one program may differ.
MEMBER_KEYS = ("seed", "data.a", "data.b", "data.direction")


@dataclasses.dataclass
class Data:
  """A directed pair of spaces, paired by id; `info` goes to data.json."""

  paired: pairing.Paired
  info: dict
  memo: dict = dataclasses.field(default_factory=dict, repr=False)


def is_closed_form(config: ml_collections.ConfigDict) -> bool:
  """Whether `config.model.name` names a closed-form fit (no training)."""
  return config.model.name in baselines_lib.BASELINES


def validate(config: ml_collections.ConfigDict) -> None:
  """Fails early, before anything is written, on names that do not exist."""
  known = models.known_models() + sorted(baselines_lib.BASELINES)
  if config.model.name not in known:
    raise ValueError(f"Unknown model {config.model.name!r} in config.model."
                     f"name. Known models: {known}.")
  losses.get_loss(config.loss.name)
  for name in config.baselines:
    if name not in baselines_lib.BASELINES:
      raise ValueError(f"Unknown baseline {name!r} in config.baselines. "
                       f"Known baselines: {sorted(baselines_lib.BASELINES)}.")
  known_evals = evaluators.known_evaluators()
  for prefix, cfg in config.evals.items():
    if cfg.get("type", prefix) not in known_evals:
      raise ValueError(f"Unknown evaluator type {cfg.get('type', prefix)!r} "
                       f"in config.evals.{prefix}. Known: {known_evals}.")
  for key in ("num_train_steps", "log_every", "checkpoint_every",
              "batch_size", "eval_batch_size"):
    if config[key] < 1:
      raise ValueError(f"config.{key} must be >= 1, got {config[key]}.")
  if config.data.direction not in ("a_to_b", "b_to_a"):
    raise ValueError(f"config.data.direction must be 'a_to_b' or 'b_to_a', "
                     f"got {config.data.direction!r}.")
  for spec in (config.data.a, config.data.b):
    build_lib.check_dataset_spec(spec, config.data.cache_dir or None)


def data_key(config: ml_collections.ConfigDict) -> tuple:
  d = config.data
  return (d.source, d.a, d.b, d.direction, d.limit, d.cache_dir,
          d.get("val_percent", 0))


def _paired(key: tuple, memo: dict) -> tuple[pairing.Paired, Any, Any]:
  """(paired, opened A, opened B) of the unordered pair in `key`, memoised."""
  source, a, b, _, limit, cache_dir, val_percent = key
  mkey = ("paired", source, a, b, limit, cache_dir, val_percent)
  if mkey not in memo:
    opened = [build_lib.resolve_dataset(spec, source, limit or None,
                                        cache_dir or None) for spec in (a, b)]
    paired = pairing.pair_datasets(*opened)
    if val_percent:
      paired = pairing.carve_validation(paired, val_percent)
    memo[mkey] = (paired, *opened)
  return memo[mkey]


def load_data(config: ml_collections.ConfigDict, memo: dict | None = None
              ) -> Data:
  """Opens (building on first use) A and B, pairs them by id, orients them.

  `memo` (a dict kept by the caller) shares opened pairs between the cells
  of a sweep; without it everything is opened afresh.
  """
  memo = {} if memo is None else memo
  key = data_key(config)
  paired, src, tgt = _paired(key, memo)
  if config.data.direction == "b_to_a":
    paired, src, tgt = memo.setdefault(("swapped", key), paired.swapped()
                                       ), tgt, src
  info = {"source": src.name, "target": tgt.name, "source_dim": src.dim,
          "target_dim": tgt.dim, "source_path": str(src.path),
          "target_path": str(tgt.path), "num_train": len(paired.train),
          "num_test": len(paired.test), "dropped_source_only":
              paired.dropped_a, "dropped_target_only": paired.dropped_b,
          # Test rows whose exact text is a train row's (None: no texts).
          "test_texts_in_train": paired.test_texts_in_train}
  if config.batch_size > len(paired.train) and not is_closed_form(config):
    raise ValueError(f"config.batch_size={config.batch_size} is larger than "
                     f"the {len(paired.train)} training pairs; lower it.")
  if paired.val is not None:  # num_train counts the rows fitted on.
    info.update(num_val=len(paired.val), val_percent=key[-1],
                val_method=pairing.VAL_METHOD)
  return Data(paired, info, memo)


def program_key(config: ml_collections.ConfigDict, data: Data) -> tuple:
  """Members with equal keys train as one program."""
  return (config.model.to_json(), config.optimizer.to_json(),
          config.loss.to_json(), config.batch_size, config.num_train_steps,
          data.info["source_dim"], data.info["target_dim"])


def build_model(config: ml_collections.ConfigDict, out_dim: int):
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  return models.get_model(config.model.name, out_dim=out_dim, **kwargs)


@functools.lru_cache(maxsize=64)
def _init_fn(model, in_dim: int):
  return jax.jit(lambda key: model.init(
      key, jnp.zeros((1, in_dim), jnp.float32))["params"])


def _gather(resident, idx):
  """resident (a [rows, d_in], b [rows, d_out]), idx [B] -> (x, y)."""
  a, b = resident
  return a[idx], b[idx]


def _feed(configs, datas: Sequence[Data], mesh) -> feeds.DeviceFeed:
  """Shared arrays when every member trains on the same pair, else stacked
  [M, rows, d] (zero-padded rows; each member samples only its own)."""
  trains = [d.paired.train for d in datas]
  samplers = [feeds.RowSampler(len(t), c.batch_size, c.seed)
              for t, c in zip(trains, configs)]
  if all(t is trains[0] for t in trains):
    return feeds.DeviceFeed((trains[0].a, trains[0].b), samplers, _gather,
                            mesh)
  stacked = tuple(_stack_rows([getattr(t, s) for t in trains])
                  for s in ("a", "b"))
  return feeds.DeviceFeed(stacked, samplers, _gather, mesh, per_member=True)


def _stack_rows(arrays: Sequence[np.ndarray]) -> np.ndarray:
  """[m] arrays [n_i, d] -> [m, max n_i, d] float32, zero-padded rows."""
  out = np.zeros((len(arrays), max(len(a) for a in arrays),
                  arrays[0].shape[1]), np.float32)
  for i, a in enumerate(arrays):
    out[i, :len(a)] = a
  return out


def build(configs: Sequence[ml_collections.ConfigDict],
          datas: Sequence[Data], names: Sequence[str],
          mesh: jax.sharding.Mesh) -> program_lib.Program:
  """The program training `configs[i]` on `datas[i]` (same program_key)."""
  c = configs[0]
  sharding.check_batch_size(c.batch_size, mesh)
  in_dim, out_dim = datas[0].info["source_dim"], datas[0].info["target_dim"]
  model = build_model(c, out_dim)
  tx, unit = optim.create(c.optimizer, c.num_train_steps)
  loss = losses.get_loss(c.loss.name, c.loss.temperature)

  def loss_fn(params, batch):
    x, y = batch
    return loss(model.apply({"params": params}, x), y), {}

  predict = make_predict_fn(model, mesh, c.eval_batch_size)

  def evaluate(params):
    tests = [d.paired.test for d in datas]
    out = predict(params, _stack_rows([t.a for t in tests]))
    results = [score_member(t, out[i, :len(t)], cfg)
               for i, (t, cfg) in enumerate(zip(tests, configs))]
    vals = [d.paired.val for d in datas]
    if all(v is not None for v in vals):
      out = predict(params, _stack_rows([v.a for v in vals]))
      for i, (v, cfg) in enumerate(zip(vals, configs)):
        if "error" not in results[i][0]:
          results[i][0].update(val_scores(v, out[i, :len(v)], cfg))
    return results

  return program_lib.Program(
      names=list(names), init_fns=[_init_fn(model, in_dim)] * len(configs),
      seeds=[cfg.seed for cfg in configs],
      lrs=[cfg.optimizer.learning_rate for cfg in configs], tx=tx, unit=unit,
      step=members_lib.member_step(loss_fn, tx),
      feed=_feed(configs, datas, mesh), num_steps=c.num_train_steps,
      evaluate=evaluate)


@functools.lru_cache(maxsize=16)
def _predict_fn(model, mesh):
  repl = sharding.replicated(mesh)
  return jax.jit(jax.vmap(lambda p, x: model.apply({"params": p}, x)),
                 in_shardings=(repl, repl), out_shardings=repl)


def make_predict_fn(model, mesh: jax.sharding.Mesh, batch_size: int):
  """-> `predict(params [M, ...], xs [M, n, d_in]) -> [M, n, d_out]` (numpy).

  Rows go through in blocks of `batch_size` (the last zero-padded), so any n
  compiles once and memory stays O(M x batch_size x width).
  """
  apply = _predict_fn(model, mesh)

  def predict(params, xs: np.ndarray) -> np.ndarray:
    n = xs.shape[1]
    padded = np.pad(xs, ((0, 0), (0, -n % batch_size), (0, 0)))
    outs = [apply(params, padded[:, i:i + batch_size])
            for i in range(0, padded.shape[1], batch_size)]
    return np.concatenate(jax.device_get(outs), axis=1)[:, :n]
  return predict


def translation_scores(translated: np.ndarray, target: np.ndarray,
                       ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
  """MSE, mean cosine, R^2, Recall@k and ranks of `translated: [n, d]`.

  `mse` is the mean over rows and dims; `cosine` the mean row cosine; `r2`
  is 1 - SSE / SST with SST about the test targets' mean (the share of the
  target's variance explained, comparable across directions).
  """
  translated = np.asarray(translated, np.float32)
  target = np.asarray(target, np.float32)
  num = np.sum(translated * target, axis=1)
  den = np.linalg.norm(translated, axis=1) * np.linalg.norm(target, axis=1)
  t64 = target.astype(np.float64)
  sse = np.sum(np.square(translated.astype(np.float64) - t64))
  sst = max(np.sum(np.square(t64 - t64.mean(0))), 1e-300)
  scores = {"mse": float(np.mean(np.square(translated - target))),
            "cosine": float(np.mean(num / np.maximum(den, 1e-12))),
            "r2": float(1.0 - sse / sst),
            "chance_recall@1": 1.0 / target.shape[0]}
  recall = metrics.recall_at_k(translated, target, ks=tuple(ks))
  scores.update({k: float(v) for k, v in recall.items()})
  return scores


@functools.partial(jax.jit, static_argnames=("k",))
def _overlap(translated: jax.Array, target: jax.Array, k: int) -> jax.Array:
  docs = retrieval.l2_normalize(target)
  _, via_true = jax.lax.top_k(docs @ docs.T, k)
  _, via_translated = jax.lax.top_k(retrieval.l2_normalize(translated) @ docs.T,
                                    k)
  hits = via_true[:, :, None] == via_translated[:, None, :]  # [n, k, k]
  return jnp.mean(jnp.sum(hits, axis=(1, 2)) / k)


def retrieval_overlap(translated: np.ndarray, target: np.ndarray,
                      k: int = 10) -> float:
  """Mean |top-k(target_i) & top-k(translated_i)| / k over test queries i.

  The documents are all n test targets. Query i searches them (cosine) once
  with its true target vector and once with its translated vector; the score
  is the fraction of the k documents found both ways, averaged over queries.
  1 means translated queries fetch exactly what true ones fetch.

  Args:
    translated: [n, d] translated test vectors.
    target: [n, d] true test target vectors (the documents).
    k: documents per search, 1 <= k <= n.
  """
  n = target.shape[0]
  if translated.shape != target.shape:
    raise ValueError(f"translated {translated.shape} and target "
                     f"{target.shape} must have the same shape.")
  if not 1 <= k <= n:
    raise ValueError(f"k={k} must be in [1, {n}] (the number of documents).")
  return float(_overlap(jnp.asarray(translated, jnp.float32),
                        jnp.asarray(target, jnp.float32), k))


def scores(prefix: str, test: pairing.PairedSplit, translated: np.ndarray,
           config: ml_collections.ConfigDict) -> dict[str, float]:
  """Every score of one translation of `test.a`, keys `<prefix>/<name>`.

  Raises:
    FloatingPointError: the translation holds NaN or inf.
  """
  if not np.isfinite(translated).all():
    raise FloatingPointError(f"{prefix}: the translator produced NaN/inf on "
                             "the test split.")
  out = translation_scores(translated, test.b, tuple(config.recall_ks))
  result = evaluators.TranslationResult(test.a, test.b, translated, test.ids)
  out.update(evaluators.run_evaluators(config.get("evals", {}) or {}, result))
  k = config.get("overlap_k", 0)
  if k:
    out[f"retrieval_overlap@{k}"] = retrieval_overlap(translated, test.b, k)
  return {f"{prefix}/{key}": v for key, v in out.items()}


def val_scores(val: pairing.PairedSplit, translated: np.ndarray,
               config: ml_collections.ConfigDict) -> dict[str, float]:
  """`val/<name>`: MSE, cosine, R^2, Recall@K and ranks of `translated:
  [n_val, d]` among the val targets (what choices are made on); the
  evaluators run on the test split only. NaN output: no val keys."""
  if not np.isfinite(translated).all():
    return {}
  out = translation_scores(translated, val.b, tuple(config.recall_ks))
  return {f"val/{k}": v for k, v in out.items()}


def score_member(test: pairing.PairedSplit, translated: np.ndarray,
                 config: ml_collections.ConfigDict) -> tuple[dict, dict]:
  """-> (test scores, or {'error': ...} for NaN output; artifacts)."""
  try:
    out = scores("test", test, translated, config)
  except FloatingPointError as e:
    out = {"error": str(e)}
  return out, {"test_translated": translated}


def _fit(name: str, data: Data):
  """The closed-form fit `name` on data's training split, memoised."""
  key = ("fit", name, id(data.paired))
  if key not in data.memo:
    # One BLAS thread: OpenBLAS threads spin-wait when the cores are busy
    # (XLA's pool lives in this process too); on 2 shared cores that made
    # one [6509, 384] lstsq take 44 s instead of 4 s.
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
      data.memo[key] = baselines_lib.fit_baseline(
          name, data.paired.train.a, data.paired.train.b)
  return data.memo[key]


def fit_closed_form(name: str, data: Data) -> baselines_lib.AffineTranslator:
  """The closed-form translator `name` fitted on data's training split (the
  same fit `closed_form` scores; deterministic, memoised in `data.memo`)."""
  return _fit(name, data)


def closed_form(config: ml_collections.ConfigDict, data: Data, name: str,
                prefix: str) -> tuple[dict, dict]:
  """Fits baseline `name` on the training split; -> (scores, artifacts).

  With a validation split and prefix 'test' (a closed-form cell), the
  `val/` scores are added as for a trained member.
  """
  fitted = _fit(name, data)
  translated = fitted(data.paired.test.a)
  out = scores(prefix, data.paired.test, translated, config)
  if prefix == "test" and data.paired.val is not None:
    out.update(val_scores(data.paired.val, fitted(data.paired.val.a), config))
  return out, {"test_translated": translated}


def param_count(config: ml_collections.ConfigDict, data: Data) -> int:
  """Trainable parameters of one member (from shapes; nothing is run)."""
  model = build_model(config, data.info["target_dim"])
  shapes = jax.eval_shape(_init_fn(model, data.info["source_dim"]),
                          jax.random.key(0))
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(shapes)))
