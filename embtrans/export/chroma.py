"""Write an embedding dataset, original or translated, into local ChromaDB.

    from embtrans.export import chroma
    chroma.export_dataset("hotpotqa-local/t5", "/data/chroma")   # original
    chroma.export_dataset(ds, "/data/chroma",
                          translator="/tmp/t5_to_minilm")        # A -> B
    hits = chroma.query("/data/chroma", name, vectors, k=5,
                        where={"split": "test"})

A persistent collection per export, one record per row: the vector (the
dataset's, or the translator's output for it), the text as the document, and
metadata `text_id`, `split`, then the provenance, named alike on both sides:
`source_model` / `source_dataset` (the vectors exported: their embedding
model and dataset), `target_model` / `target_dataset` (the space the stored
vectors are in: the same as the source without a translator, else the
translator's target), `translator` (the workdir, '' for none),
`translator_model`; plus the row's scalar attributes (HotPotQA's kind, type,
level, title, ...). The collection metadata records the same provenance, the
dim, the source dataset's fingerprint and `model_fingerprint`, that of the
model whose space the stored vectors are in ('' when a translator workdir
does not say; `embtrans.export.apply` checks it before translating).

An existing collection is replaced only with `replace=True` and added to only
with `append=True` (and the same provenance); otherwise the export refuses
before writing anything.

Nothing touches the network: telemetry is off, and vectors are always passed
explicitly, so ChromaDB's default embedding model is never loaded.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import re
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from embtrans import data
from embtrans.data import format as fmt

SPACES = ("cosine", "l2", "ip")
SPLITS = ("all", "train", "test")
_RESERVED = ("id", "split", "text")


@dataclasses.dataclass(frozen=True)
class Export:
  """What an export wrote: the collection, its record count and metadata."""

  db_path: pathlib.Path
  collection: str
  count: int
  metadata: dict


def require_chromadb() -> None:
  """A ValueError naming the install command when chromadb is missing."""
  try:
    import chromadb  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as e:
    raise ValueError("ChromaDB is not installed (the export writes into it): "
                     "pip install -e '.[chroma]'.") from e


def client(db_path: str | os.PathLike):
  """A persistent local ChromaDB client with telemetry off."""
  import chromadb  # pylint: disable=g-import-not-at-top
  from chromadb.config import Settings  # pylint: disable=g-import-not-at-top
  pathlib.Path(db_path).mkdir(parents=True, exist_ok=True)
  return chromadb.PersistentClient(
      path=str(db_path), settings=Settings(anonymized_telemetry=False))


def collection_name(text: str) -> str:
  """A valid collection name: 3-512 of [a-zA-Z0-9._-], alphanumeric ends."""
  name = re.sub(r"[^a-zA-Z0-9._-]+", "-", text).strip("._-")[:512]
  return name if len(name) >= 3 else f"emb-{name or 'x'}"


def _scalar(value: Any) -> Any:
  """A ChromaDB metadata value (str/int/float/bool), or None to drop it."""
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return None
  if isinstance(value, np.generic):
    value = value.item()
  if isinstance(value, (bool, int, float, str)):
    return value
  return json.dumps(value, default=str)


def _row_metadata(attributes: Mapping[str, Sequence[Any]], row: int,
                  common: Mapping[str, Any]) -> dict[str, Any]:
  meta = dict(common)
  for key, values in attributes.items():
    value = _scalar(values[row])
    if value is not None:
      meta.setdefault(key, value)
  return meta


def _translator_of(translator: Any):
  if translator is None or callable(translator):
    return translator
  from embtrans import inference  # pylint: disable=g-import-not-at-top
  return inference.load_translator(translator)


# Provenance keys stored on every record (and on the collection).
PROVENANCE = ("source_model", "source_dataset", "target_model",
              "target_dataset", "translator", "translator_model")


def _target_model(translate) -> str:
  """The embedding model of a translator's target dataset.

  The target is found through the spec it was trained with (a dataset
  directory or name, or an encoder name); failing that, the target's
  dataset name stands in.
  """
  config = getattr(translate, "config", None)
  target = str(getattr(translate, "target", "translated"))
  if config is None:
    return target
  side = "a" if config.data.get("direction") == "b_to_a" else "b"
  spec = str(config.data.get(side) or "")
  from embtrans import encoders  # pylint: disable=g-import-not-at-top
  from embtrans.data import build  # pylint: disable=g-import-not-at-top
  if spec in encoders.known_encoders():
    return spec
  for name in (spec, target):
    try:
      found = build.find_dataset(name) if name else None
    except fmt.DatasetError:
      found = None
    if found is not None and found.name == target:
      return found.model_name
  return target


def _provenance(ds: fmt.EmbeddingDataset, translate, dim: int
                ) -> dict[str, Any]:
  meta = {"source_model": ds.model_name, "source_dataset": ds.name,
          "target_model": ds.model_name, "target_dataset": ds.name,
          "translator": "", "translator_model": "", "dim": dim,
          "source_fingerprint": str(ds.manifest.get("fingerprint") or ""),
          "model_fingerprint": str(ds.manifest.get("model_fingerprint") or "")}
  if translate is not None:
    meta.update(target_model=_target_model(translate),
                target_dataset=str(getattr(translate, "target", "translated")),
                translator=str(getattr(translate, "workdir", "callable")),
                translator_model=str(getattr(translate, "model_name", "")),
                model_fingerprint="")  # The target's: unknown to a workdir.
  return meta


def _open_collection(db, name: str, meta: Mapping[str, Any], space: str,
                     replace: bool, append: bool):
  """Creates the collection; or replaces it, or appends to one with the same
  provenance, when asked to."""
  existing = {c.name for c in db.list_collections()}
  if name in existing and replace:
    db.delete_collection(name)
  elif name in existing:
    col = db.get_collection(name, embedding_function=None)
    old = {k: (col.metadata or {}).get(k) for k in meta}
    if not append:
      raise ValueError(
          f"ChromaDB collection {name!r} already exists ({col.count()} "
          f"records of {old['source_dataset']} -> {old['target_model']}). "
          "Pass --replace to replace it, --append to add these records to it,"
          " or --collection=<another name>.")
    if old != dict(meta):
      diff = {k: (old[k], meta[k]) for k in meta if old[k] != meta[k]}
      raise ValueError(
          f"ChromaDB collection {name!r} holds other vectors ({diff}); "
          "--append adds only vectors of the same provenance: pass --replace "
          "or another collection name.")
    return col
  return db.create_collection(name, embedding_function=None,
                              metadata={**meta, "hnsw:space": space})


def _rows_of(ds: fmt.EmbeddingDataset, split: str) -> np.ndarray:
  if split not in SPLITS:
    raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
  rows = np.arange(len(ds))
  return rows if split == "all" else rows[ds.splits == split]


def _batches(rows: np.ndarray, size: int) -> Iterator[np.ndarray]:
  for start in range(0, len(rows), size):
    yield rows[start:start + size]


def export_dataset(dataset: str | os.PathLike | fmt.EmbeddingDataset,
                   db_path: str | os.PathLike, collection: str | None = None,
                   translator: str | os.PathLike | Callable | None = None,
                   split: str = "all", batch_size: int = 2048,
                   space: str = "cosine", replace: bool = False,
                   append: bool = False) -> Export:
  """Adds the dataset's vectors (translated, if asked) to a collection.

  Args:
    dataset: an EmbeddingDataset, or a name / path for `data.load`.
    db_path: the ChromaDB directory (created if missing).
    collection: its name; default from the dataset (and translator) names.
    translator: a translator workdir (see inference.load_translator) or a
      callable `[n, d_src] -> [n, d_tgt]`; None exports the original vectors.
    split: 'all', 'train' or 'test'.
    batch_size: records per add (at most ChromaDB's max batch size).
    space: the HNSW distance: 'cosine', 'l2' or 'ip'.
    replace: drop an existing collection of that name first.
    append: add to (upsert into) an existing collection of that name, which
      must hold vectors of the same provenance.

  Raises:
    ValueError: bad split / space, a translator for another dim, an
      existing collection without replace or append, or appending to one
      that holds other vectors. Nothing is written then.
  """
  if replace and append:
    raise ValueError("replace and append exclude each other: --replace "
                     "rebuilds the collection, --append adds to it.")
  ds = data.load(dataset)
  if space not in SPACES:
    raise ValueError(f"space must be one of {SPACES}, got {space!r}.")
  translate = _translator_of(translator)
  source_dim = getattr(translate, "source_dim", ds.dim)
  if source_dim != ds.dim:
    raise ValueError(f"The translator maps {source_dim}-d vectors; {ds.path}"
                     f" holds {ds.dim}-d ones ({ds.name}).")
  dim = ds.dim if translate is None else getattr(
      translate, "target_dim", None) or translate(ds.vectors[:1]).shape[1]
  meta = _provenance(ds, translate, dim)
  default = ds.name if translate is None else (
      f"{ds.name}--to--{meta['target_dataset']}")
  name = collection or collection_name(default)
  rows = _rows_of(ds, split)
  db = client(db_path)
  col = _open_collection(db, name, meta, space, replace, append)
  attributes = {c: ds.column(c) for c in ds.column_names
                if c not in _RESERVED}
  texts = ds.column("text") if "text" in ds.column_names else None
  common = {k: meta[k] for k in PROVENANCE}
  for batch in _batches(rows, min(batch_size, db.get_max_batch_size())):
    vectors = ds.vectors[batch]
    if translate is not None:
      vectors = np.asarray(translate(vectors), np.float32)
    col.upsert(
        ids=[str(i) for i in ds.ids[batch]], embeddings=vectors,
        documents=[str(t) for t in texts[batch]] if texts is not None else None,
        metadatas=[_row_metadata(attributes, int(r), {
            **common, "text_id": str(ds.ids[r]), "split": str(ds.splits[r])})
                   for r in batch])
  return Export(pathlib.Path(db_path), name, len(rows), meta)


def query(db_path: str | os.PathLike, collection: str, vectors: np.ndarray,
          k: int = 10, where: Mapping[str, Any] | None = None
          ) -> list[list[str]]:
  """Ids of the `k` nearest records to each of `vectors: [n, dim]`."""
  col = client(db_path).get_collection(collection, embedding_function=None)
  out = col.query(query_embeddings=np.asarray(vectors, np.float32),
                  n_results=k, where=dict(where) if where else None,
                  include=[])
  return out["ids"]
