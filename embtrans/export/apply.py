"""Apply an exported translator to vectors wherever they are stored.

  apply_npy(t, "q.npy", "out.npy")                  # [n, d] float arrays
  apply_parquet(t, "in.parquet", "out.parquet", column="embedding")
  apply_dataset(t, "DATASET_DIR", "OUT_DIR")         # an embedding dataset
  apply_collection(t, "CHROMA_DIR", "docs")          # -> a new collection

Every input is checked before anything is written: its dim, and where it
records one (a dataset manifest, a collection's metadata) the model
fingerprint of its vectors against the translator's source. The input is
never modified; outputs record what translated them.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any, Iterator, Mapping

import numpy as np

from embtrans.data import format as fmt
from embtrans.export import chroma
from embtrans.export import translator as tl

_HNSW = "hnsw:space"


def check_source(t: tl.Exported, what: str, dim: int,
                 fingerprint: str | None = None,
                 model: str | None = None) -> None:
  """Raises ValueError if `what` (dim-d vectors of `model`) is not the
  translator's source (compared by model fingerprint, else by name)."""
  src = t.source
  if dim != t.source_dim:
    raise ValueError(f"{what} holds {dim}-d vectors; the translator {t.path} "
                     f"maps {t.source_dim}-d vectors of {src['model']}.")
  want = src.get("model_fingerprint")
  if fingerprint and want and fingerprint != want:
    raise ValueError(
        f"{what} holds vectors of model fingerprint {fingerprint}"
        f"{f' ({model})' if model else ''}; the translator {t.path} expects "
        f"{src['model']} {src.get('model_config') or ''} (fingerprint {want})."
        " Use a translator trained from that model.")
  if not fingerprint and model and model != src.get("model"):
    raise ValueError(f"{what} holds {model} vectors; the translator {t.path} "
                     f"maps {src['model']} vectors.")


def _free(out: pathlib.Path, overwrite: bool) -> None:
  if out.exists() and not overwrite:
    raise ValueError(f"{out} exists; choose another --output or pass "
                     "--overwrite.")


def apply_npy(t: tl.Exported, path: str | os.PathLike,
              out: str | os.PathLike, overwrite: bool = False) -> int:
  """Translates a [n, d] .npy into `out`; -> n. Object arrays are refused."""
  path, out = pathlib.Path(path), pathlib.Path(out)
  _free(out, overwrite)
  try:
    x = np.load(path, allow_pickle=False, mmap_mode="r")
  except ValueError as e:
    raise ValueError(f"{path} cannot be read without unpickling ({e}); save"
                     " the vectors as a float array.") from e
  if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
    raise ValueError(f"{path} holds a {x.dtype} array of shape {x.shape}; "
                     "expected [n, dim] floats.")
  check_source(t, str(path), x.shape[1])
  np.save(out, t(np.asarray(x, np.float32)))
  return int(x.shape[0])


def apply_parquet(t: tl.Exported, path: str | os.PathLike,
                  out: str | os.PathLike, column: str = "embedding",
                  overwrite: bool = False) -> int:
  """Replaces `column` (lists of floats) by its translation; -> rows."""
  import pyarrow as pa  # pylint: disable=g-import-not-at-top
  import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
  path, out = pathlib.Path(path), pathlib.Path(out)
  _free(out, overwrite)
  table = pq.read_table(path)
  if column not in table.column_names:
    raise ValueError(f"{path} has no column {column!r}; its columns are "
                     f"{table.column_names}. Pass --column=<vectors column>.")
  x = np.asarray(table.column(column).to_pylist(), np.float32)
  if x.ndim != 2:
    raise ValueError(f"{path}:{column} is not a column of equal-length float"
                     " lists.")
  check_source(t, f"{path}:{column}", x.shape[1])
  y = t(x)
  idx = table.column_names.index(column)
  table = table.set_column(idx, column, pa.array(list(y), pa.list_(
      pa.float32())))
  table = table.replace_schema_metadata({
      **(table.schema.metadata or {}), b"embtrans.translator":
          str(t.path).encode(), b"embtrans.target_model":
          str(t.target.get("model")).encode()})
  pq.write_table(table, out)
  return len(y)


def apply_dataset(t: tl.Exported, path: str | os.PathLike,
                  out: str | os.PathLike, batch_size: int = 4096,
                  overwrite: bool = False) -> fmt.EmbeddingDataset:
  """Writes the translation of an embedding dataset as a new dataset."""
  out = pathlib.Path(out)
  _free(out, overwrite)
  ds = fmt.open_dataset(path)
  m = ds.manifest
  check_source(t, f"{ds.path} ({ds.name})", ds.dim,
               m.get("model_fingerprint"), ds.model_name)
  cols = [c for c in ds.column_names if c not in ("id", "split", "text")]
  texts = ds.column("text") if "text" in ds.column_names else None
  tgt = t.target
  extra = {"name": f"{ds.name}->{tgt.get('model')}", "model": tgt.get("model"),
           "model_config": tgt.get("model_config"),
           "model_fingerprint": tgt.get("model_fingerprint"),
           "normalized": False, "split": m.get("split"),
           "translated": {"translator": str(t.path), "arch": t.arch,
                          "from_dataset": ds.name,
                          "from_fingerprint": m.get("fingerprint"),
                          "from_model": ds.model_name}}
  with fmt.DatasetWriter(out, t.target_dim, extra) as w:
    for start in range(0, len(ds), batch_size):
      sl = slice(start, start + batch_size)
      w.add(ds.ids[sl], t(np.asarray(ds.vectors[sl], np.float32)),
            None if texts is None else [str(x) for x in texts[sl]],
            {c: list(ds.column(c)[sl]) for c in cols}, list(ds.splits[sl]))
  return fmt.open_dataset(out)


@dataclasses.dataclass(frozen=True)
class Translated:
  """A collection written by `apply_collection`."""

  collection: str
  count: int
  metadata: dict


def _pages(col, size: int) -> Iterator[dict[str, Any]]:
  for offset in range(0, col.count(), size):
    yield col.get(limit=size, offset=offset,
                  include=["embeddings", "documents", "metadatas"])


def _collection_meta(t: tl.Exported, name: str, meta: Mapping[str, Any]
                     ) -> dict[str, Any]:
  tgt = t.target
  out = {k: v for k, v in meta.items() if not k.startswith("hnsw:")}
  out.update(source_model=str(meta.get("target_model", t.source["model"])),
             source_dataset=str(meta.get("source_dataset", name)),
             target_model=str(tgt.get("model")),
             target_dataset=str(tgt.get("dataset")),
             translator=str(t.path), translator_model=t.arch,
             dim=t.target_dim,
             model_fingerprint=str(tgt.get("model_fingerprint") or ""),
             translated_from_collection=name)
  return out


def apply_collection(t: tl.Exported, db_path: str | os.PathLike, name: str,
                     new_name: str | None = None, batch_size: int = 1024,
                     replace: bool = False) -> Translated:
  """Translates collection `name` into a new collection (default
  '<name>--to--<target model>'); the original stays as it is."""
  db = chroma.client(db_path)
  names = sorted(c.name for c in db.list_collections())
  if name not in names:
    raise ValueError(f"No collection {name!r} in {db_path}; it holds "
                     f"{names}.")
  src = db.get_collection(name, embedding_function=None)
  meta = dict(src.metadata or {})
  first = src.get(limit=1, include=["embeddings"])["embeddings"]
  dim = len(first[0]) if len(first) else int(meta.get("dim", t.source_dim))
  check_source(t, f"collection {name!r}", dim,
               meta.get("model_fingerprint") or None, meta.get("target_model"))
  new = new_name or chroma.collection_name(
      f"{name}--to--{t.target.get('model')}")
  if new == name:
    raise ValueError(f"The new collection must not be {name!r} itself: the "
                     "original is left untouched.")
  if new in names and not replace:
    raise ValueError(f"Collection {new!r} exists in {db_path}; pass --replace"
                     " or --new_collection=<another name>.")
  if new in names:
    db.delete_collection(new)
  out_meta = _collection_meta(t, name, meta)
  col = db.create_collection(new, embedding_function=None, metadata={
      **out_meta, _HNSW: meta.get(_HNSW, "cosine")})
  record = {k: out_meta[k] for k in chroma.PROVENANCE}
  count = 0
  for page in _pages(src, min(batch_size, db.get_max_batch_size())):
    col.add(ids=page["ids"], embeddings=t(np.asarray(page["embeddings"],
                                                     np.float32)),
            documents=page["documents"] if page["documents"] is not None
            and any(d is not None for d in page["documents"]) else None,
            metadatas=[{**(m or {}), **record} for m in page["metadatas"]])
    count += len(page["ids"])
  return Translated(new, count, out_meta)
