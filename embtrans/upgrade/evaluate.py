"""Scores of the upgrade task: no translator, picked translators, per seed.

Directions (the query model's vectors are translated into the index model's
space, the index is never re-embedded):

  new_to_old  E5 queries -> the MiniLM index (the upgrade)
  old_to_new  MiniLM queries -> the E5 index (the reverse)

References, no translator: `old` (MiniLM queries in the MiniLM index) and
`new` (E5 queries in an E5 re-embedded index). "Recall recovered" divides a
translated score by the *re-embedded* one: the query model on both sides
(E5 for new_to_old, MiniLM for old_to_new); the index model alone is the
other reference, reported beside it.

Choices (lr, steps, loss) are made per (direction, arch, n) on the validation
split from the sweep's float16 validation translations; the picked cells'
members are then restored in float32 (`embtrans.inference`) and scored on
the test split: query -> document Recall@1/10 and MRR, and separately
identity retrieval (a test text's translation finds its own target among
all test texts' targets).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Mapping, Sequence

import numpy as np

from embtrans import inference
from embtrans import metrics
from embtrans.tasks import translate
from embtrans.upgrade import data

KS = (1, 10)
DIRECTIONS = {"new_to_old": ("new", "old"), "old_to_new": ("old", "new")}
SCORES = ("recall@1", "recall@10", "mrr")


def retrieval(queries: np.ndarray, docs: np.ndarray, positives: np.ndarray
              ) -> dict[str, float]:
  """Query -> document Recall@1/10 and MRR (cosine, exact search).

  Args:
    queries: [q, d]; docs: [m, d]; positives: [q] index into docs.
  """
  out = metrics.recall_at_k(queries, docs, ks=KS, positives=positives,
                            mrr=True)
  return {k: float(out[k]) for k in SCORES}


def references(spaces: Mapping[str, data.Space], split: data.Split
               ) -> dict[str, dict[str, float]]:
  """{'old' | 'new': scores of that model alone} on `split`."""
  return {name: retrieval(np.asarray(s.query.vectors[split.queries]),
                          np.asarray(s.doc.vectors[split.docs]),
                          split.positives)
          for name, s in spaces.items()}


def _cells(sweep: pathlib.Path) -> list[dict[str, Any]]:
  out = []
  for cell in sorted((sweep / "cells").glob("*/cell.json")):
    meta = json.loads(cell.read_text())
    if (cell.parent / "results.json").is_file():
      config = json.loads((cell.parent / "config.json").read_text())
      seeds = [config["seed"] + i for i in range(config.get("num_seeds", 1))]
      out.append({"dir": cell.parent, "seeds": seeds, "lr": None,
                  "steps": None, "loss": config["loss"]["name"],
                  **meta["factors"]})
  return out


def validation_rows(sweep: pathlib.Path, spaces: Mapping[str, data.Space],
                    val: data.Split) -> list[dict[str, Any]]:
  """One row per (cell, seed): its factors and validation scores."""
  at = {r: k for k, r in enumerate(val.texts)}
  rows = []
  for cell in _cells(sweep):
    index = spaces[DIRECTIONS[cell["direction"]][1]]
    docs = np.asarray(index.doc.vectors[val.docs])
    for seed in cell["seeds"]:
      translated = np.load(cell["dir"] / f"seed_{seed}" /
                           "test_translated.npy").astype(np.float32)
      q = translated[[at[r] for r in val.queries]]
      rows.append({**{k: v for k, v in cell.items() if k != "seeds"},
                   "seed": seed, **retrieval(q, docs, val.positives)})
  return rows


def pick(rows: Sequence[Mapping[str, Any]]) -> dict[tuple, dict[str, Any]]:
  """{(direction, arch, n): the cell with the best mean validation R@10
  (then MRR) over its seeds}."""
  cells: dict[pathlib.Path, list] = {}
  for r in rows:
    cells.setdefault(r["dir"], []).append(r)
  best: dict[tuple, tuple] = {}
  for members in cells.values():
    r = members[0]
    key = (r["direction"], r["arch"], int(r["n"]))
    score = (np.mean([m["recall@10"] for m in members]),
             np.mean([m["mrr"] for m in members]))
    if key not in best or score > best[key][0]:
      best[key] = (score, r)
  return {k: v[1] for k, v in best.items()}


def test_rows(picked: Mapping[tuple, Mapping[str, Any]],
              spaces: Mapping[str, data.Space], test: data.Split
              ) -> list[dict[str, Any]]:
  """Test scores of every seed of every picked cell (float32 restores)."""
  rows = []
  for (direction, arch, n), cell in sorted(picked.items()):
    src, dst = (spaces[s] for s in DIRECTIONS[direction])
    queries = np.asarray(src.query.vectors[test.queries], np.float32)
    docs = np.asarray(dst.doc.vectors[test.docs], np.float32)
    texts_src = np.asarray(src.query.vectors[test.texts], np.float32)
    texts_dst = np.asarray(dst.query.vectors[test.texts], np.float32)
    cfg = json.loads((cell["dir"] / "config.json").read_text())
    seeds = [cfg["seed"] + i for i in range(cfg.get("num_seeds", 1))]
    for seed in seeds:
      t = inference.load_translator(cell["dir"], seed=seed)
      ident = translate.translation_scores(t(texts_src), texts_dst, KS)
      rows.append({"direction": direction, "arch": arch, "n": n,
                   "lr": cell.get("lr"), "steps": cell.get("steps"),
                   "loss": cell.get("loss"),
                   "seed": seed, "cell": cell["dir"].name,
                   **retrieval(t(queries), docs, test.positives),
                   **{f"identity_{k}": ident[k]
                      for k in ("recall@1", "recall@10")}})
  return rows
