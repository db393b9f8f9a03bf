"""Three ways to apply a filter, each returning at most k permitted items.

    prefilter(exact, q, k, access, f)                # filter, then exact search
    postfilter(index, q, k, access, f, overfetch=8)  # search k * 8, then filter
    chroma_where(hnsw, q, k, access, f)              # `where` inside HNSW search

`f` is one Filter for all queries or a sequence with one per query. The
access filter (tenant / permission) is part of every search and is checked
again on the host against the catalog before anything is returned, so an item
of another tenant never comes back through any path, whatever its
similarity. A query that gets fewer than k items gets a `reason` saying why;
an empty result is a result, not an error.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from embtrans.retrieval import candidates as cands_lib
from embtrans.retrieval import filters
from embtrans.retrieval.catalog import Catalog

PATHS = ("prefilter", "postfilter", "chroma_where")


@dataclasses.dataclass(frozen=True)
class Result:
  """One query's answer.

  Attributes:
    rows: [m <= k] catalog rows, most similar first.
    scores: [m] cosine similarities (telemetry).
    reason: why m < k ('' when m == k).
    passing: how many catalog items pass the access filter and the filter.
    dropped: items the index returned that failed the host-side check (for
      ChromaDB: should be 0; counted, never returned).
  """

  rows: np.ndarray
  scores: np.ndarray
  reason: str = ""
  passing: int = 0
  dropped: int = 0


def per_query(f: filters.Filter | Sequence[filters.Filter],
              n: int) -> list[filters.Filter]:
  """One Filter per query."""
  if isinstance(f, filters.Filter):
    return [f] * n
  f = list(f)
  if len(f) != n or not all(isinstance(x, filters.Filter) for x in f):
    raise ValueError(f"Pass one Filter for all queries or a list of {n} "
                     f"Filters (one per query); got {len(f)} item(s).")
  return f


def allowed_masks(catalog: Catalog, access: filters.Access,
                  fs: Sequence[filters.Filter]) -> np.ndarray:
  """[q, n] bool: the items each query may get (access and its filter).

  Checks every filter against the schema before anything is searched.
  """
  if not isinstance(access, filters.Access):
    raise ValueError(f"access must be a filters.Access (the tenants the "
                     f"caller may see), got {type(access).__name__}.")
  base = catalog.mask(access.filter())
  cache = {}  # by identity: a Filter shared by all queries is checked once
  for f in fs:
    if id(f) not in cache:
      cache[id(f)] = base & catalog.mask(f)
  return np.stack([cache[id(f)] for f in fs])


def keep_allowed(rows: np.ndarray, scores: np.ndarray, allowed: np.ndarray,
                 k: int) -> tuple[np.ndarray, np.ndarray, int]:
  """The first k of rows: [m] (-1 = none) that `allowed: [n]` lets through.

  Returns (rows, scores, dropped): dropped counts found rows that failed.
  """
  found = rows >= 0
  ok = found.copy()
  ok[found] = allowed[rows[found]]
  return rows[ok][:k], scores[ok][:k], int(found.sum() - ok.sum())


def _describe(access: filters.Access, f: filters.Filter) -> str:
  return f"{access} and {f}" if f.clauses else str(access)


def _why(m: int, k: int, passing: int, n: int, what: str,
         short_of_passing: str = "") -> str:
  """Why a query got m < k results ('' when it got k).

  `short_of_passing` explains m below the `passing` items that exist (a
  path that can miss some); without it, fewer passing items is the reason.
  """
  if m >= k:
    return ""
  if passing == 0:
    return f"No item passes {what} (0 of {n} items)."
  if m >= passing or not short_of_passing:
    return f"Only {passing} of {n} items pass {what}."
  return short_of_passing


def _checked(index, queries: Any, k: int, access: filters.Access,
             f: filters.Filter | Sequence[filters.Filter]):
  """-> (catalog, queries [q, d], k, a Filter per query, allowed [q, n]),
  every argument checked before anything is searched."""
  cat = index.catalog
  q = cands_lib.check_queries(queries, cat)
  k = cands_lib.check_k(k)
  fs = per_query(f, len(q))
  return cat, q, k, fs, allowed_masks(cat, access, fs)


def prefilter(index: cands_lib.ExactIndex, queries: Any, k: int,
              access: filters.Access,
              f: filters.Filter | Sequence[filters.Filter] = filters.Filter()
              ) -> list[Result]:
  """Filter first, then the exact top-k among the items that pass."""
  cat, q, k, fs, allowed = _checked(index, queries, k, access, f)
  shared = all(x is fs[0] for x in fs)
  c = index.search(q, k, allowed[:1] if shared else allowed)
  out = []
  for i, fi in enumerate(fs):
    rows, scores, _ = keep_allowed(c.rows[i], c.scores[i], allowed[i], k)
    passing = int(allowed[i].sum())
    out.append(Result(rows, scores, _why(
        len(rows), k, passing, len(cat), _describe(access, fi)), passing))
  return out


def postfilter(index: cands_lib.ExactIndex | cands_lib.ChromaIndex,
               queries: Any, k: int, access: filters.Access,
               f: filters.Filter | Sequence[filters.Filter] = filters.Filter(),
               overfetch: int = 1) -> list[Result]:
  """Search k * overfetch unfiltered candidates, then keep those that pass."""
  overfetch = cands_lib.check_k(overfetch, "overfetch")
  cat, q, k, fs, allowed = _checked(index, queries, k, access, f)
  c = index.search(q, k * overfetch)
  out = []
  for i, fi in enumerate(fs):
    rows, scores, _ = keep_allowed(c.rows[i], c.scores[i], allowed[i], k)
    passing, what = int(allowed[i].sum()), _describe(access, fi)
    out.append(Result(rows, scores, _why(
        len(rows), k, passing, len(cat), what,
        f"Only {len(rows)} of the {c.rows.shape[1]} nearest candidates pass "
        f"{what} ({passing} of {len(cat)} items pass in all); raise the "
        f"over-fetch factor (now {overfetch})."), passing))
  return out


def chroma_where(index: cands_lib.ChromaIndex, queries: Any, k: int,
                 access: filters.Access,
                 f: filters.Filter | Sequence[filters.Filter] = filters.Filter()
                 ) -> list[Result]:
  """ChromaDB's `where` (access and filter) applied during its HNSW search."""
  cat, q, k, fs, allowed = _checked(index, queries, k, access, f)
  out = []
  for i, fi in enumerate(fs):
    c = index.search(q[i:i + 1], k, (access.filter() & fi).where())
    rows, scores, dropped = keep_allowed(c.rows[0], c.scores[0], allowed[i],
                                         k)
    passing, what = int(allowed[i].sum()), _describe(access, fi)
    out.append(Result(rows, scores, _why(
        len(rows), k, passing, len(cat), what,
        f"ChromaDB's filtered graph search returned {len(rows)} of the "
        f"{min(k, passing)} items that pass {what}."), passing, dropped))
  return out
