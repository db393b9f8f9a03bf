"""`evaluate(config, workdir)`: the whole two-stage experiment, then a report.

Writes into workdir: config.json; report/ (or report_dir: see report.py); rows/{filters,decisions,alignment,
permission}.jsonl (one row per seed and cell); summary.json (the aggregated
tables the report reads: means and 95 % intervals over seeds, the knob
chosen on validation queries per path); results.json (the same numbers as
flat keys); chroma/ (the ChromaDB collections). See configs/two_stage.py.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from typing import Any

import numpy as np
from absl import logging

from embtrans import baselines
from embtrans.data import build as build_lib
from embtrans.retrieval import candidates as cands_lib
from embtrans.retrieval import corpus
from embtrans.retrieval import decide as decide_lib
from embtrans.retrieval import eval_decisions
from embtrans.retrieval import eval_filters
from embtrans.retrieval import eval_permission
from embtrans.retrieval import filters
from embtrans.retrieval import summaries

SOURCES = ("exact", "hnsw")
VAL_SEED = 10_000  # the validation draw's seed, apart from the test seeds


def _positive_ints(name: str, values: Any) -> None:
  values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
  if not values or not all(isinstance(v, int) and not isinstance(v, bool)
                           and v >= 1 for v in values):
    raise ValueError(f"config.{name} must hold positive ints, got {values!r}.")


def check_config(c: Any) -> None:
  """Raises ValueError on a bad config, before anything is built or written."""
  _positive_ints("k", c.k)
  _positive_ints("filters.num_queries", c.filters.num_queries)
  _positive_ints("filters.overfetch", c.filters.overfetch)
  _positive_ints("filters.ef_search", c.filters.ef_search)
  _positive_ints("decision.sweep", c.decision.sweep)
  _positive_ints("permission.queries", c.permission.queries)
  if not c.seeds:
    raise ValueError("config.seeds is empty; give at least one (3 or more "
                     "for intervals).")
  bad = [s for s in c.filters.selectivities if not 0 < s <= 1]
  if bad or not c.filters.selectivities:
    raise ValueError(f"config.filters.selectivities must be in (0, 1], got "
                     f"{tuple(c.filters.selectivities)}.")
  unknown = set(c.filters.postfilter_sources) - set(SOURCES)
  if unknown:
    raise ValueError(f"Unknown postfilter source(s) {sorted(unknown)}; known:"
                     f" {list(SOURCES)}.")
  if c.translator.name not in baselines.BASELINES:
    raise ValueError(f"Unknown translator {c.translator.name!r}; known: "
                     f"{sorted(baselines.BASELINES)}.")
  if c.decision.headline not in c.decision.rules:
    raise ValueError(f"config.decision.headline {c.decision.headline!r} is "
                     f"not a rule; rules: {sorted(c.decision.rules)}.")
  if not 0 < c.decision.query_fraction <= 1:
    raise ValueError("config.decision.query_fraction must be in (0, 1].")
  for spec in (c.data.index, *c.data.query_spaces):
    build_lib.check_dataset_spec(spec, c.data.cache_dir or None)
  try:
    import chromadb  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as e:
    raise ValueError("ChromaDB is not installed; the experiment indexes into"
                     " it: pip install -e '.[chroma]'.") from e


def space_name(spec: str, ds: Any) -> str:
  """An encoder name as given; a dataset directory by its dataset name."""
  return ds.name if os.sep in spec or pathlib.Path(spec).is_dir() else spec


def _open(c: Any) -> tuple[Any, dict[str, Any]]:
  """The index dataset and {space name: dataset} of the query spaces."""
  def resolve(spec):
    return build_lib.resolve_dataset(spec, c.data.source, c.data.limit or None,
                                     c.data.cache_dir or None)
  index_ds = resolve(c.data.index)
  spaces = {}
  for spec in c.data.query_spaces:
    ds = index_ds if spec == c.data.index else resolve(spec)
    spaces[space_name(spec, ds)] = ds
  return index_ds, spaces


def _write_rows(path: pathlib.Path, rows: list[dict[str, Any]]) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _sample(queries: corpus.Queries, n: int, seed: int) -> corpus.Queries:
  rng = np.random.default_rng(seed)
  pick = np.sort(rng.permutation(len(queries))[:n])
  return corpus.Queries(queries.ids[pick], queries.targets[pick])


def _run_filters(c: Any, task: corpus.Task, index_ds: Any,
                 exact: cands_lib.ExactIndex, hnsw: dict[int, Any],
                 access: filters.Access) -> list[dict[str, Any]]:
  """The filtered-search benchmark: one validation draw, then test seeds."""
  sources = {"exact": exact, "hnsw": hnsw[c.chroma.ef_search]}
  sources = {k: v for k, v in sources.items()
             if k in c.filters.postfilter_sources}
  where = {ef: hnsw[ef] for ef in sorted(set(c.filters.ef_search))}
  rows = []
  for split, seed in [("val", VAL_SEED)] + [("test", s) for s in c.seeds]:
    qs = _sample(getattr(task, split), c.filters.num_queries, seed)
    vectors, _ = corpus.query_vectors(index_ds, index_ds, qs.ids)
    start = time.perf_counter()
    draw = eval_filters.run_draw(
        task.catalog, exact, where, sources, vectors, access, c.k,
        tuple(c.filters.selectivities), tuple(c.filters.overfetch),
        np.random.default_rng(seed))
    logging.info("Filter draw %s/%d: %d queries in %.0f s.", split, seed,
                 len(qs), time.perf_counter() - start)
    rows += [{"split": split, "seed": seed, **r} for r in draw]
  return rows


def _run_permission(c: Any, task: corpus.Task, index_ds: Any,
                    workdir: pathlib.Path, access: filters.Access
                    ) -> list[dict[str, Any]]:
  qs = _sample(task.test, c.permission.queries, c.seeds[0])
  vectors, _ = corpus.query_vectors(index_ds, index_ds, qs.ids)
  r = c.decision.rules[c.decision.headline]
  return eval_permission.run(
      task.catalog, vectors, qs.targets, workdir / "chroma", access, c.k,
      c.permission.overfetch, decide_lib.Rule(tuple(r.hard), tuple(r.rank)),
      c.permission.noise, c.seeds[0], dict(c.chroma))


def _check_rules(c: Any, task: corpus.Task) -> None:
  for name, r in c.decision.rules.items():
    for a in (*r.hard, *r.rank):
      if a not in task.catalog.schema:
        raise ValueError(f"Decision rule {name!r} uses unknown attribute "
                         f"{a!r}; known attributes: "
                         f"{sorted(task.catalog.schema)}.")


def _meta(c: Any, task: corpus.Task, index_ds: Any, spaces: dict[str, Any],
          decision_rows: list[dict[str, Any]]) -> dict[str, Any]:
  import chromadb  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  fit = {r["space"]: r["fit_pairs"] for r in decision_rows}
  return {
      "index_space": space_name(c.data.index, index_ds),
      "index_dim": index_ds.dim, "index_dataset": index_ds.name,
      "items": len(task.catalog),
      "kind_from": "column" if "kind" in index_ds.column_names else (
          "syntax tree"),
      "spaces": {k: {"dataset": v.name, "dim": v.dim,
                     "translated": v.path != index_ds.path,
                     "fit_pairs": fit.get(k, 0)} for k, v in spaces.items()},
      "val_queries": len(task.val), "test_queries": len(task.test),
      "test_namesake_queries": int(task.namesake[task.test.targets].sum()),
      "namesake_items": int(task.namesake.sum()),
      "kinds": {k: int(v) for k, v in zip(*np.unique(
          task.catalog.attributes["kind"], return_counts=True))},
      "modules": int(len(set(task.catalog.attributes["module"].tolist()))),
      "k": c.k, "seeds": list(c.seeds), "translator": c.translator.name,
      "filters": c.filters.to_dict(), "decision": {
          k: v for k, v in c.decision.to_dict().items() if k != "rules"},
      "rules": {k: {"hard": list(v.hard), "rank": list(v.rank)}
                for k, v in c.decision.rules.items()},
      "chroma": c.chroma.to_dict(), "permission": c.permission.to_dict(),
      "alignment_negatives": c.alignment.negatives,
      "cpus": os.cpu_count(), "jax": jax.__version__,
      "jax_platform": jax.devices()[0].platform,
      "chromadb": chromadb.__version__}


def _gains(decision_rows: list[dict[str, Any]], c: Any) -> list[dict[str, Any]]:
  """Per seed: headline two-stage accuracy minus embedding-only (paired)."""
  out = []
  for r in decision_rows:
    if (r["method"], r["rule"], r["K"]) != (
        "postfilter", c.decision.headline, c.decision.candidates):
      continue
    base = summaries.one(decision_rows, seed=r["seed"], space=r["space"],
                         subset=r["subset"], method="embedding_only")
    out.append({"seed": r["seed"], "space": r["space"],
                "subset": r["subset"],
                "gain": r["accuracy"] - base["accuracy"],
                "two_stage": r["accuracy"],
                "embedding_only": base["accuracy"]})
  return summaries.aggregate(out, ("space", "subset"),
                             ("gain", "two_stage", "embedding_only"),
                             bounded=("two_stage", "embedding_only"))


def summarize(rows: dict[str, list[dict[str, Any]]], c: Any,
              meta: dict[str, Any]) -> dict[str, Any]:
  """The tables the report reads (see module doc)."""
  test = [r for r in rows["filters"] if r["split"] == "test"]
  val = [r for r in rows["filters"] if r["split"] == "val"]
  filt = summaries.aggregate(
      test, ("path", "source", "knob", "selectivity"),
      ("recall", "short", "underfilled", "latency_ms", "latency_p50_ms", "qps",
       "passing", "dropped"), bounded=("recall", "short", "underfilled"))
  return {
      "meta": meta, "filters": filt,
      "at_target": eval_filters.at_target(val, filt,
                                          c.filters.target_recall),
      "decisions": summaries.aggregate(
          rows["decisions"], ("space", "method", "rule", "K", "subset"),
          ("accuracy", "queries"), bounded=("accuracy",)),
      "gains": _gains(rows["decisions"], c),
      "alignment": summaries.aggregate(rows["alignment"],
                                       ("space", "negatives"),
                                       ("accuracy", "queries"),
                                       bounded=("accuracy",)),
      "permission": rows["permission"]}


def flat(summary: dict[str, Any]) -> dict[str, float]:
  """summary.json's tables as flat keys, e.g.
  `filters/prefilter/exact/knob=0/s=0.01/recall`."""
  names = {"filters": ("path", "source", "knob", "selectivity"),
           "decisions": ("space", "method", "rule", "K", "subset"),
           "gains": ("space", "subset"), "alignment": ("space", "negatives"),
           "permission": ("path", "filter")}
  out = {}
  for table, factors in names.items():
    for r in summary[table]:
      prefix = "/".join([table] + [
          f"{f}={r[f]}" if f in ("knob", "selectivity", "K") else str(r[f])
          for f in factors])
      out.update({f"{prefix}/{k}": v for k, v in r.items()
                  if k not in factors and isinstance(v, (int, float))})
  return out


def evaluate(config: Any, workdir: str | os.PathLike,
             report_dir: str | os.PathLike | None = None) -> dict[str, Any]:
  """Runs the experiment (module doc), writes the report (tables, plots,
  README) into report_dir (default workdir/report); returns the summary."""
  from embtrans.retrieval import report  # pylint: disable=g-import-not-at-top
  check_config(config)
  c, workdir = config, pathlib.Path(workdir)
  start, load_start = time.time(), os.getloadavg()[0]
  index_ds, spaces = _open(c)
  task = corpus.build_task(index_ds, c.data.tenant, c.data.val_fraction)
  _check_rules(c, task)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "config.json").write_text(c.to_json_best_effort(indent=2))
  access = filters.Access(c.data.tenant)
  timing = {"data_s": time.time() - start}
  t = time.time()
  exact = cands_lib.ExactIndex(task.catalog)
  hnsw = {ef: cands_lib.ChromaIndex(
      task.catalog, workdir / "chroma", f"items-ef{ef}",
      **{**c.chroma.to_dict(), "ef_search": ef})
          for ef in sorted({*c.filters.ef_search, c.chroma.ef_search})}
  timing["index_s"] = time.time() - t
  rows = {}
  t = time.time()
  rows["filters"] = _run_filters(c, task, index_ds, exact, hnsw, access)
  timing["filters_s"], t = time.time() - t, time.time()
  rows["decisions"], rows["alignment"] = [], []
  for seed in c.seeds:
    d, a = eval_decisions.run_seed(task, index_ds, spaces, exact,
                                   hnsw[c.chroma.ef_search], access, c, seed)
    rows["decisions"] += d
    rows["alignment"] += a
  timing["decisions_s"], t = time.time() - t, time.time()
  rows["permission"] = _run_permission(c, task, index_ds, workdir, access)
  timing["permission_s"] = time.time() - t
  for name, r in rows.items():
    _write_rows(workdir / "rows" / f"{name}.jsonl", r)
  meta = _meta(c, task, index_ds, spaces, rows["decisions"])
  meta.update(timing=timing, wall_s=time.time() - start,
              load_avg_start=load_start, load_avg_end=os.getloadavg()[0])
  summary = summarize(rows, c, meta)
  (workdir / "summary.json").write_text(json.dumps(summary, indent=1))
  (workdir / "results.json").write_text(json.dumps(flat(summary), indent=1,
                                                   sort_keys=True))
  report.write(summary, pathlib.Path(report_dir or workdir / "report"))
  return summary
