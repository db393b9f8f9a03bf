"""configs/embed/files.py: a user's own JSONL / CSV / Parquet file, built
from a shipped config and found again by the name training's data.a= takes."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from embtrans.data import build
from tests import embed_helpers
from tests import helpers

ROWS = [{"note_id": "n1", "body": "The kettle boils water for tea.",
         "topic": "home"},
        {"note_id": "n2", "body": "Compilers translate source code.",
         "topic": "cs"},
        {"note_id": "n3", "body": "Bread rises when the yeast is warm.",
         "topic": "home"}]


def _write(path):
  table = pa.Table.from_pylist(ROWS)
  if path.suffix == ".jsonl":
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
  elif path.suffix == ".csv":
    import pyarrow.csv  # pylint: disable=g-import-not-at-top
    pyarrow.csv.write_csv(table, path)
  else:
    pq.write_table(table, path)
  return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_own_file_from_the_shipped_config(tmp_path, suffix):
  encoder = embed_helpers.register_hash_encoder()
  path = _write(tmp_path / f"notes{suffix}")
  config = helpers.load_config(
      "embed/files", f"path={path},text_column=body,id_column=note_id,"
      f"encoder={encoder}")
  ds, built, _ = build.build_from_config(config, cache_dir=str(tmp_path / "c"))
  assert built and ds.name == f"notes/{encoder}" and ds.dim == 8
  assert ds.ids.tolist() == ["n1", "n2", "n3"]
  assert ds.column("text").tolist() == [r["body"] for r in ROWS]
  assert ds.column("topic").tolist() == ["home", "cs", "home"]
  m = ds.manifest
  assert m["text_source"] == "files" and m["source_config"]["path"] == str(path)
  assert m["source_config"]["id_column"] == "note_id"
  # The name is what `data.a=` / `data.b=` accept.
  found = build.resolve_dataset(f"notes/{encoder}", cache_dir=tmp_path / "c")
  assert found.path == ds.path


def test_rows_are_numbered_without_an_id_column(tmp_path):
  encoder = embed_helpers.register_hash_encoder()
  path = _write(tmp_path / "notes.jsonl")
  config = helpers.load_config(
      "embed/files", f"path={path},text_column=body,encoder={encoder},"
      "name=mine")
  ds, _, _ = build.build_from_config(config, cache_dir=str(tmp_path / "c"))
  assert ds.ids.tolist() == ["notes:0", "notes:1", "notes:2"]
  assert ds.name == "mine"


def test_missing_path_or_column_is_one_clear_error(tmp_path):
  with pytest.raises(ValueError, match="needs a path: e.g. --config=configs/"
                     "embed/files.py:path="):
    build.build_from_config(helpers.load_config("embed/files"),
                            cache_dir=str(tmp_path / "c"))
  path = _write(tmp_path / "notes.jsonl")
  with pytest.raises(ValueError, match="no column 'text'; its columns are "
                     r"\['note_id', 'body', 'topic'\]"):
    build.build_from_config(helpers.load_config(
        "embed/files", f"path={path},encoder="
        f"{embed_helpers.register_hash_encoder()}"),
                            cache_dir=str(tmp_path / "c"))
  # No dataset, no partial, no lock file.
  assert not list((tmp_path / "c").glob("*-*"))
