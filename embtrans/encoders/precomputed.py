"""Vectors computed elsewhere (e.g. OpenAI embeddings), imported by id.

    enc = get_encoder("precomputed", path="openai.parquet",
                      model="openai/text-embedding-3-small", dim=1536)
    for ids, vectors in enc.iter_batches(65536):   # validated chunks
      ...

Formats, by extension:
  .npy      float [n, d] (read memory-mapped, `allow_pickle=False`) with
            `ids`: a .txt (one id per line), .json (a list) or .npy (a
            string array) file.
  .parquet  an id column and a vector column (a list of floats per row).
  .jsonl    one object per line: {"id": ..., "embedding": [...]}.

Every chunk is checked: a 2-D float array, the same dim throughout (and equal
to `dim` when given), finite values; ids are strings, non-empty, and unique
(the dataset writer checks uniqueness across chunks). Nothing is unpickled.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Iterator, Sequence

import numpy as np

from embtrans.data import digests
from embtrans.data.format import DatasetError
from embtrans.data.format import fingerprint
from embtrans.encoders import l2_normalize
from embtrans.encoders import semantic_arguments

FORMATS = (".npy", ".parquet", ".jsonl")
_VERSION = 1


def _read_ids(path: pathlib.Path) -> list[str]:
  """Ids from a .txt / .json / .npy file (no pickle)."""
  if not path.is_file():
    raise FileNotFoundError(f"ids file {path} does not exist.")
  if path.suffix == ".npy":
    try:
      arr = np.load(path, allow_pickle=False)
    except ValueError as e:
      raise DatasetError(f"{path}: ids must be a plain string array (no "
                         f"pickled objects): {e}") from e
    return [str(i) for i in arr.reshape(-1)]
  if path.suffix == ".json":
    return [str(i) for i in json.loads(path.read_text("utf-8"))]
  return path.read_text("utf-8").splitlines()


def check_chunk(ids: Sequence[str], vectors: np.ndarray, dim: int,
                offset: int, where: str) -> np.ndarray:
  """Validates one chunk; returns it as float32 `[len(ids), dim]`.

  Raises:
    DatasetError: naming the first bad row (number and id) and the problem.
  """
  vectors = np.asarray(vectors)
  if vectors.ndim != 2 or vectors.shape[0] != len(ids):
    raise DatasetError(f"{where}: rows {offset}..: vectors have shape "
                       f"{vectors.shape} for {len(ids)} ids.")
  if vectors.shape[1] != dim:
    raise DatasetError(f"{where}: row {offset} (id {ids[0]!r}) has "
                       f"{vectors.shape[1]} values; expected dim {dim}.")
  if not np.issubdtype(vectors.dtype, np.number):
    raise DatasetError(f"{where}: vectors have dtype {vectors.dtype}; expected"
                       " floats.")
  finite = np.isfinite(vectors).all(axis=1)
  if not finite.all():
    row, bad = int(np.argmin(finite)), int((~finite).sum())
    raise DatasetError(f"{where}: the vector of row {offset + row} (id "
                       f"{ids[row]!r}) contains NaN or inf ({bad} such rows "
                       "in this chunk). Fix the export.")
  empty = [i for i, x in enumerate(ids) if not x]
  if empty:
    raise DatasetError(f"{where}: row {offset + empty[0]} has an empty id.")
  return vectors.astype(np.float32, copy=False)


class PrecomputedEncoder:
  """Imports exported vectors (see the module docstring).

  Args:
    path: the .npy / .parquet / .jsonl file.
    ids: for .npy, the ids file (.txt, .json or .npy), row-aligned.
    id_column: the id field (.parquet / .jsonl).
    vector_column: the vector field (.parquet / .jsonl).
    model: what made the vectors (recorded in the manifest).
    dim: the expected dim (0: take it from the file).
    normalize: L2-normalise on import.
    name: the name recorded in manifests.
  """

  needs_fit = False
  modality = "ids"

  def __init__(self, path: str, ids: str | None = None, id_column: str = "id",
               vector_column: str = "embedding", model: str = "precomputed",
               dim: int = 0, normalize: bool = False,
               name: str = "precomputed"):
    self.path = pathlib.Path(path)
    self.kind = self.path.suffix.lower()
    if self.kind not in FORMATS:
      raise ValueError(f"precomputed: {path} has an unknown extension; use "
                       f"one of {FORMATS}.")
    if not self.path.is_file():
      raise FileNotFoundError(f"precomputed: {path} does not exist.")
    if self.kind == ".npy" and not ids:
      raise ValueError("precomputed: a .npy file needs ids=<file> (.txt, "
                       ".json or .npy) with one id per row; pairing is by id,"
                       " never by row order.")
    self.args = dict(path=str(path), ids=ids, id_column=id_column,
                     vector_column=vector_column, model=model, dim=dim,
                     normalize=normalize)
    self.name, self.model, self.normalized = name, model, bool(normalize)
    self.id_column, self.vector_column = id_column, vector_column
    self.ids_path = pathlib.Path(ids) if ids else None
    self.dim = self._file_dim()
    if dim and dim != self.dim:
      raise DatasetError(f"precomputed: {path} holds {self.dim}-d vectors; "
                         f"the config expects dim={dim}.")

  @classmethod
  def identity(cls, **arguments: Any) -> dict[str, Any]:
    """Digests of the files + the arguments that change the vectors."""
    files = [arguments["path"]] + ([arguments["ids"]] if arguments["ids"]
                                   else [])
    for f in files:
      if not pathlib.Path(f).is_file():
        raise FileNotFoundError(f"precomputed: {f} does not exist.")
    return {"files": digests.files_digest(files), "version": _VERSION,
            **semantic_arguments(arguments, ("name", "path", "ids"))}

  def fingerprint(self) -> str:
    return fingerprint(self.identity(**self.args))

  def fit(self, texts: Sequence[str]) -> None:
    del texts

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    raise TypeError("precomputed vectors are imported by id (iter_batches); "
                    "they cannot encode new texts.")

  def _file_dim(self) -> int:
    first = next(self._raw_batches(1, 0), None)
    if first is None:
      raise DatasetError(f"precomputed: {self.path} holds no vectors.")
    vectors = np.asarray(first[1])
    if vectors.ndim != 2:
      raise DatasetError(f"precomputed: {self.path}: vectors must be [n, dim];"
                         f" got shape {vectors.shape}.")
    return int(vectors.shape[1])

  def iter_batches(self, batch_rows: int, start: int = 0
                   ) -> Iterator[tuple[list[str], np.ndarray]]:
    """Yields validated `(ids, float32 [b, dim])` from row `start` on."""
    offset = start
    for ids, vectors in self._raw_batches(batch_rows, start):
      vectors = check_chunk(ids, vectors, self.dim, offset, str(self.path))
      yield ids, (l2_normalize(vectors) if self.normalized else vectors)
      offset += len(ids)

  def _raw_batches(self, batch_rows: int, start: int
                   ) -> Iterator[tuple[list[str], Any]]:
    reader = {".npy": self._npy, ".parquet": self._parquet,
              ".jsonl": self._jsonl}[self.kind]
    return reader(batch_rows, start)

  def _npy(self, batch_rows: int, start: int):
    try:
      vectors = np.load(self.path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
      raise DatasetError(f"{self.path}: not a plain numeric .npy array (no "
                         f"pickled objects are loaded): {e}") from e
    ids = _read_ids(self.ids_path)
    if len(ids) != len(vectors):
      raise DatasetError(f"{self.ids_path} has {len(ids)} ids for "
                         f"{len(vectors)} vectors in {self.path}.")
    for i in range(start, len(ids), batch_rows):
      yield ids[i:i + batch_rows], np.asarray(vectors[i:i + batch_rows])

  def _parquet(self, batch_rows: int, start: int):
    import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
    f = pq.ParquetFile(self.path)
    missing = {self.id_column, self.vector_column} - set(f.schema_arrow.names)
    if missing:
      raise DatasetError(f"{self.path} has no column(s) {sorted(missing)}; its"
                         f" columns are {f.schema_arrow.names}.")
    seen = 0
    for batch in f.iter_batches(batch_rows, columns=[self.id_column,
                                                     self.vector_column]):
      if seen + batch.num_rows > start:
        skip = max(start - seen, 0)
        part = batch.slice(skip)
        yield ([str(i) for i in part.column(0).to_pylist()],
               _list_column(part.column(1), str(self.path), seen + skip))
      seen += batch.num_rows

  def _jsonl(self, batch_rows: int, start: int):
    ids, rows, row = [], [], -1
    with open(self.path, encoding="utf-8") as f:
      for line_no, line in enumerate(f, 1):
        if not line.strip():
          continue
        row += 1
        if row < start:
          continue
        try:
          obj = json.loads(line)
          ids.append(str(obj[self.id_column]))
          rows.append(obj[self.vector_column])
        except (ValueError, KeyError, TypeError) as e:
          raise DatasetError(f"{self.path}:{line_no}: expected {{"
                             f"{self.id_column!r}: ..., {self.vector_column!r}"
                             f": [...]}} ({type(e).__name__}: {e}).") from e
        if len(ids) == batch_rows:
          yield ids, _stack(rows, str(self.path), row + 1 - len(ids))
          ids, rows = [], []
    if ids:
      yield ids, _stack(rows, str(self.path), row + 1 - len(ids))


def _stack(rows: list[Any], where: str, offset: int) -> np.ndarray:
  lengths = {len(r) if isinstance(r, list) else -1 for r in rows}
  if len(lengths) != 1 or -1 in lengths:
    raise DatasetError(f"{where}: rows {offset}..{offset + len(rows) - 1} have"
                       f" vectors of different lengths {sorted(lengths)}: the "
                       "dim must be the same for every row.")
  try:
    return np.asarray(rows, dtype=np.float64)
  except (TypeError, ValueError) as e:
    raise DatasetError(f"{where}: rows {offset}..: non-numeric vector values "
                       f"({e}).") from e


def _list_column(column, where: str, offset: int) -> np.ndarray:
  """A list<float> Arrow column -> [rows, dim], checking equal lengths."""
  import pyarrow as pa  # pylint: disable=g-import-not-at-top
  if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
          or pa.types.is_fixed_size_list(column.type)):
    raise DatasetError(f"{where}: the vector column has type {column.type};"
                       " expected a list of floats per row.")
  if column.null_count:
    raise DatasetError(f"{where}: {column.null_count} row(s) from row "
                       f"{offset} have no vector (null).")
  lengths = np.asarray(column.value_lengths())
  if len(lengths) and (lengths != lengths[0]).any():
    row = int(np.argmax(lengths != lengths[0]))
    raise DatasetError(f"{where}: row {offset + row} has {lengths[row]} values"
                       f" but row {offset} has {lengths[0]}: the dim must be "
                       "the same for every row.")
  values = column.flatten().to_numpy(zero_copy_only=False)
  return values.reshape(len(column), int(lengths[0]) if len(lengths) else 0)
