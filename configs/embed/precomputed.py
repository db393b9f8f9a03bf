"""Import vectors computed elsewhere (e.g. OpenAI embeddings) by id.

  # .parquet with columns id, embedding (list of floats):
  python -m embtrans.embed --config=configs/embed/precomputed.py:\
path=openai.parquet,model=openai/text-embedding-3-small,dim=1536
  # .npy [n, d] plus an ids file (.txt one per line, .json or .npy):
  python -m embtrans.embed --config=configs/embed/precomputed.py:\
path=vectors.npy,ids=ids.txt
  # .jsonl {"id": ..., "embedding": [...]} per line, with the texts and
  # metadata of the source they were made from (ids must match):
  python -m embtrans.embed --config=configs/embed/precomputed.py:\
path=vecs.jsonl,source=hotpotqa,source_path=/data/hotpot_dev.jsonl

Args: path, ids, id_column, vector_column, model (recorded in the manifest),
dim (0 = from the file; else it must match), normalize (L2 on import),
source ('' | pydocs | hotpotqa | files), source_path (hotpotqa data_files or
the files source's path), text_column (files source), limit, name.
"""

import ml_collections

from embtrans import config_lib


def _source_kwargs(arg) -> dict:
  if arg.source == "hotpotqa":
    return {"data_files": arg.source_path} if arg.source_path else {}
  if arg.source == "files":
    return {"path": arg.source_path, "text_column": arg.text_column}
  return {}


def get_config(arg=None):
  arg = config_lib.parse_arg(
      arg, path="", ids="", id_column="id", vector_column="embedding",
      model="precomputed", dim=0, normalize=False, source="", source_path="",
      text_column="text", limit=0, batch_size=8192, shard_rows=0, name="")
  c = ml_collections.ConfigDict()
  c.name = arg.name or f"{arg.source or 'import'}/{arg.model}"
  c.source = dict(name=arg.source, limit=arg.limit,
                  kwargs=ml_collections.ConfigDict(_source_kwargs(arg)))
  c.encoder = dict(name="precomputed", kwargs=ml_collections.ConfigDict(dict(
      path=arg.path, ids=arg.ids or None, id_column=arg.id_column,
      vector_column=arg.vector_column, model=arg.model, dim=arg.dim,
      normalize=arg.normalize)))
  c.batch_size = arg.batch_size
  c.shard_rows = arg.shard_rows
  c.output = ""
  c.cache_dir = ""
  return c
