"""The on-disk token-dataset format: per-example token sequences of a frozen encoder.

The sibling of the embedding-dataset format (`embtrans.data.format`), for
encoders whose output is a sequence (ViT patch tokens, a text model's last
hidden states). A dataset is a directory:

    <dir>/manifest.json   written last: its presence means "complete"
    <dir>/rows.parquet    one row per example: id, split, length, text, metadata
    <dir>/tokens.npy      [n, max_tokens, dim] float16 or float32, memory-mapped;
                          positions >= length are zero padding

The manifest records dims, dtype, the encoder and source, a fingerprint and the
SHA-256 of tokens.npy. Writers fill `<dir>.partial/` and rename it into place,
and the split is `format.split_of(id)` unless the source defines its own (for
example COCO's Karpathy split), exactly as for embedding datasets.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from embtrans.data import format as fmt
from embtrans.data import ownership

FORMAT_NAME = "embtrans.token_dataset"
FORMAT_VERSION = 1
TOKENS = "tokens.npy"
DTYPES = ("float16", "float32")


@dataclasses.dataclass
class TokenDataset:
  """An opened token dataset.

  Attributes:
    path: its directory.
    manifest: the parsed manifest.json.
    ids: [n] str ids, unique.
    splits: [n] split names ('train', 'test', ...).
    lengths: [n] int32 valid tokens per example (>= 1).
    tokens: [n, max_tokens, dim] memory-mapped (float16 or float32).
    rows: the rows table.
  """

  path: pathlib.Path
  manifest: dict
  ids: np.ndarray
  splits: np.ndarray
  lengths: np.ndarray
  tokens: np.ndarray
  rows: pa.Table

  @property
  def dim(self) -> int:
    return int(self.manifest["dim"])

  @property
  def max_tokens(self) -> int:
    return int(self.manifest["max_tokens"])

  def __len__(self) -> int:
    return len(self.ids)

  def column(self, name: str) -> np.ndarray:
    if name not in self.rows.column_names:
      raise KeyError(f"{self.path}: no column {name!r}; columns are "
                     f"{self.rows.column_names}")
    return self.rows.column(name).to_numpy(zero_copy_only=False)


class TokenDatasetWriter:
  """Writes `count` examples into `<dir>.partial/`, then renames it into place.

  Usage:
    with TokenDatasetWriter(path, count, max_tokens, dim, "float16") as w:
      w.add(ids, tokens [b, t <= max_tokens, dim], lengths [b], texts=...)
  On an exception nothing is renamed and an existing `<dir>` is untouched.
  """

  def __init__(self, path: os.PathLike, count: int, max_tokens: int,
               dim: int, dtype: str = "float16",
               manifest_extra: Mapping[str, Any] | None = None):
    if dtype not in DTYPES:
      raise fmt.DatasetError(f"token dtype must be one of {DTYPES}, got "
                             f"{dtype!r}.")
    if min(count, max_tokens, dim) < 1:
      raise fmt.DatasetError(f"count, max_tokens and dim must be >= 1, got "
                             f"{count}, {max_tokens}, {dim}.")
    self.path = pathlib.Path(path)
    self.partial = self.path.with_name(self.path.name + ".partial")
    self.shape = (int(count), int(max_tokens), int(dim))
    self.dtype = dtype
    self.extra = dict(manifest_extra or {})
    self._rows: list[pa.Table] = []
    self._filled = 0
    self._seen: set[str] = set()
    self._array: np.ndarray | None = None

  def __enter__(self) -> "TokenDatasetWriter":
    if self.partial.exists():
      shutil.rmtree(self.partial)
    self.partial.mkdir(parents=True)
    ownership.record_owner(self.partial)  # Cleaned if this process dies.
    self._array = np.lib.format.open_memmap(
        self.partial / TOKENS, mode="w+", dtype=self.dtype, shape=self.shape)
    return self

  def __exit__(self, exc_type, exc, tb) -> None:
    if exc_type is None:
      self.close()

  def add(self, ids: Sequence[str], tokens: np.ndarray, lengths: np.ndarray,
          texts: Sequence[str] | None = None,
          metadata: Mapping[str, Sequence[Any]] | None = None,
          splits: Sequence[str] | None = None) -> None:
    """Appends examples; `tokens: [b, t, dim]` with t <= max_tokens, finite."""
    ids = [str(i) for i in ids]
    tokens, lengths = np.asarray(tokens), np.asarray(lengths, np.int32)
    _check_batch(ids, tokens, lengths, self.shape, self._filled, self._seen)
    self._seen.update(ids)
    stop = self._filled + len(ids)
    t = tokens.shape[1]
    self._array[self._filled:stop] = 0
    self._array[self._filled:stop, :t] = tokens.astype(self.dtype)
    pad = np.arange(self.shape[1])[None, :] >= lengths[:, None]
    self._array[self._filled:stop][pad] = 0
    self._filled = stop
    columns: dict[str, Any] = {
        "id": ids, "split": list(splits) if splits is not None else [
            fmt.split_of(i) for i in ids], "length": lengths.tolist()}
    if texts is not None:
      columns["text"] = list(texts)
    for key, values in (metadata or {}).items():
      columns[key] = list(values)
    self._rows.append(pa.table(columns))

  def close(self) -> pathlib.Path:
    if self._filled != self.shape[0]:
      raise fmt.DatasetError(f"{self.path}: {self._filled} examples written, "
                             f"{self.shape[0]} announced; nothing was saved.")
    self._array.flush()
    self._array = None
    rows = pa.concat_tables(self._rows, promote_options="default")
    pq.write_table(rows, self.partial / fmt.ROWS)
    splits = rows.column("split").to_pylist()
    manifest = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "count": self.shape[0], "max_tokens": self.shape[1],
        "dim": self.shape[2], "dtype": self.dtype,
        "splits": {s: splits.count(s) for s in sorted(set(splits))},
        "tokens": {"path": TOKENS, "sha256": fmt.sha256_file(
            self.partial / TOKENS)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **self.extra,
    }
    (self.partial / ownership.OWNER).unlink()
    (self.partial / fmt.MANIFEST).write_text(json.dumps(manifest, indent=2))
    if self.path.exists():
      shutil.rmtree(self.path)
    os.replace(self.partial, self.path)
    return self.path


def _check_batch(ids: list[str], tokens: np.ndarray, lengths: np.ndarray,
                 shape: tuple[int, int, int], filled: int,
                 seen: set[str]) -> None:
  count, max_tokens, dim = shape
  if tokens.ndim != 3 or tokens.shape[0] != len(ids) or (
      tokens.shape[2] != dim) or tokens.shape[1] > max_tokens:
    raise fmt.DatasetError(
        f"tokens have shape {tokens.shape}; expected ({len(ids)}, <= "
        f"{max_tokens}, {dim}).")
  if lengths.shape != (len(ids),) or (lengths < 1).any() or (
      lengths > tokens.shape[1]).any():
    raise fmt.DatasetError(f"lengths must be [{len(ids)}] ints in [1, "
                           f"{tokens.shape[1]}].")
  if filled + len(ids) > count:
    raise fmt.DatasetError(f"more than the announced {count} examples.")
  if not np.isfinite(tokens).all():
    raise fmt.DatasetError("tokens contain NaN or inf; refusing to write.")
  dup = [i for i in ids if i in seen]
  if dup or len(set(ids)) != len(ids):
    raise fmt.DatasetError(f"duplicate ids, e.g. {(dup or ids)[:3]}.")


def open_token_dataset(path: os.PathLike, verify: bool | None = None
                       ) -> TokenDataset:
  """Opens a complete token dataset; tokens stay memory-mapped.

  Args:
    path: the dataset directory.
    verify: check tokens.npy's SHA-256; None = only below 1 GiB.

  Raises:
    DatasetError: naming the file that is missing, corrupt or inconsistent.
  """
  path = pathlib.Path(path)
  manifest = _read_manifest(path)
  shape = (int(manifest["count"]), int(manifest["max_tokens"]),
           int(manifest["dim"]))
  tpath = path / manifest["tokens"]["path"]
  if verify is None:
    verify = tpath.is_file() and tpath.stat().st_size < fmt.VERIFY_AUTO_BYTES
  if verify and fmt.sha256_file(tpath) != manifest["tokens"]["sha256"]:
    raise fmt.DatasetError(f"{tpath} does not match its checksum in the "
                           "manifest: the file is corrupt. Rebuild it.")
  try:
    tokens = np.load(tpath, mmap_mode="r", allow_pickle=False)
  except (OSError, ValueError, EOFError) as e:
    raise fmt.DatasetError(f"{tpath} is unreadable or truncated ({e}). "
                           "Rebuild the dataset.") from e
  if tokens.shape != shape or tokens.dtype != np.dtype(manifest["dtype"]):
    raise fmt.DatasetError(f"{tpath} is {tokens.dtype} {tokens.shape}; the "
                           f"manifest says {manifest['dtype']} {shape}.")
  try:
    rows = pq.read_table(path / fmt.ROWS)
  except (OSError, pa.ArrowException) as e:
    raise fmt.DatasetError(f"{path / fmt.ROWS} is unreadable ({e}).") from e
  if rows.num_rows != shape[0]:
    raise fmt.DatasetError(f"{path / fmt.ROWS} has {rows.num_rows} rows; the"
                           f" manifest says {shape[0]}.")
  col = lambda n: rows.column(n).to_numpy(zero_copy_only=False)  # pylint: disable=unnecessary-lambda-assignment
  return TokenDataset(path, manifest, col("id").astype(str),
                      col("split").astype(str),
                      col("length").astype(np.int32), tokens, rows)


def _read_manifest(path: pathlib.Path) -> dict:
  mpath = path / fmt.MANIFEST
  if not mpath.is_file():
    raise fmt.DatasetError(
        f"{path} is not a complete token dataset (no {fmt.MANIFEST}). A build"
        " may have been interrupted: rerun the command that builds it.")
  try:
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
  except (OSError, json.JSONDecodeError) as e:
    raise fmt.DatasetError(f"{mpath} is unreadable or corrupt ({e}).") from e
  if manifest.get("format") != FORMAT_NAME:
    raise fmt.DatasetError(f"{mpath} is not an embtrans token dataset "
                           f"(format={manifest.get('format')!r}).")
  if manifest.get("version", 0) > FORMAT_VERSION:
    raise fmt.DatasetError(f"{path} has token-dataset version "
                           f"{manifest['version']}; this embtrans reads up to"
                           f" {FORMAT_VERSION}.")
  return manifest
