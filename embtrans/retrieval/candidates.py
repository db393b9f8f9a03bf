"""Stage 1: candidates from an embedding index, exact or HNSW.

    exact = ExactIndex(catalog)                    # jit top-k (metrics kernel)
    c = exact.search(queries, k=50, mask=allowed)  # mask: [n] or [q, n] bool
    hnsw = ChromaIndex(catalog, db_path, "items", ef_search=100)
    c = hnsw.search(queries, k=50, where={"tenant": "a"})

Both return `Candidates`: catalog rows and cosine similarities, best first,
padded with row -1 / score -inf where fewer than k were found. Queries must
already live in the index's space (translate them first).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

import jax.numpy as jnp
import numpy as np

from embtrans.metrics import knn
from embtrans.retrieval.catalog import Catalog

DEFAULT_BLOCK_SIZE = 256


@dataclasses.dataclass(frozen=True)
class Candidates:
  """rows: [q, m] int64 catalog rows (-1: none); scores: [q, m] cosine."""

  rows: np.ndarray
  scores: np.ndarray


def check_queries(queries: Any, catalog: Catalog) -> np.ndarray:
  """[q, d] unit float32 queries in the catalog's space; raises otherwise."""
  q = np.asarray(queries, np.float32)
  if q.ndim == 1:
    q = q[None]
  if q.ndim != 2 or not q.shape[0]:
    raise ValueError(f"queries must be [q, d] with q >= 1, got shape "
                     f"{np.shape(queries)}.")
  if q.shape[1] != catalog.dim:
    raise ValueError(
        f"The queries are {q.shape[1]}-d but the index holds {catalog.dim}-d "
        f"vectors (space {catalog.space or '?'}); translate the queries into "
        "the index space first (a translator), or embed them with the "
        "index's model.")
  norms = np.linalg.norm(q, axis=1, keepdims=True)
  if not np.isfinite(q).all() or (norms == 0).any():
    raise ValueError("The queries hold NaN, inf or all-zero rows; drop or "
                     "re-embed those queries.")
  return q / norms


def check_k(k: Any, what: str = "k") -> int:
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
    raise ValueError(f"{what} must be a positive int, got {k!r}.")
  return int(k)


class ExactIndex:
  """Brute-force cosine top-k over a catalog, one compiled kernel per shape.

  The catalog's unit vectors stay on the device; a search scores every item
  and masks the disallowed ones to -inf before the top-k, so 'filter, then
  exact search' is one call with a mask.
  """

  def __init__(self, catalog: Catalog, block_size: int = DEFAULT_BLOCK_SIZE):
    self.catalog = catalog
    self.block_size = block_size
    self._keys = jnp.asarray(catalog.vectors)

  def _mask(self, mask: Any, n_queries: int) -> np.ndarray:
    n = len(self.catalog)
    if mask is None:
      return np.ones((1, n), bool)
    mask = np.asarray(mask, bool)
    mask = mask[None] if mask.ndim == 1 else mask
    if mask.shape not in ((1, n), (n_queries, n)):
      raise ValueError(f"mask must be [{n}] or [{n_queries}, {n}], got "
                       f"{mask.shape}.")
    return mask

  def search(self, queries: Any, k: int, mask: Any = None) -> Candidates:
    """The k most similar allowed items of each query: [q, min(k, n)]."""
    q = check_queries(queries, self.catalog)
    k = min(check_k(k), len(self.catalog))
    n_q = q.shape[0]
    mask = self._mask(mask, n_q)
    block = min(self.block_size, n_q)
    padded = -(-n_q // block) * block
    q = np.pad(q, ((0, padded - n_q), (0, 0)))
    if mask.shape[0] > 1:
      mask = np.pad(mask, ((0, padded - n_q), (0, 0)))
    scores, rows = knn.search_kernel(jnp.asarray(q), self._keys,
                                     jnp.asarray(mask), k=k, metric="dot",
                                     block_size=block)
    scores = np.asarray(scores)[:n_q]
    rows = np.asarray(rows, np.int64)[:n_q]
    return _padded(rows, scores)


def _padded(rows: np.ndarray, scores: np.ndarray) -> Candidates:
  found = np.isfinite(scores)
  return Candidates(np.where(found, rows, -1),
                    np.where(found, scores, -np.inf).astype(np.float32))


class ChromaIndex:
  """A ChromaDB collection of the catalog (HNSW, `hnsw:space` cosine).

  Every attribute is stored as record metadata, so `where` filters run
  inside ChromaDB's graph search. `ef_search` is fixed when the collection
  is created (ChromaDB 1.5 keeps a loaded index's ef_search as it was), so
  sweeping it means one collection per value.
  """

  def __init__(self, catalog: Catalog, db_path: str | os.PathLike,
               name: str, ef_search: int = 100, ef_construction: int = 100,
               max_neighbors: int = 16, batch_size: int = 4096):
    from embtrans.export import chroma  # pylint: disable=g-import-not-at-top
    self.catalog = catalog
    self.ef_search = ef_search
    self._row = {i: r for r, i in enumerate(catalog.ids.tolist())}
    db = chroma.client(db_path)
    name = chroma.collection_name(name)
    if name in {c.name for c in db.list_collections()}:
      db.delete_collection(name)
    self.collection = db.create_collection(
        name, embedding_function=None,
        metadata={"hnsw:space": "cosine", "hnsw:search_ef": ef_search,
                  "hnsw:construction_ef": ef_construction,
                  "hnsw:M": max_neighbors})
    columns = {k: v.tolist() for k, v in catalog.attributes.items()}
    batch_size = min(batch_size, db.get_max_batch_size())
    for start in range(0, len(catalog), batch_size):
      stop = min(start + batch_size, len(catalog))
      self.collection.add(
          ids=catalog.ids[start:stop].tolist(),
          embeddings=catalog.vectors[start:stop],
          metadatas=[{k: v[r] for k, v in columns.items()}
                     for r in range(start, stop)])

  def search(self, queries: Any, k: int,
             where: Mapping[str, Any] | None = None) -> Candidates:
    """The k nearest records (that pass `where`) of each query."""
    q = check_queries(queries, self.catalog)
    k = min(check_k(k), len(self.catalog))
    out = self.collection.query(query_embeddings=q, n_results=k,
                                where=dict(where) if where else None,
                                include=["distances"])
    rows = np.full((len(q), k), -1, np.int64)
    scores = np.full((len(q), k), -np.inf, np.float32)
    for i, (ids, dist) in enumerate(zip(out["ids"], out["distances"])):
      rows[i, :len(ids)] = [self._row[j] for j in ids]
      scores[i, :len(ids)] = 1.0 - np.asarray(dist, np.float32)
    return Candidates(rows, scores)
