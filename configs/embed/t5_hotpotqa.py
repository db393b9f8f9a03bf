"""A T5 encoder (mean pooled) x HotPotQA questions and context paragraphs.

From local files in HotPotQA's schema and a local T5 checkpoint (T5, GTR or
sentence-T5 saved with save_pretrained, safetensors):

  python -m embtrans.embed --config=configs/embed/t5_hotpotqa.py:\
data_files=/data/hotpot_dev_distractor.jsonl,model_path=/models/t5-small

From the hub (where it is reachable; `datasets` caches the download):

  python -m embtrans.embed --config=configs/embed/t5_hotpotqa.py:\
split=validation,model_path=/models/gtr-t5-base

Args: data_files (JSON/JSONL/Parquet or a glob; '' = the hub), model_path,
config (distractor | fullwiki), split, include (both | questions |
paragraphs), limit (0 = all texts), pooling (mean | cls | last), max_length,
drop_duplicate_texts (keep only the first of a text that occurs under several
ids; repeats are reported either way), batch_size, name.
"""

import ml_collections

from embtrans import config_lib


def get_config(arg=None):
  arg = config_lib.parse_arg(
      arg, data_files="", model_path="", config="distractor",
      split="validation", include="both", limit=0, pooling="mean",
      max_length=256, drop_duplicate_texts=False, batch_size=64, shard_rows=0,
      name="")
  c = ml_collections.ConfigDict()
  split = "local" if arg.data_files else arg.split
  c.name = arg.name or f"hotpotqa-{split}/t5"
  source = dict(config=arg.config, split=arg.split, include=arg.include)
  if arg.data_files:
    source["data_files"] = arg.data_files
  c.source = dict(name="hotpotqa", limit=arg.limit,
                  kwargs=ml_collections.ConfigDict(source))
  c.encoder = dict(name="t5", kwargs=ml_collections.ConfigDict(dict(
      path=arg.model_path, pooling=arg.pooling, max_length=arg.max_length,
      batch_size=arg.batch_size)))
  c.drop_duplicate_texts = arg.drop_duplicate_texts
  c.batch_size = 4 * arg.batch_size
  c.shard_rows = arg.shard_rows
  c.output = ""
  c.cache_dir = ""
  return c
