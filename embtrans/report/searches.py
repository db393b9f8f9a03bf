"""Example searches: which documents come back in the true target space and
through the translated vector.

The documents are the n test targets. Query i searches them (cosine) once
with its true target vector and once with its translated vector — the
definition behind `test/retrieval_overlap@k`.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Search:
  query: int                 # row of the query item
  overlap: float             # |top-k true & top-k translated| / k
  true_top: np.ndarray       # [shown] document rows, best first
  translated_top: np.ndarray  # [shown]


def _unit(x: np.ndarray) -> np.ndarray:
  x = np.asarray(x, np.float64)
  return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def top_documents(queries: np.ndarray, docs: np.ndarray, k: int
                  ) -> np.ndarray:
  """[n_q, k] rows of the k most cosine-similar docs, best first."""
  scores = _unit(queries) @ _unit(docs).T
  top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
  order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1,
                     kind="stable")
  return np.take_along_axis(top, order, axis=1)


def per_query_overlap(translated: np.ndarray, target: np.ndarray, k: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(overlap [n], true top-k [n, k], translated top-k [n, k])."""
  true_top = top_documents(target, target, k)
  trans_top = top_documents(translated, target, k)
  hits = (true_top[:, :, None] == trans_top[:, None, :]).sum(axis=(1, 2))
  return hits / k, true_top, trans_top


def pick_examples(translated: np.ndarray, target: np.ndarray, k: int = 10,
                  shown: int = 5,
                  quantiles: Sequence[float] = (0.9, 0.5, 0.1)
                  ) -> list[Search]:
  """Queries at the given quantiles of per-query overlap (high, mid, low)."""
  overlap, true_top, trans_top = per_query_overlap(translated, target, k)
  order = np.argsort(overlap, kind="stable")
  out = []
  for q in quantiles:
    i = int(order[min(len(order) - 1, int(q * len(order)))])
    out.append(Search(i, float(overlap[i]), true_top[i, :shown],
                      trans_top[i, :shown]))
  return out


def _cell(text: str, limit: int) -> str:
  text = " ".join(str(text).split())
  text = text if len(text) <= limit else text[:limit - 1] + "…"
  return text.replace("|", "\\|")


def _doc(row: int, ids: Sequence[str], texts: Sequence[str], query: int,
         other: np.ndarray) -> str:
  mark = "✓ " if row in other else ""
  self_mark = " *(the query's own document)*" if row == query else ""
  return (f"{mark}`{_cell(ids[row], 60)}` {_cell(texts[row], 70)}"
          f"{self_mark}")


def markdown(examples: Sequence[Search], ids: Sequence[str],
             texts: Sequence[str], k: int) -> str:
  """The examples as Markdown: query, then top docs side by side (✓ = both)."""
  parts = []
  for n, ex in enumerate(examples, 1):
    parts.append(
        f"**Search {n}.** Query `{_cell(ids[ex.query], 80)}`: "
        f"“{_cell(texts[ex.query], 240)}” — overlap@{k} = {ex.overlap:.1f}\n")
    rows = ["| rank | true target space | via the translated vector |",
            "|---:|---|---|"]
    for r, (a, b) in enumerate(zip(ex.true_top, ex.translated_top), 1):
      rows.append(f"| {r} | {_doc(a, ids, texts, ex.query, ex.translated_top)}"
                  f" | {_doc(b, ids, texts, ex.query, ex.true_top)} |")
    parts.append("\n".join(rows) + "\n")
  return "\n".join(parts)
