"""Permission audit: near-copies of the queries planted in another tenant.

For each audited query, a copy of its vector nudged by Gaussian noise (so its
cosine to the query stays near 1) is added under tenant `intruder`, with every
other attribute copied from the query's right item, so that only the tenant
tells it apart. Every path then runs for the caller's tenant, with no filter
and with the decision rule's hard constraints; a returned planted item is a
leak. As a control, the exact search with access to both tenants shows how
often a plant is the most similar item of all.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from embtrans.retrieval import candidates as cands_lib
from embtrans.retrieval import decide as decide_lib
from embtrans.retrieval import filters
from embtrans.retrieval import paths
from embtrans.retrieval.catalog import Catalog

PLANTED_TENANT = "intruder"


def plant(catalog: Catalog, vectors: np.ndarray, targets: np.ndarray,
          noise: float, rng: np.random.Generator) -> Catalog:
  """The catalog plus one near-copy of each query (see module doc)."""
  q = cands_lib.check_queries(vectors, catalog)
  copies = q + noise * rng.standard_normal(q.shape).astype(np.float32) / (
      np.sqrt(q.shape[1]))
  attrs = {k: [v[t].item() for t in targets]
           for k, v in catalog.attributes.items()}
  attrs[filters.TENANT] = [PLANTED_TENANT] * len(targets)
  ids = [f"planted:{i}:{catalog.ids[t]}" for i, t in enumerate(targets)]
  return catalog.extended(ids, copies, attrs)


def _leaks(catalog: Catalog, results: Sequence[paths.Result],
           access: filters.Access) -> tuple[int, int]:
  """(returned items, returned items of a tenant `access` does not hold)."""
  rows = np.concatenate([r.rows for r in results] + [np.zeros(0, np.int64)])
  tenants = catalog.attributes[filters.TENANT][rows]
  return len(rows), int((~np.isin(tenants, list(access.tenants))).sum())


def run(catalog: Catalog, vectors: np.ndarray, targets: np.ndarray,
        db_path: str | os.PathLike, access: filters.Access, k: int,
        overfetch: int, rule: decide_lib.Rule, noise: float, seed: int,
        chroma_kwargs: dict[str, Any]) -> list[dict[str, Any]]:
  """One row per path and filter: returned items and leaks (must be 0)."""
  rng = np.random.default_rng(seed)
  audited = plant(catalog, vectors, targets, noise, rng)
  exact = cands_lib.ExactIndex(audited)
  hnsw = cands_lib.ChromaIndex(audited, db_path, "permission-audit",
                               **chroma_kwargs)
  hard = [rule.constraints(catalog.row(int(t))) for t in targets]
  runs = {}
  for fname, f in (("none", filters.Filter()), ("hard", hard)):
    runs[("prefilter", fname)] = paths.prefilter(exact, vectors, k, access, f)
    runs[("chroma_where", fname)] = paths.chroma_where(hnsw, vectors, k,
                                                       access, f)
    for name, index in (("exact", exact), ("hnsw", hnsw)):
      for factor in sorted({1, overfetch}):
        runs[(f"postfilter_{name}_x{factor}", fname)] = paths.postfilter(
            index, vectors, k, access, f, factor)
  out = []
  for (path, fname), results in runs.items():
    returned, leaks = _leaks(audited, results, access)
    out.append({"path": path, "filter": fname, "queries": len(results),
                "returned": returned, "leaks": leaks,
                "dropped": int(sum(r.dropped for r in results))})
  stage1 = paths.prefilter(exact, vectors, k * overfetch, access)
  decided = [decide_lib.decide(audited, r, catalog.row(int(t)), rule)
             for r, t in zip(stage1, targets)]
  tenants = audited.attributes[filters.TENANT]
  out.append({"path": "decision", "filter": "rule", "queries": len(decided),
              "returned": sum(d.row >= 0 for d in decided),
              "leaks": sum(d.row >= 0 and tenants[d.row] not in access.tenants
                           for d in decided), "dropped": 0})
  both = filters.Access(*access.tenants, PLANTED_TENANT)
  top1 = paths.prefilter(exact, vectors, 1, both)
  planted = np.arange(len(catalog), len(audited))
  out.append({"path": "control_no_permission", "filter": "none",
              "queries": len(top1), "returned": len(top1),
              "leaks": int(sum(r.rows[0] == p for r, p in zip(top1, planted))),
              "dropped": 0})
  return out
