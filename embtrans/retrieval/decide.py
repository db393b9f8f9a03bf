"""Stage 2: decide among candidates on exact attributes, not on similarity.

    rule = Rule(hard=("module", "kind"), rank=("name",))
    d = decide(catalog, result, {"module": "gzip", "kind": "method",
                                 "name": "read"}, rule)
    d.row          # the chosen catalog row, -1 when none qualifies
    d.similarity   # kept for telemetry (e.g. a low best score), not a verdict

Candidates that differ from the query on a `hard` attribute are dropped; the
rest are ordered by how they match the `rank` attributes (the first one
first, as a lexicographic key), and the cosine similarity only breaks ties
among candidates that match equally.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from embtrans.retrieval import filters
from embtrans.retrieval.catalog import Catalog
from embtrans.retrieval.paths import Result


@dataclasses.dataclass(frozen=True)
class Rule:
  """hard: attributes that must equal the query's; rank: exact-match order."""

  hard: tuple[str, ...] = ()
  rank: tuple[str, ...] = ()

  def check(self, schema: filters.Schema, query: Mapping[str, Any]) -> None:
    """Raises ValueError: unknown attribute, missing or wrong-type value."""
    for name in (*self.hard, *self.rank):
      if name not in query:
        raise ValueError(f"The query gives no value for {name!r}, which the "
                         f"decision rule uses; it gives {sorted(query)}.")
      filters.Eq(name, query[name]).check(schema)

  def constraints(self, query: Mapping[str, Any]) -> filters.Filter:
    """The hard attributes as a Filter (to push into stage 1)."""
    return filters.Filter.of(*(filters.Eq(a, query[a]) for a in self.hard))


@dataclasses.dataclass(frozen=True)
class Decision:
  """The chosen item (row -1: none), its similarity and matched attributes."""

  row: int
  similarity: float
  matched: tuple[str, ...]
  candidates: int
  qualified: int
  reason: str = ""


def decide(catalog: Catalog, result: Result, query: Mapping[str, Any],
           rule: Rule) -> Decision:
  """Picks among `result`'s (already permitted) rows by `rule`."""
  rule.check(catalog.schema, query)
  rows, sims = result.rows, result.scores
  ok = np.ones(len(rows), bool)
  for a in rule.hard:
    ok &= catalog.attributes[a][rows] == query[a]
  if not ok.any():
    why = result.reason or (
        f"none of the {len(rows)} candidates has "
        f"{rule.constraints(query)}.")
    return Decision(-1, float("nan"), (), len(rows), 0, why)
  rows, sims = rows[ok], sims[ok]
  matches = [catalog.attributes[a][rows] == query[a] for a in rule.rank]
  # np.lexsort sorts by its last key first: rank[0], rank[1], ...,
  # similarity, then the earlier candidate.
  order = -np.arange(len(rows))
  best = np.lexsort([order, sims, *reversed(matches)])[-1]
  matched = tuple(a for a, m in zip(rule.rank, matches) if m[best])
  return Decision(int(rows[best]), float(sims[best]), matched,
                  len(result.rows), int(ok.sum()))
