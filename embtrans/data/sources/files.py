"""Local files as a text source: JSONL / JSON / CSV / TSV / Parquet.

    get_source("files", path="notes.jsonl", text_column="body",
               id_column="note_id")

Each row gives one text. Ids come from `id_column` (made str; they must be
unique and non-null), or, without one, from the row number:
`<id_prefix>:<row>` (prefix: the file's stem). Every other scalar column
becomes metadata (or only `metadata_columns`). Files are read with pyarrow, in
sorted order when `path` is a glob; the fingerprint covers their bytes.
"""

from __future__ import annotations

import glob
import json
import pathlib
from typing import Any, Sequence

import pyarrow as pa

from embtrans.data import digests
from embtrans.data.format import DatasetError
from embtrans.data.format import fingerprint
from embtrans.data.sources import TextRecord
from embtrans.data.sources import TextSource

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet")
_VERSION = 1


def _format_of(path: pathlib.Path, fmt: str | None) -> str:
  fmt = fmt or {".ndjson": "jsonl"}.get(path.suffix.lower(),
                                          path.suffix.lower().lstrip("."))
  if fmt not in FORMATS:
    raise ValueError(f"{path}: unknown file format {fmt!r}; use one of "
                     f"{FORMATS} (or pass format=...).")
  return fmt


def read_table(path: pathlib.Path, fmt: str) -> pa.Table:
  """The whole file as an Arrow table."""
  import pyarrow.csv  # pylint: disable=g-import-not-at-top
  import pyarrow.json  # pylint: disable=g-import-not-at-top
  import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
  try:
    if fmt == "parquet":
      return pq.read_table(path)
    if fmt in ("csv", "tsv"):
      return pyarrow.csv.read_csv(path, parse_options=pyarrow.csv.ParseOptions(
          delimiter="\t" if fmt == "tsv" else ","))
    with open(path, encoding="utf-8") as f:
      head = f.read(1024).lstrip()
    if fmt == "json" and head.startswith("["):
      return pa.Table.from_pylist(json.loads(path.read_text("utf-8")))
    return pyarrow.json.read_json(path)
  except (pa.ArrowException, ValueError, UnicodeDecodeError) as e:
    raise DatasetError(f"{path} could not be read as {fmt}: {e}") from e


def _scalar(field: pa.Field) -> bool:
  t = field.type
  return (pa.types.is_string(t) or pa.types.is_large_string(t) or
          pa.types.is_integer(t) or pa.types.is_floating(t) or
          pa.types.is_boolean(t))


def _ids(table: pa.Table, path: pathlib.Path, id_column: str | None,
         prefix: str) -> list[str]:
  if id_column is None:
    return [f"{prefix}:{i}" for i in range(table.num_rows)]
  values = table.column(id_column).to_pylist()
  nulls = [i for i, v in enumerate(values) if v is None or v == ""]
  if nulls:
    raise DatasetError(f"{path}: {len(nulls)} row(s) have no {id_column!r} "
                       f"(e.g. rows {nulls[:3]}). Every row needs an id.")
  return [str(v) for v in values]


def table_records(table: pa.Table, path: pathlib.Path, text_column: str,
                  id_column: str | None, metadata_columns: Sequence[str] | None,
                  prefix: str, skip_empty: bool) -> list[TextRecord]:
  """One record per row of `table`."""
  for col in [text_column] + ([id_column] if id_column else []) + list(
      metadata_columns or []):
    if col not in table.column_names:
      raise DatasetError(f"{path} has no column {col!r}; its columns are "
                         f"{table.column_names}.")
  meta_cols = list(metadata_columns) if metadata_columns is not None else [
      f.name for f in table.schema if _scalar(f)
      and f.name not in (text_column, id_column)]
  ids = _ids(table, path, id_column, prefix)
  texts = table.column(text_column).to_pylist()
  meta = {c: table.column(c).to_pylist() for c in meta_cols}
  out = []
  for row, (rid, text) in enumerate(zip(ids, texts)):
    if skip_empty and (text is None or not str(text).strip()):
      continue
    out.append(TextRecord(rid, "" if text is None else str(text),
                          {c: meta[c][row] for c in meta_cols}))
  return out


def files_source(path: str, text_column: str = "text",
                 id_column: str | None = None,
                 metadata_columns: Sequence[str] | None = None,
                 id_prefix: str | None = None, skip_empty: bool = False,
                 format: str | None = None) -> TextSource:  # pylint: disable=redefined-builtin
  """Texts from local file(s) (see the module docstring).

  Args:
    path: a file, or a glob (files are read in sorted order).
    text_column: the column holding the text.
    id_column: the column holding unique ids; None numbers the rows.
    metadata_columns: columns kept as metadata; None = all other scalars.
    id_prefix: prefix of row-number ids (default: each file's stem).
    skip_empty: drop rows whose text is empty instead of failing.
    format: one of FORMATS; default from the extension.
  """
  if not str(path or "").strip():
    raise ValueError("The files source needs a path: e.g. --config=configs/"
                     "embed/files.py:path=notes.jsonl,text_column=body")
  files = [pathlib.Path(p) for p in sorted(glob.glob(str(path)))]
  if not files:
    raise FileNotFoundError(f"Text file {path!r} does not exist (or the glob"
                            " matches nothing).")
  kinds = [_format_of(p, format) for p in files]
  args: dict[str, Any] = dict(
      path=str(path), text_column=text_column, id_column=id_column,
      metadata_columns=list(metadata_columns) if metadata_columns else None,
      id_prefix=id_prefix, skip_empty=skip_empty, format=format)

  def records(limit: int | None) -> list[TextRecord]:
    out: list[TextRecord] = []
    for p, kind in zip(files, kinds):
      out.extend(table_records(read_table(p, kind), p, text_column, id_column,
                               metadata_columns, id_prefix or p.stem,
                               skip_empty))
      if limit and len(out) >= limit:
        return out[:limit]
    return out

  def source_fingerprint() -> str:
    # File names matter only through row ids (`<stem>:<row>`).
    return fingerprint("files", _VERSION, {**args, "path": None},
                       [p.stem for p in files], digests.files_digest(files))

  return TextSource("files", records, source_fingerprint, args)
