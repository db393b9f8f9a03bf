"""all-MiniLM-L6-v2 x the offline default corpus (stdlib docstrings).

  python -m embtrans.embed --config=configs/embed/minilm_pydocs.py
  python -m embtrans.embed --config=configs/embed/minilm_pydocs.py:limit=500

The result is the same cache entry `resolve_dataset("minilm")` and the
translator configs (`data.a=minilm`) use, so training reuses it. Any encoder
of the registry runs on this corpus with `encoder=<name>` (e.g. minilm_static,
tfidf_lsa, e5_small); `mode=query|passage` sets e5_small's prefix (default:
passage, the cache entry `data.a=e5_small` uses):

  python -m embtrans.embed --config=configs/embed/minilm_pydocs.py:\
encoder=e5_small,mode=query
"""

import ml_collections

from embtrans import config_lib


def get_config(arg=None):
  arg = config_lib.parse_arg(arg, limit=0, encoder="minilm", mode="",
                             batch_size=256, shard_rows=0, name="")
  c = ml_collections.ConfigDict()
  # A query-mode dataset is named apart from the default (passage) one.
  c.name = arg.name or (f"pydocs/{arg.encoder}-{arg.mode}"
                        if arg.mode and arg.mode != "passage" else "")
  c.source = dict(name="pydocs", limit=arg.limit,
                  kwargs=ml_collections.ConfigDict())
  # No encoder kwargs by default: the cache key then equals the one training
  # uses (for e5_small, mode=passage gives that same key).
  kwargs = {"mode": arg.mode} if arg.mode else {}
  c.encoder = dict(name=arg.encoder, kwargs=ml_collections.ConfigDict(kwargs))
  c.batch_size = arg.batch_size
  c.shard_rows = arg.shard_rows
  c.output = ""
  c.cache_dir = ""
  return c
