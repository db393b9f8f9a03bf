"""all-MiniLM-L6-v2 x the offline default corpus (stdlib docstrings).

  python -m embtrans.embed --config=configs/embed/minilm_pydocs.py
  python -m embtrans.embed --config=configs/embed/minilm_pydocs.py:limit=500

The result is the same cache entry `resolve_dataset("minilm")` and the
translator configs (`data.a=minilm`) use, so training reuses it. Any encoder
of the registry runs on this corpus with `encoder=<name>` (e.g. minilm_static,
tfidf_lsa).
"""

import ml_collections

from embtrans import config_lib


def get_config(arg=None):
  arg = config_lib.parse_arg(arg, limit=0, encoder="minilm", batch_size=256,
                             shard_rows=0, name="")
  c = ml_collections.ConfigDict()
  c.name = arg.name
  c.source = dict(name="pydocs", limit=arg.limit,
                  kwargs=ml_collections.ConfigDict())
  # No encoder kwargs: the cache key then equals the one training uses.
  c.encoder = dict(name=arg.encoder, kwargs=ml_collections.ConfigDict())
  c.batch_size = arg.batch_size
  c.shard_rows = arg.shard_rows
  c.output = ""
  c.cache_dir = ""
  return c
