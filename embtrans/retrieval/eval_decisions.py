"""Decision accuracy (the exact item) and alignment accuracy on the task.

Per seed, a fraction of the test queries is drawn and, for each query space,
the queries are put into the index space (natively, or by a closed-form
translator refitted with that seed; see corpus.query_vectors). Methods:

* embedding_only: the most similar permitted item.
* postfilter: stage 1 the K most similar permitted items (exact search),
  stage 2 `decide` with the rule (hard attributes, then exact-match rank,
  similarity only to break ties); K swept.
* prefilter / chroma_where: the rule's hard attributes pushed into stage 1
  (filter then exact search, or ChromaDB's `where`), K items, then `decide`.

Alignment accuracy (embtrans.metrics.alignment_accuracy): the query beats
every negative when its similarity to the right item is strictly above its
similarity to each negative; negatives are the item's namesakes (same name
and kind, another module; the first m, repeated when fewer) or m random
other items.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from embtrans import metrics
from embtrans.retrieval import candidates as cands_lib
from embtrans.retrieval import corpus
from embtrans.retrieval import decide as decide_lib
from embtrans.retrieval import filters
from embtrans.retrieval import paths
from embtrans.retrieval.catalog import Catalog


def _decide_all(catalog: Catalog, results: Sequence[paths.Result],
                targets: np.ndarray, rule: decide_lib.Rule,
                k: int | None = None) -> np.ndarray:
  """[q] bool: the decision (on the first k rows of each result) is right."""
  out = []
  for res, t in zip(results, targets):
    if k is not None:
      res = paths.Result(res.rows[:k], res.scores[:k], res.reason,
                         res.passing)
    d = decide_lib.decide(catalog, res, catalog.row(int(t)), rule)
    out.append(d.row == t)
  return np.asarray(out, bool)


def decision_correct(catalog: Catalog, exact: cands_lib.ExactIndex,
                     hnsw: cands_lib.ChromaIndex | None, vectors: np.ndarray,
                     targets: np.ndarray, access: filters.Access,
                     rules: Mapping[str, decide_lib.Rule], headline: str,
                     k: int, sweep: Sequence[int]
                     ) -> dict[tuple[str, str, int], np.ndarray]:
  """(method, rule, K) -> [q] bool, for every method of the module doc."""
  out = {("embedding_only", "-", 1): np.asarray(
      [r.rows[0] == t if len(r.rows) else False for r, t in zip(
          paths.prefilter(exact, vectors, 1, access), targets)])}
  stage1 = paths.prefilter(exact, vectors, max(max(sweep), k), access)
  for name, rule in rules.items():
    for kk in sorted(set(sweep) | {k}):
      out[("postfilter", name, kk)] = _decide_all(catalog, stage1, targets,
                                                   rule, kk)
    hard = [rule.constraints(catalog.row(int(t))) for t in targets]
    out[("prefilter", name, k)] = _decide_all(
        catalog, paths.prefilter(exact, vectors, k, access, hard), targets,
        rule)
    if hnsw is not None and name == headline:
      out[("chroma_where", name, k)] = _decide_all(
          catalog, paths.chroma_where(hnsw, vectors, k, access, hard),
          targets, rule)
  return out


def _namesake_rows(catalog: Catalog) -> dict[tuple[str, str], np.ndarray]:
  groups: dict[tuple[str, str], list[int]] = {}
  for r, key in enumerate(zip(catalog.attributes["name"].tolist(),
                              catalog.attributes["kind"].tolist())):
    groups.setdefault(key, []).append(r)
  return {k: np.asarray(v) for k, v in groups.items()}


def negatives(catalog: Catalog, targets: np.ndarray, m: int, hard: bool,
              rng: np.random.Generator) -> np.ndarray:
  """[q, m] catalog rows: namesakes in other modules, or random others."""
  if not hard:
    out = rng.integers(0, len(catalog) - 1, size=(len(targets), m))
    return out + (out >= targets[:, None])  # skips each row's own target
  groups = _namesake_rows(catalog)
  a = catalog.attributes
  out = []
  for t in targets:
    rows = groups[(a["name"][t], a["kind"][t])]
    rows = rows[a["module"][rows] != a["module"][t]]
    if not len(rows):
      raise ValueError(f"Item {catalog.ids[t]} has no namesake in another "
                       "module; pass only namesake targets.")
    out.append(np.resize(rows, m))
  return np.asarray(out, np.int64)


def alignment(catalog: Catalog, vectors: np.ndarray, targets: np.ndarray,
              m: int, hard: bool, rng: np.random.Generator) -> float:
  """Share of queries whose item beats all m negatives (see module doc)."""
  neg = negatives(catalog, targets, m, hard, rng)
  return float(metrics.alignment_accuracy(
      vectors, catalog.vectors[targets], catalog.vectors[neg]))


def run_seed(task: corpus.Task, index_ds: Any, spaces: Mapping[str, Any],
             exact: cands_lib.ExactIndex, hnsw: cands_lib.ChromaIndex | None,
             access: filters.Access, c: Any, seed: int
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
  """Decision rows and alignment rows of one seed (c: the config)."""
  rng = np.random.default_rng(seed)
  n = len(task.test)
  pick = np.sort(rng.permutation(n)[:max(1, int(n * c.decision.query_fraction))])
  ids, targets = task.test.ids[pick], task.test.targets[pick]
  namesake = task.namesake[targets]
  rules = {name: decide_lib.Rule(tuple(r.hard), tuple(r.rank))
           for name, r in c.decision.rules.items()}
  decisions, aligned = [], []
  for space, qds in spaces.items():
    vectors, info = corpus.query_vectors(
        index_ds, qds, ids, c.translator.name, task.held_out, seed,
        c.translator.fit_fraction)
    correct = decision_correct(
        task.catalog, exact, hnsw, vectors, targets, access, rules,
        c.decision.headline, c.decision.candidates, c.decision.sweep)
    for (method, rule, k), ok in correct.items():
      for subset, sel in (("all", slice(None)), ("namesake", namesake)):
        decisions.append({"seed": seed, "space": space, "method": method,
                          "rule": rule, "K": k, "subset": subset,
                          "accuracy": float(ok[sel].mean()),
                          "queries": int(ok[sel].size),
                          "fit_pairs": info["fit_pairs"]})
    for hard in (True, False):
      sel = namesake if hard else np.ones(len(targets), bool)
      acc = alignment(task.catalog, vectors[sel], targets[sel],
                      c.alignment.negatives, hard, rng) if sel.any() else (
                          float("nan"))
      aligned.append({"seed": seed, "space": space,
                      "negatives": "namesakes" if hard else "random",
                      "accuracy": acc, "queries": int(sel.sum())})
  return decisions, aligned
