"""Filtered search measured as filtered-ANN benchmarks measure it.

For each draw (a seed and a query split) some queries are sampled, and each
query gets, per selectivity s, its own range filter `lo <= bucket < lo + w`
on the uniform `bucket` attribute (w = s * 1000 buckets, lo drawn at random;
s = 1 means no filter), on top of the tenant filter. Ground truth is the
exact top-k (float64 NumPy) among the items that pass. A returned item counts
as correct when its true similarity is at least the k-th true similarity
minus 1e-6 (so exact ties do not count as misses); Recall@k is correct
items / min(k, passing items), over queries with at least one passing item.

Every call is a single query, timed with a wall clock around the whole path
(host filter, search, host-side permission check), interleaved query by
query across paths so that a change of machine load hits every path alike.
Search-then-filter runs its unfiltered search once per query and factor
(the candidates do not depend on the filter), and its latency is that
search's time plus the filtering time of the selectivity at hand.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from embtrans.retrieval import candidates as cands_lib
from embtrans.retrieval import filters
from embtrans.retrieval import paths
from embtrans.retrieval.catalog import Catalog
from embtrans.retrieval.corpus import BUCKETS

EPS = 1e-6


def draw_filters(rng: np.random.Generator, n: int,
                 selectivities: Sequence[float]
                 ) -> dict[float, list[filters.Filter]]:
  """Per selectivity, one random bucket range per query."""
  out = {}
  for s in selectivities:
    width = max(1, int(round(BUCKETS * s)))
    if width >= BUCKETS:
      out[s] = [filters.Filter()] * n
      continue
    lo = rng.integers(0, BUCKETS - width + 1, size=n)
    out[s] = [filters.Filter.of(filters.Range("bucket", int(a), int(a) +
                                              width)) for a in lo]
  return out


def recall(rows: np.ndarray, sims: np.ndarray, allowed: np.ndarray,
           k: int) -> float:
  """Recall@k of `rows` against the exact top-k of the allowed items.

  sims: [n] true similarities (float64); NaN when nothing is allowed.
  """
  passing = sims[allowed]
  if not len(passing):
    return float("nan")
  g = min(k, len(passing))
  kth = np.partition(passing, len(passing) - g)[len(passing) - g]
  ok = allowed[rows] & (sims[rows] >= kth - EPS)
  return min(int(ok.sum()), g) / g


def _timed(fn, *args, **kwargs) -> tuple[Any, float]:
  start = time.perf_counter()
  out = fn(*args, **kwargs)
  return out, (time.perf_counter() - start) * 1e3


def _finite_mean(values: Sequence[float]) -> float:
  """Mean over queries that had a passing item (NaN when none had)."""
  v = np.asarray(values, np.float64)
  v = v[np.isfinite(v)]
  return float(v.mean()) if len(v) else float("nan")


class _Tally:
  """Per-query measurements keyed by (path, source, knob, selectivity)."""

  def __init__(self):
    self.cells: dict[tuple, dict[str, list]] = {}

  def add(self, key: tuple, result: paths.Result, r: float, ms: float,
          k: int) -> None:
    cell = self.cells.setdefault(key, {"recall": [], "ms": [], "short": [],
                                       "underfilled": [], "passing": [],
                                       "dropped": []})
    cell["recall"].append(r)
    cell["ms"].append(ms)
    cell["short"].append(len(result.rows) < k)
    cell["underfilled"].append(len(result.rows) < min(k, result.passing))
    cell["passing"].append(result.passing)
    cell["dropped"].append(result.dropped)

  def rows(self, **common: Any) -> list[dict[str, Any]]:
    out = []
    for (path, source, knob, s), c in self.cells.items():
      ms = np.asarray(c["ms"])
      out.append({**common, "path": path, "source": source, "knob": knob,
                  "selectivity": s, "recall": _finite_mean(c["recall"]),
                  "short": float(np.mean(c["short"])),
                  "underfilled": float(np.mean(c["underfilled"])),
                  "passing": float(np.mean(c["passing"])),
                  "dropped": int(np.sum(c["dropped"])),
                  "latency_ms": float(ms.mean()),
                  "latency_p50_ms": float(np.median(ms)),
                  "qps": float(1e3 / ms.mean()), "queries": len(ms)})
    return out


def _warm_up(exact: cands_lib.ExactIndex,
             hnsw: Mapping[int, cands_lib.ChromaIndex],
             sources: Mapping[str, Any], q: np.ndarray, k: int,
             overfetch: Sequence[int], access: filters.Access) -> None:
  """Compiles the exact kernels and loads every HNSW index once."""
  paths.prefilter(exact, q, k, access)
  for index in hnsw.values():
    paths.chroma_where(index, q, k, access)
  for index in sources.values():
    for f in overfetch:
      index.search(q, k * f)


def run_draw(catalog: Catalog, exact: cands_lib.ExactIndex,
             hnsw: Mapping[int, cands_lib.ChromaIndex],
             sources: Mapping[str, Any], queries: np.ndarray,
             access: filters.Access, k: int, selectivities: Sequence[float],
             overfetch: Sequence[int], rng: np.random.Generator
             ) -> list[dict[str, Any]]:
  """All paths on one sample of queries: one row per path, knob and s.

  hnsw: ef_search -> ChromaDB index (the `where` path); sources: name ->
  index whose unfiltered top k * factor feeds search-then-filter.
  """
  queries = cands_lib.check_queries(queries, catalog)
  fs = draw_filters(rng, len(queries), selectivities)
  vectors = catalog.vectors.astype(np.float64)
  _warm_up(exact, hnsw, sources, queries[:1], k, overfetch, access)
  tally = _Tally()
  for i, q in enumerate(queries):
    sims = vectors @ q.astype(np.float64)
    allowed = {s: paths.allowed_masks(catalog, access, [fs[s][i]])[0]
               for s in selectivities}
    for s in selectivities:
      res, ms = _timed(paths.prefilter, exact, q, k, access, fs[s][i])
      tally.add(("prefilter", "exact", 0, s), res[0],
                recall(res[0].rows, sims, allowed[s], k), ms, k)
      for ef, index in hnsw.items():
        res, ms = _timed(paths.chroma_where, index, q, k, access, fs[s][i])
        tally.add(("chroma_where", "hnsw", ef, s), res[0],
                  recall(res[0].rows, sims, allowed[s], k), ms, k)
    for name, index in sources.items():
      for factor in overfetch:
        c, search_ms = _timed(index.search, q, k * factor)
        for s in selectivities:
          mask, filter_ms = _timed(paths.allowed_masks, catalog, access,
                                   [fs[s][i]])
          rows, scores, _ = paths.keep_allowed(c.rows[0], c.scores[0],
                                               mask[0], k)
          res = paths.Result(rows, scores, passing=int(mask[0].sum()))
          tally.add(("postfilter", name, factor, s), res,
                    recall(rows, sims, allowed[s], k), search_ms + filter_ms,
                    k)
  return tally.rows()


def at_target(val: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]],
              target: float) -> list[dict[str, Any]]:
  """Per path, source and selectivity: the cheapest knob whose validation
  recall reaches `target`, with its test recall and queries/s.

  test: aggregated rows (summaries.aggregate). Knobs are ordered by cost
  (over-fetch factor, ef_search). A cell no knob brings to the target gets
  knob None.
  """
  cells: dict[tuple, list[dict[str, Any]]] = {}
  for r in val:
    cells.setdefault((r["path"], r["source"], r["selectivity"]), []).append(r)
  out = []
  for (path, source, s), rows in cells.items():
    ok = [r for r in sorted(rows, key=lambda r: r["knob"])
          if r["recall"] >= target]
    row = {"path": path, "source": source, "selectivity": s, "knob": None,
           "val_recall": max(r["recall"] for r in rows)}
    if ok:
      knob = ok[0]["knob"]
      t = next(r for r in test if (r["path"], r["source"], r["knob"],
                                   r["selectivity"]) == (path, source, knob, s))
      row.update({k: v for k, v in t.items() if k.startswith(
          ("recall", "qps", "latency_ms"))}, knob=knob,
                 val_recall=ok[0]["recall"])
    out.append(row)
  return out
