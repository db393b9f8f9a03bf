"""The on-disk embedding-dataset format.

A dataset is a directory:

    <dir>/manifest.json      written last: its presence means "complete"
    <dir>/rows.parquet       one row per vector: id, split, text, metadata...
    <dir>/vectors/00000.npy  float32 [rows_in_shard, dim], shards in row order

Vectors are plain `.npy` files (no pickle), opened memory-mapped, so a dataset
larger than RAM is read lazily. The manifest records the model, the text
source, the dim, whether vectors are L2-normalised, a fingerprint of what made
them, and a SHA-256 per shard. Opening reads only the id and split columns;
other columns are read when asked for (`EmbeddingDataset.column`).

Writers fill `<dir>.partial/` and rename it into place at the end; the
manifest is written only after that rename, so a partial build never looks
complete. A resumable writer (`DatasetWriter(..., resume_key=...)`) commits
each finished shard with its rows (`rows/NNNNN.parquet`) and a small
`progress.json` (rows done, the key); after a crash or a kill, a writer with
the same key continues from the last committed shard.

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
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from absl import logging

from embtrans.data import ownership

FORMAT_NAME = "embtrans.embedding_dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ROWS = "rows.parquet"
VECTOR_DIR = "vectors"
# Only inside a build in progress:
ROW_PARTS = "rows"  # rows/NNNNN.parquet, the rows of vectors/NNNNN.npy
PROGRESS = "progress.json"
STAGED_MANIFEST = "manifest.staged.json"
TRAIN_PERCENT = 80
# How a damaged dataset is replaced (the message of every DatasetError that
# finds one).
REBUILD = ("Rebuild it: rerun the command that built it (python -m "
           "embtrans.embed --config=...) with --rebuild.")
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


def _pread_rows(shard: np.memmap, rows: np.ndarray) -> np.ndarray:
  """Rows of a memory-mapped `.npy` shard read with pread: `[len(rows), d]`.

  For a few scattered rows this maps nothing: reading them through the map
  would map whole page-cache folios (up to megabytes each on recent
  kernels) into the process for 4 KB rows.
  """
  out = np.empty((len(rows), shard.shape[1]), shard.dtype)
  row_bytes = shard.shape[1] * shard.dtype.itemsize
  fd = os.open(shard.filename, os.O_RDONLY)
  try:
    for k, r in enumerate(rows):
      buf = os.pread(fd, row_bytes, shard.offset + int(r) * row_bytes)
      out[k] = np.frombuffer(buf, shard.dtype)
  finally:
    os.close(fd)
  return out


class ShardedVectors:
  """Read-only row access over memory-mapped `.npy` shards.

  Supports `len()`, `.shape`, `.dtype`, integer / slice / index-array
  indexing along rows, and `np.asarray(...)` (which loads everything).
  Index arrays touching few rows of a shard (< 1/SPARSE_READ) read them with
  pread instead of through the map.
  """

  SPARSE_READ = 256

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
      rows, shard = index[sel] - self._offsets[s], self._shards[s]
      if (isinstance(shard, np.memmap) and shard.filename and
          rows.size * self.SPARSE_READ < len(shard)):
        out[sel] = _pread_rows(shard, rows)
      else:
        out[sel] = shard[rows]
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
    rows: the rows table (id, split, text and metadata columns), read from
      rows.parquet on first access; `column(name)` reads one column only.
  """

  path: pathlib.Path
  manifest: dict
  ids: np.ndarray
  splits: np.ndarray
  vectors: ShardedVectors
  _rows: pa.Table | None = dataclasses.field(default=None, repr=False)

  @property
  def dim(self) -> int:
    return int(self.manifest["dim"])

  @property
  def name(self) -> str:
    return str(self.manifest.get("name", self.path.name))

  @property
  def model_name(self) -> str:
    """The embedding model: the encoder, or for an import the model it
    names (e.g. 'openai/text-embedding-3-small')."""
    model = self.manifest.get("model")
    config = self.manifest.get("model_config") or {}
    if model == "precomputed" and config.get("model"):
      return str(config["model"])
    return str(model or self.name)

  @property
  def rows(self) -> pa.Table:
    if self._rows is None:
      self._rows = _read_columns(self.path, None)
    return self._rows

  @property
  def column_names(self) -> list[str]:
    if self._rows is not None:
      return list(self._rows.column_names)
    return list(pq.read_schema(self.path / ROWS).names)

  def __len__(self) -> int:
    return len(self.ids)

  def column(self, name: str) -> np.ndarray:
    """One column of rows.parquet as [n] numpy (read on demand)."""
    if name not in self.column_names:
      raise KeyError(f"{self.path}: no column {name!r}; columns are "
                     f"{self.column_names}")
    table = self._rows if self._rows is not None else _read_columns(
        self.path, [name])
    return table.column(name).to_numpy(zero_copy_only=False)


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
    raise DatasetError(f"{mpath} is unreadable or corrupt ({e}). {REBUILD}"
                       ) from e
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
                       f" the file is corrupt. {REBUILD}")
  try:
    arr = np.load(spath, mmap_mode="r", allow_pickle=False)
  except (OSError, ValueError, EOFError) as e:
    raise DatasetError(f"{what} is unreadable or truncated ({e}). {REBUILD}"
                       ) from e
  if arr.ndim != 2 or arr.shape != (shard["rows"], dim):
    raise DatasetError(f"{what} has shape {arr.shape}; the manifest says "
                       f"({shard['rows']}, {dim}). {REBUILD}")
  return arr


def _read_columns(path: pathlib.Path, columns: list[str] | None) -> pa.Table:
  try:
    return pq.read_table(path / ROWS, columns=columns, memory_map=True)
  except (OSError, pa.ArrowException) as e:
    raise DatasetError(f"{path / ROWS} is unreadable or corrupt ({e}). "
                       f"{REBUILD}") from e


def _read_rows(path: pathlib.Path, count: int) -> pa.Table:
  """The id (and split, if present) columns, checked against `count`."""
  try:
    schema = pq.read_schema(path / ROWS)
  except (OSError, pa.ArrowException) as e:
    raise DatasetError(f"{path / ROWS} is unreadable or corrupt ({e}). "
                       f"{REBUILD}") from e
  if "id" not in schema.names:
    raise DatasetError(f"{path / ROWS} has no 'id' column (columns "
                       f"{schema.names}). {REBUILD}")
  rows = _read_columns(path, [c for c in ("id", "split") if c in schema.names])
  if rows.num_rows != count:
    raise DatasetError(f"{path / ROWS} has {rows.num_rows} rows; the manifest"
                       f" says {count}. {REBUILD}")
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
                       f"says {count}. {REBUILD}")
  rows = _read_rows(path, count)
  ids = rows.column("id").to_numpy(zero_copy_only=False).astype(str)
  if "split" in rows.column_names:  # Via a mask: no Python str per row.
    train = pc.equal(rows.column("split"), "train").to_numpy(
        zero_copy_only=False)
    splits = np.where(train, "train", "test")
  else:
    splits = np.array([split_of(i) for i in ids])
  return EmbeddingDataset(path, manifest, ids, splits, vectors)


def default_shard_rows(dim: int, target_bytes: int = 64 << 20) -> int:
  """Rows per shard so that a float32 shard is about `target_bytes`."""
  return max(1024, target_bytes // (4 * max(int(dim), 1)))


def _write_atomic(path: pathlib.Path, write) -> None:
  """`write(tmp_path)`, then rename onto `path` (never a torn file)."""
  tmp = path.with_name(path.name + ".tmp")
  write(tmp)
  os.replace(tmp, path)


class DatasetWriter:
  """Writes a dataset into `<dir>.partial/`, then renames it into place.

  Usage:
    with DatasetWriter(path, dim=384, manifest_extra={...}) as w:
      w.add(ids, vectors, texts=..., metadata={...})

  Rows are committed a shard at a time (`shard_rows`). Without `resume_key`
  a writer starts from scratch and removes its partial on an exception. With
  one, committed shards survive an exception or a kill, and the next writer
  with the same key and dim continues after them: `rows_done` says how many
  rows the caller should skip. In every case an existing complete `<dir>` is
  replaced only when the new one is complete.
  """

  def __init__(self, path: os.PathLike, dim: int,
               manifest_extra: Mapping[str, Any] | None = None,
               shard_rows: int | None = None, resume_key: str | None = None,
               part: bool = False):
    self.path = pathlib.Path(path)
    self.partial = self.path.with_name(self.path.name + ".partial")
    self.dim = int(dim)
    self.extra = dict(manifest_extra or {})
    self.shard_rows = int(shard_rows or default_shard_rows(self.dim))
    if self.shard_rows < 1:
      raise ValueError(f"shard_rows must be >= 1, got {shard_rows}.")
    self.resume_key = resume_key
    # A part of a multi-process build: `close` commits the last rows and
    # keeps `<dir>.partial/` for one writer to `adopt` with the other parts.
    self.part = part
    self.rows_done = 0
    self._pending_rows: list[pa.Table] = []
    self._pending: list[np.ndarray] = []
    self._pending_count = 0
    self._shards: list[dict] = []
    self._seen: set[str] = set()

  def __enter__(self) -> "DatasetWriter":
    if not (self.resume_key and self._resume()):
      if self.partial.exists():
        shutil.rmtree(self.partial)
      (self.partial / VECTOR_DIR).mkdir(parents=True)
      (self.partial / ROW_PARTS).mkdir()
      self._write_progress()
    # Who writes it: ownership.clean_stale removes it once that one is gone.
    ownership.record_owner(self.partial)
    return self

  def __exit__(self, exc_type, exc, tb) -> None:
    if exc_type is None:
      self.close()
    elif not self.resume_key:
      shutil.rmtree(self.partial, ignore_errors=True)

  def add(self, ids: Sequence[str], vectors: np.ndarray,
          texts: Sequence[str] | None = None,
          metadata: Mapping[str, Sequence[Any]] | None = None,
          splits: Sequence[str] | None = None) -> None:
    """Appends rows. `vectors: [len(ids), dim]`, finite.

    `splits` ('train' | 'test' per row) overrides `split_of(id)`, for derived
    datasets split by something other than the row id (say so in the
    manifest's `split` entry via `manifest_extra`).
    """
    ids = [str(i) for i in ids]
    vectors = np.array(vectors, dtype=np.float32)  # A copy: callers may reuse.
    _check_batch(ids, vectors, self.dim, self._seen)
    if splits is None:
      splits = [split_of(i) for i in ids]
    elif len(splits) != len(ids) or set(splits) - {"train", "test"}:
      raise DatasetError(f"splits must give 'train' or 'test' for each of the"
                         f" {len(ids)} ids; got {len(splits)} values "
                         f"{sorted(set(map(str, splits)))[:4]}.")
    self._seen.update(ids)
    columns: dict[str, Any] = {"id": ids, "split": [str(s) for s in splits]}
    if texts is not None:
      columns["text"] = list(texts)
    for key, values in (metadata or {}).items():
      columns[key] = list(values)
    self._pending_rows.append(pa.table(columns))
    self._pending.append(vectors)
    self._pending_count += len(ids)
    while self._pending_count >= self.shard_rows:
      self._flush(self.shard_rows)

  def _take(self, rows: int) -> tuple[np.ndarray, pa.Table]:
    """Removes the first `rows` pending rows: ([rows, dim], their table)."""
    arrays, tables = [], []
    while rows > sum(len(a) for a in arrays):
      need = rows - sum(len(a) for a in arrays)
      head, table = self._pending[0], self._pending_rows[0]
      if len(head) <= need:
        self._pending.pop(0)
        self._pending_rows.pop(0)
      else:  # Split; the tail stays a view of this one batch only.
        head, self._pending[0] = head[:need], head[need:]
        table, self._pending_rows[0] = table.slice(0, need), table.slice(need)
      arrays.append(head)
      tables.append(table)
    self._pending_count -= rows
    if not tables:
      return np.zeros((0, self.dim), np.float32), pa.table(
          {"id": pa.array([], pa.string()), "split": pa.array([], pa.string())})
    return (np.concatenate(arrays),
            pa.concat_tables(tables, promote_options="permissive"))

  def _flush(self, rows: int) -> None:
    """Commits the first `rows` pending rows as the next shard."""
    vectors, table = self._take(rows)
    index = len(self._shards)
    rel = f"{VECTOR_DIR}/{index:05d}.npy"
    _write_atomic(self.partial / rel, lambda p: _save_npy(p, vectors))
    _write_atomic(self.partial / ROW_PARTS / f"{index:05d}.parquet",
                  lambda p: pq.write_table(table, p))
    self._shards.append({"path": rel, "rows": int(rows),
                         "sha256": sha256_file(self.partial / rel)})
    self.rows_done += rows
    self._write_progress()

  def _write_progress(self) -> None:
    progress = {"key": self.resume_key, "dim": self.dim,
                "rows_done": self.rows_done, "shards": self._shards}
    _write_atomic(self.partial / PROGRESS,
                  lambda p: p.write_text(json.dumps(progress, indent=1)))

  def _resume(self) -> bool:
    """Adopts committed shards of a partial with our key; False if none."""
    if not self.partial.exists() and (self.path / PROGRESS).is_file() and (
        not is_complete(self.path)):
      os.replace(self.path, self.partial)  # A close was interrupted.
    try:
      progress = json.loads((self.partial / PROGRESS).read_text())
    except (OSError, ValueError):
      return False
    if progress.get("key") != self.resume_key or progress.get(
        "dim") != self.dim:
      logging.warning("Discarding %s: it belongs to another build (key %s, "
                      "dim %s; this build is %s, dim %d).", self.partial,
                      progress.get("key"), progress.get("dim"),
                      self.resume_key, self.dim)
      return False
    self._shards = _valid_prefix(self.partial, progress["shards"], self.dim)
    keep = {s["path"] for s in self._shards} | {
        _rows_part(s) for s in self._shards}
    for stray in [*(self.partial / VECTOR_DIR).glob("*"),
                  *(self.partial / ROW_PARTS).glob("*")]:
      if stray.relative_to(self.partial).as_posix() not in keep:
        stray.unlink()
    for s in self._shards:
      ids = pq.read_table(self.partial / _rows_part(s), columns=["id"])
      self._seen.update(ids.column("id").to_pylist())
    self.rows_done = sum(s["rows"] for s in self._shards)
    self._write_progress()
    if self.rows_done:
      logging.info("Resuming %s after %d committed rows (%d shards).",
                   self.path, self.rows_done, len(self._shards))
    return True

  @property
  def pending_rows(self) -> int:
    """Rows added but not yet committed to a shard."""
    return self._pending_count

  def committed_vectors(self) -> Iterator[np.ndarray]:
    """The committed shards' vectors, memory-mapped: [rows, dim] each."""
    for shard in self._shards:
      yield np.load(self.partial / shard["path"], mmap_mode="r",
                    allow_pickle=False)

  def adopt(self, part: os.PathLike) -> int:
    """Appends the committed shards of a closed part writer's directory
    (`<part>.partial/`), linked (or copied) in; returns the rows adopted."""
    if self._pending_count:
      raise ValueError("adopt() needs every added row committed first.")
    source = pathlib.Path(part).with_name(pathlib.Path(part).name + ".partial")
    try:
      progress = json.loads((source / PROGRESS).read_text())
    except (OSError, ValueError) as e:
      raise DatasetError(f"{source} is not a finished part of a build "
                         f"({e}); rerun the build to write it.") from e
    shards = progress.get("shards", [])
    if progress.get("dim") != self.dim or _valid_prefix(
        source, shards, self.dim) != shards:
      raise DatasetError(f"{source}: a damaged part, or one of another dim; "
                         "rerun the build to write it again.")
    for shard in shards:
      ids = pq.read_table(source / _rows_part(shard), columns=["id"]).column(
          "id").to_pylist()
      _check_batch(ids, np.zeros((len(ids), self.dim), np.float32), self.dim,
                   self._seen)
      self._seen.update(ids)
      index = len(self._shards)
      rel = f"{VECTOR_DIR}/{index:05d}.npy"
      _link_or_copy(source / shard["path"], self.partial / rel)
      _link_or_copy(source / _rows_part(shard),
                    self.partial / ROW_PARTS / f"{index:05d}.parquet")
      self._shards.append({**shard, "path": rel})
      self.rows_done += shard["rows"]
    self._write_progress()
    return sum(s["rows"] for s in shards)

  def close(self) -> pathlib.Path:
    """Commits the rest, writes rows.parquet, renames, then the manifest."""
    if self.part:
      if self._pending_count:
        self._flush(self._pending_count)
      return self.partial
    if self._pending_count or not self._shards:
      self._flush(self._pending_count)
    count = _merge_rows(self.partial, self._shards)
    splits = pq.read_table(self.partial / ROWS, columns=["split"]).column(
        "split").to_pylist()
    manifest = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "dim": self.dim, "dtype": "float32", "count": count,
        "num_train": splits.count("train"), "num_test": splits.count("test"),
        "split": {"method": "sha1(id) % 100 < 80 -> train", "train_percent":
                  TRAIN_PERCENT},
        "shards": self._shards, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **self.extra,
    }
    staged = self.partial / STAGED_MANIFEST
    _write_atomic(staged, lambda p: p.write_text(json.dumps(manifest,
                                                            indent=2)))
    old = self.path.with_name(self.path.name + ".replaced")
    if self.path.exists():
      shutil.rmtree(old, ignore_errors=True)
      os.replace(self.path, old)
    os.replace(self.partial, self.path)
    os.replace(self.path / STAGED_MANIFEST, self.path / MANIFEST)
    (self.path / PROGRESS).unlink()
    (self.path / ownership.OWNER).unlink(missing_ok=True)
    shutil.rmtree(self.path / ROW_PARTS)
    shutil.rmtree(old, ignore_errors=True)
    return self.path


def _link_or_copy(src: pathlib.Path, dst: pathlib.Path) -> None:
  dst.unlink(missing_ok=True)
  try:
    os.link(src, dst)
  except OSError:  # Another filesystem, or no hard links there.
    shutil.copyfile(src, dst)


def _save_npy(path: pathlib.Path, array: np.ndarray) -> None:
  with open(path, "wb") as f:
    np.save(f, array, allow_pickle=False)


def _rows_part(shard: Mapping[str, Any]) -> str:
  return f"{ROW_PARTS}/{pathlib.PurePath(shard['path']).stem}.parquet"


def _valid_prefix(partial: pathlib.Path, shards: list[dict], dim: int
                  ) -> list[dict]:
  """The committed shards up to the first missing or damaged one."""
  valid = []
  for shard in shards:
    try:
      arr = np.load(partial / shard["path"], mmap_mode="r", allow_pickle=False)
      rows = pq.read_metadata(partial / _rows_part(shard)).num_rows
    except (OSError, ValueError, EOFError, pa.ArrowException):
      break
    if (arr.shape != (shard["rows"], dim) or rows != shard["rows"] or
        sha256_file(partial / shard["path"]) != shard["sha256"]):
      break
    valid.append(shard)
  return valid


def _merge_rows(partial: pathlib.Path, shards: list[dict]) -> int:
  """Streams the per-shard row tables into one rows.parquet; returns rows."""
  parts = [partial / _rows_part(s) for s in shards]
  schema = pa.unify_schemas([pq.read_schema(p) for p in parts],
                            promote_options="permissive")
  count = 0

  def write(tmp: pathlib.Path) -> None:
    nonlocal count
    with pq.ParquetWriter(tmp, schema) as writer:
      for part in parts:
        table = pq.read_table(part)
        columns = [table.column(f.name).cast(f.type)
                   if f.name in table.column_names
                   else pa.nulls(table.num_rows, f.type) for f in schema]
        writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        count += table.num_rows

  _write_atomic(partial / ROWS, write)
  return count


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
                  manifest_extra: Mapping[str, Any] | None = None,
                  splits: Sequence[str] | None = None) -> pathlib.Path:
  """Writes a whole dataset in one call (atomic: see DatasetWriter)."""
  vectors = np.asarray(vectors)
  if vectors.ndim != 2:
    raise DatasetError(f"vectors must be [n, dim]; got shape {vectors.shape}.")
  with DatasetWriter(path, vectors.shape[1], manifest_extra) as w:
    w.add(ids, vectors, texts, metadata, splits)
  return pathlib.Path(path)


def iter_batches(ds: EmbeddingDataset, batch_size: int
                 ) -> Iterable[tuple[np.ndarray, np.ndarray]]:
  """Yields `(ids [b], vectors [b, dim])` in row order, reading lazily."""
  for start in range(0, len(ds), batch_size):
    stop = min(start + batch_size, len(ds))
    yield ds.ids[start:stop], ds.vectors[start:stop]
