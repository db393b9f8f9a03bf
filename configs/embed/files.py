"""Your own texts (JSONL / JSON / CSV / TSV / Parquet) x one or more encoders.

  python -m embtrans.embed --config=configs/embed/files.py:\
path=notes.jsonl,text_column=body,id_column=note_id,encoder=minilm
  python -m embtrans.embed --config=configs/embed/files.py:\
path=notes.jsonl,text_column=body,id_column=note_id,encoder=minilm+tfidf_lsa

Args: path (a file or a glob; required), text_column (default 'text'),
id_column ('' = number the rows `<file stem>:<row>`), encoder (any registered
name: minilm, e5_small, minilm_static, tfidf_lsa, ...; several joined by '+'
build one dataset each, over the same rows), mode (e5_small's prefix:
passage | query; '' = its default), lsa_dim (tfidf_lsa's dim; 0 = its
default, 256, which needs more than 256 training texts), format ('' = from
the extension), skip_empty (drop rows with an empty text instead of
failing), drop_duplicate_texts (keep only the first row of each text that
occurs under several ids; repeats are counted and reported either way),
limit (0 = all rows), batch_size, shard_rows, name (default
'<file stem>/<encoder>', plus '-dedup' with drop_duplicate_texts: the name
training's `data.a=` / `data.b=` accept; one encoder only).
"""

import pathlib

import ml_collections

from embtrans import config_lib


def _encoder_kwargs(name: str, arg) -> dict:
  """The arguments of `name` among mode (e5_small) and lsa_dim (tfidf_lsa)."""
  kwargs = {}
  if arg.mode and name == "e5_small":
    kwargs["mode"] = arg.mode
  if arg.lsa_dim and name == "tfidf_lsa":
    kwargs["dim"] = arg.lsa_dim
  return kwargs


def get_config(arg=None):
  arg = config_lib.parse_arg(
      arg, path="", text_column="text", id_column="", encoder="minilm",
      mode="", lsa_dim=0, format="", skip_empty=False,
      drop_duplicate_texts=False, limit=0, batch_size=256, shard_rows=0,
      name="")
  names = [n.strip() for n in arg.encoder.split("+") if n.strip()]
  if not names:
    raise ValueError("encoder= names no encoder (e.g. encoder=minilm).")
  if arg.mode and "e5_small" not in names:
    raise ValueError("mode= is e5_small's prefix; no encoder here is "
                     "e5_small.")
  if arg.lsa_dim and "tfidf_lsa" not in names:
    raise ValueError("lsa_dim= is tfidf_lsa's dim; no encoder here is "
                     "tfidf_lsa.")
  if arg.name and len(names) > 1:
    raise ValueError(f"name= names one dataset; {len(names)} encoders build "
                     "one each, named <file stem>/<encoder>: drop name=.")
  c = ml_collections.ConfigDict()
  stem = pathlib.Path(arg.path).stem.replace("*", "") or "files"
  dedup = "-dedup" if arg.drop_duplicate_texts else ""
  c.name = arg.name or f"{stem}/{names[0]}{dedup}"
  source = dict(path=arg.path, text_column=arg.text_column,
                id_column=arg.id_column or None, skip_empty=arg.skip_empty,
                format=arg.format or None)
  c.source = dict(name="files", limit=arg.limit,
                  kwargs=ml_collections.ConfigDict(source))
  c.encoder = dict(name=names[0], kwargs=ml_collections.ConfigDict(
      _encoder_kwargs(names[0], arg)))
  # The datasets after the first (embtrans.embed builds them in turn).
  c.more = tuple(dict(name=f"{stem}/{n}{dedup}", encoder=n,
                      kwargs=_encoder_kwargs(n, arg)) for n in names[1:])
  c.drop_duplicate_texts = arg.drop_duplicate_texts
  c.batch_size = arg.batch_size
  c.shard_rows = arg.shard_rows
  c.output = ""
  c.cache_dir = ""
  return c
