"""Your own texts (JSONL / JSON / CSV / TSV / Parquet) x an encoder.

  python -m embtrans.embed --config=configs/embed/files.py:\
path=notes.jsonl,text_column=body,id_column=note_id,encoder=minilm

Args: path (a file or a glob; required), text_column (default 'text'),
id_column ('' = number the rows `<file stem>:<row>`), encoder (any registered
name: minilm, e5_small, minilm_static, tfidf_lsa, ...), mode (e5_small's
prefix: passage | query; '' = its default), format ('' = from the extension),
skip_empty (drop rows with an empty text instead of failing),
drop_duplicate_texts (keep only the first row of each text that occurs under
several ids; repeats are counted and reported either way), limit (0 = all rows), batch_size, shard_rows, name
(default '<file stem>/<encoder>', plus '-dedup' with drop_duplicate_texts: the
name training's `data.a=` / `data.b=` accept).
"""

import pathlib

import ml_collections

from embtrans import config_lib


def get_config(arg=None):
  arg = config_lib.parse_arg(
      arg, path="", text_column="text", id_column="", encoder="minilm",
      mode="", format="", skip_empty=False, drop_duplicate_texts=False,
      limit=0, batch_size=256, shard_rows=0, name="")
  c = ml_collections.ConfigDict()
  stem = pathlib.Path(arg.path).stem.replace("*", "") or "files"
  dedup = "-dedup" if arg.drop_duplicate_texts else ""
  c.name = arg.name or f"{stem}/{arg.encoder}{dedup}"
  source = dict(path=arg.path, text_column=arg.text_column,
                id_column=arg.id_column or None, skip_empty=arg.skip_empty,
                format=arg.format or None)
  c.source = dict(name="files", limit=arg.limit,
                  kwargs=ml_collections.ConfigDict(source))
  kwargs = {"mode": arg.mode} if arg.mode else {}
  c.encoder = dict(name=arg.encoder, kwargs=ml_collections.ConfigDict(kwargs))
  c.drop_duplicate_texts = arg.drop_duplicate_texts
  c.batch_size = arg.batch_size
  c.shard_rows = arg.shard_rows
  c.output = ""
  c.cache_dir = ""
  return c
