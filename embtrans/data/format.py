"""The on-disk embedding-dataset format.

A dataset is a directory:

    <dir>/manifest.json      written last: its presence means "complete"
    <dir>/rows.parquet       one row per vector: id, split, text, metadata...
    <dir>/vectors/00000.npy  float32 [rows_in_shard, dim], shards in row order

Vectors are plain `.npy` files (no pickle), opened memory-mapped, so a dataset
larger than RAM is read lazily. The manifest records the model, the text
source, the dim, whether vectors are L2-normalised, a fingerprint of what made
them, and a SHA-256 per shard. Writers fill `<dir>.partial/` and rename it into
place at the end, so a crash never leaves a directory that looks complete.

The split is a pure function of the id (`split_of`), so two datasets of the
same texts always agree on which ids are test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import time
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FORMAT_NAME = "embtrans.embedding_dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ROWS = "rows.parquet"
VECTOR_DIR = "vectors"
TRAIN_PERCENT = 80
# Checksums are verified on open when the vectors total less than this.
VERIFY_AUTO_BYTES = 1 << 30


class DatasetError(ValueError):
  """An embedding dataset is missing, incomplete, corrupt or inconsistent."""


def split_of(example_id: str) -> str:
  """'train' for ~80% of ids and 'test' for ~20%, by SHA-1 of the id."""
  digest = hashlib.sha1(example_id.encode("utf-8")).digest()
  bucket = int.from_bytes(digest[:8], "big") % 100
  return "train" if bucket < TRAIN_PERCENT else "test"


def sha256_file(path: os.PathLike, chunk: int = 1 << 22) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    while block := f.read(chunk):
      h.update(block)
  return h.hexdigest()


def fingerprint(*parts: Any) -> str:
  """A short stable hash of JSON-serialisable parts."""
  blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
  return hashlib.sha256(blob).hexdigest()[:16]


class ShardedVectors:
  """Read-only row access over memory-mapped `.npy` shards.

  Supports `len()`, `.shape`, `.dtype`, integer / slice / index-array
  indexing along rows, and `np.asarray(...)` (which loads everything).
  """

  def __init__(self, shards: Sequence[np.ndarray]):
    self._shards = list(shards)
    self._offsets = np.cumsum([0] + [len(s) for s in self._shards])
    dims = {s.shape[1] for s in self._shards}
    self.dim = dims.pop() if dims else 0
    self.dtype = self._shards[0].dtype if self._shards else np.float32

  @property
  def shape(self) -> tuple[int, int]:
    return (int(self._offsets[-1]), self.dim)

  def __len__(self) -> int:
    return int(self._offsets[-1])

  def __array__(self, dtype=None, copy=None):
    out = self[:]
    return out.astype(dtype) if dtype is not None else out

  def __getitem__(self, index) -> np.ndarray:
    if isinstance(index, slice):
      index = np.arange(len(self))[index]
    index = np.asarray(index)
    scalar = index.ndim == 0
    index = np.atleast_1d(index).astype(np.int64)
    if index.size and (index.min() < -len(self) or index.max() >= len(self)):
      raise IndexError(f"row index out of range for {len(self)} rows")
    index = np.where(index < 0, index + len(self), index)
    out = np.empty((index.size, self.dim), dtype=self.dtype)
    shard_of = np.searchsorted(self._offsets, index, side="right") - 1
    for s in np.unique(shard_of):
      sel = shard_of == s
      out[sel] = self._shards[s][index[sel] - self._offsets[s]]
    return out[0] if scalar else out


@dataclasses.dataclass
class EmbeddingDataset:
  """An opened embedding dataset.

  Attributes:
    path: its directory.
    manifest: the parsed manifest.json.
    ids: [n] str ids, unique.
    splits: [n] 'train' | 'test'.
    vectors: [n, dim] memory-mapped vectors.
    rows: the rows table (id, split, text and metadata columns).
  """

  path: pathlib.Path
  manifest: dict
  ids: np.ndarray
  splits: np.ndarray
  vectors: ShardedVectors
  rows: pa.Table

  @property
  def dim(self) -> int:
    return int(self.manifest["dim"])

  @property
  def name(self) -> str:
    return str(self.manifest.get("name", self.path.name))

  def __len__(self) -> int:
    return len(self.ids)

  def column(self, name: str) -> np.ndarray:
    if name not in self.rows.column_names:
      raise KeyError(f"{self.path}: no column {name!r}; columns are "
                     f"{self.rows.column_names}")
    return self.rows.column(name).to_numpy(zero_copy_only=False)


def is_complete(path: os.PathLike) -> bool:
  return (pathlib.Path(path) / MANIFEST).is_file()


def _read_manifest(path: pathlib.Path) -> dict:
  mpath = path / MANIFEST
  if not path.is_dir():
    raise DatasetError(f"No embedding dataset at {path}: not a directory.")
  if not mpath.is_file():
    raise DatasetError(
        f"{path} is not a complete embedding dataset (no {MANIFEST}). A build"
        " may have been interrupted: rerun the build command to finish it.")
  try:
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
  except (OSError, json.JSONDecodeError) as e:
    raise DatasetError(f"{mpath} is unreadable or corrupt ({e}). Rebuild the"
                       " dataset or restore it from a copy.") from e
  if manifest.get("format") != FORMAT_NAME:
    raise DatasetError(f"{mpath} is not an embtrans embedding dataset "
                       f"(format={manifest.get('format')!r}).")
  if manifest.get("version", 0) > FORMAT_VERSION:
    raise DatasetError(f"{path} has format version {manifest['version']}; this"
                       f" embtrans reads up to {FORMAT_VERSION}. Upgrade it.")
  return manifest


def _open_shard(path: pathlib.Path, shard: Mapping[str, Any], dim: int,
                verify: bool) -> np.ndarray:
  spath = path / shard["path"]
  what = f"vector shard {spath}"
  if verify and sha256_file(spath) != shard["sha256"]:
    raise DatasetError(f"{what} does not match its checksum in the manifest:"
                       " the file is corrupt. Rebuild the dataset.")
  try:
    arr = np.load(spath, mmap_mode="r", allow_pickle=False)
  except (OSError, ValueError, EOFError) as e:
    raise DatasetError(f"{what} is unreadable or truncated ({e}). Rebuild the"
                       " dataset.") from e
  if arr.ndim != 2 or arr.shape != (shard["rows"], dim):
    raise DatasetError(f"{what} has shape {arr.shape}; the manifest says "
                       f"({shard['rows']}, {dim}). Rebuild the dataset.")
  return arr


def _read_rows(path: pathlib.Path, count: int) -> pa.Table:
  try:
    rows = pq.read_table(path / ROWS)
  except (OSError, pa.ArrowException) as e:
    raise DatasetError(f"{path / ROWS} is unreadable or corrupt ({e}). Rebuild"
                       " the dataset.") from e
  if rows.num_rows != count or "id" not in rows.column_names:
    raise DatasetError(f"{path / ROWS} has {rows.num_rows} rows (columns "
                       f"{rows.column_names}); the manifest says {count} with"
                       " an 'id' column. Rebuild the dataset.")
  return rows


def open_dataset(path: os.PathLike, verify: bool | None = None
                 ) -> EmbeddingDataset:
  """Opens a complete dataset directory; vectors stay memory-mapped.

  Args:
    path: the dataset directory.
    verify: check each shard's SHA-256; None = only when the vectors are
      smaller than 1 GiB (a cheap check that catches corrupt files).

  Raises:
    DatasetError: naming the file that is missing, corrupt or inconsistent.
  """
  path = pathlib.Path(path)
  manifest = _read_manifest(path)
  dim, count = int(manifest["dim"]), int(manifest["count"])
  if verify is None:
    verify = count * dim * 4 < VERIFY_AUTO_BYTES
  shards = [_open_shard(path, s, dim, verify) for s in manifest["shards"]]
  vectors = ShardedVectors(shards)
  if len(vectors) != count:
    raise DatasetError(f"{path}: shards hold {len(vectors)} rows, manifest "
                       f"says {count}. Rebuild the dataset.")
  rows = _read_rows(path, count)
  ids = rows.column("id").to_numpy(zero_copy_only=False).astype(str)
  if "split" in rows.column_names:
    splits = rows.column("split").to_numpy(zero_copy_only=False).astype(str)
  else:
    splits = np.array([split_of(i) for i in ids])
  return EmbeddingDataset(path, manifest, ids, splits, vectors, rows)


class DatasetWriter:
  """Writes a dataset into `<dir>.partial/`, then renames it into place.

  Usage:
    with DatasetWriter(path, dim=384, manifest_extra={...}) as w:
      w.add(ids, vectors, texts=..., metadata={...})
  On an exception nothing is renamed and an existing `<dir>` is untouched.
  """

  def __init__(self, path: os.PathLike, dim: int,
               manifest_extra: Mapping[str, Any] | None = None,
               shard_rows: int = 262_144):
    self.path = pathlib.Path(path)
    self.partial = self.path.with_name(self.path.name + ".partial")
    self.dim = int(dim)
    self.extra = dict(manifest_extra or {})
    self.shard_rows = int(shard_rows)
    self._rows: list[pa.Table] = []
    self._pending: list[np.ndarray] = []
    self._pending_rows = 0
    self._shards: list[dict] = []
    self._seen: set[str] = set()

  def __enter__(self) -> "DatasetWriter":
    if self.partial.exists():
      shutil.rmtree(self.partial)
    (self.partial / VECTOR_DIR).mkdir(parents=True)
    return self

  def __exit__(self, exc_type, exc, tb) -> None:
    if exc_type is None:
      self.close()

  def add(self, ids: Sequence[str], vectors: np.ndarray,
          texts: Sequence[str] | None = None,
          metadata: Mapping[str, Sequence[Any]] | None = None) -> None:
    """Appends rows. `vectors: [len(ids), dim]`, finite."""
    ids = [str(i) for i in ids]
    vectors = np.asarray(vectors, dtype=np.float32)
    _check_batch(ids, vectors, self.dim, self._seen)
    self._seen.update(ids)
    columns: dict[str, Any] = {"id": ids, "split": [split_of(i) for i in ids]}
    if texts is not None:
      columns["text"] = list(texts)
    for key, values in (metadata or {}).items():
      columns[key] = list(values)
    self._rows.append(pa.table(columns))
    self._pending.append(vectors)
    self._pending_rows += len(ids)
    while self._pending_rows >= self.shard_rows:
      self._flush(self.shard_rows)

  def _flush(self, rows: int) -> None:
    stacked = np.concatenate(self._pending) if self._pending else np.zeros(
        (0, self.dim), np.float32)
    head, tail = stacked[:rows], stacked[rows:]
    self._pending, self._pending_rows = [tail], len(tail)
    rel = f"{VECTOR_DIR}/{len(self._shards):05d}.npy"
    np.save(self.partial / rel, head, allow_pickle=False)
    self._shards.append({"path": rel, "rows": int(len(head)),
                         "sha256": sha256_file(self.partial / rel)})

  def close(self) -> pathlib.Path:
    if self._pending_rows or not self._shards:
      self._flush(self._pending_rows)
    rows = pa.concat_tables(self._rows, promote_options="default") if (
        self._rows) else pa.table({"id": pa.array([], pa.string())})
    pq.write_table(rows, self.partial / ROWS)
    count = rows.num_rows
    splits = rows.column("split").to_pylist() if count else []
    manifest = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "dim": self.dim, "dtype": "float32", "count": count,
        "num_train": splits.count("train"), "num_test": splits.count("test"),
        "split": {"method": "sha1(id) % 100 < 80 -> train", "train_percent":
                  TRAIN_PERCENT},
        "shards": self._shards, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **self.extra,
    }
    (self.partial / MANIFEST).write_text(json.dumps(manifest, indent=2))
    if self.path.exists():
      shutil.rmtree(self.path)
    os.replace(self.partial, self.path)
    return self.path


def _check_batch(ids: list[str], vectors: np.ndarray, dim: int,
                 seen: set[str]) -> None:
  if vectors.ndim != 2 or vectors.shape != (len(ids), dim):
    raise DatasetError(f"vectors have shape {vectors.shape}; expected "
                       f"({len(ids)}, {dim}) for {len(ids)} ids of dim {dim}.")
  if not np.isfinite(vectors).all():
    bad = int((~np.isfinite(vectors)).any(axis=1).sum())
    raise DatasetError(f"{bad} vectors contain NaN or inf; refusing to write.")
  dup = [i for i in ids if i in seen]
  if dup or len(set(ids)) != len(ids):
    dup = dup or [i for i in ids if ids.count(i) > 1]
    raise DatasetError(f"duplicate ids, e.g. {dup[:3]}: ids must be unique.")


def write_dataset(path: os.PathLike, ids: Sequence[str], vectors: np.ndarray,
                  texts: Sequence[str] | None = None,
                  metadata: Mapping[str, Sequence[Any]] | None = None,
                  manifest_extra: Mapping[str, Any] | None = None
                  ) -> pathlib.Path:
  """Writes a whole dataset in one call (atomic: see DatasetWriter)."""
  vectors = np.asarray(vectors)
  if vectors.ndim != 2:
    raise DatasetError(f"vectors must be [n, dim]; got shape {vectors.shape}.")
  with DatasetWriter(path, vectors.shape[1], manifest_extra) as w:
    w.add(ids, vectors, texts, metadata)
  return pathlib.Path(path)


def iter_batches(ds: EmbeddingDataset, batch_size: int
                 ) -> Iterable[tuple[np.ndarray, np.ndarray]]:
  """Yields `(ids [b], vectors [b, dim])` in row order, reading lazily."""
  for start in range(0, len(ds), batch_size):
    stop = min(start + batch_size, len(ds))
    yield ds.ids[start:stop], ds.vectors[start:stop]
