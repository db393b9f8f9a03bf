"""Build an embedding dataset: a text source x an encoder, or an import.

  python -m embtrans.embed --config=configs/embed/minilm_pydocs.py
  python -m embtrans.embed --config=configs/embed/t5_hotpotqa.py:\
data_files=/data/hotpot_dev.jsonl,model_path=/models/t5-small
  python -m embtrans.embed --config=configs/embed/precomputed.py:\
path=openai.parquet,model=openai/text-embedding-3-small

The dataset lands in the cache ($EMBTRANS_CACHE, default ~/.cache/embtrans)
under a name made from its fingerprint, or in --output. A second run with the
same source, model, pooling and max length opens it without loading the
model; a killed run continues from its last committed shard. Open the result
with `embtrans.data.load(<printed path or name>)`.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from ml_collections import config_flags

from embtrans.data import build
from embtrans.data import format as fmt

config_flags.DEFINE_config_file("config", None, "Config file, e.g. "
                                "configs/embed/minilm_pydocs.py[:arg].",
                                lock_config=True)
_OUTPUT = flags.DEFINE_string("output", None, "Build into this directory "
                              "instead of the cache (overrides config.output).")
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Cache root (overrides "
                                 "config.cache_dir and $EMBTRANS_CACHE).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a different "
                               "(or unreadable) dataset already at --output.")
_REBUILD = flags.DEFINE_bool("rebuild", False, "Build again from scratch even "
                             "if the dataset is complete: replaces a corrupt "
                             "one (only once the new one is complete).")
flags.mark_flags_as_required(["config"])

# Errors whose message is complete for the user: no traceback needed.
_USER_ERRORS = (ValueError, FileNotFoundError, fmt.DatasetError)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  try:
    ds, built, seconds = build.build_from_config(
        flags.FLAGS.config, _OUTPUT.value, _CACHE_DIR.value, _OVERWRITE.value,
        _REBUILD.value)
  except _USER_ERRORS as e:
    if os.environ.get("EMBTRANS_TRACEBACK"):
      raise
    sys.exit(f"embtrans.embed: error: {e}")
  print(build.summary(ds, built, seconds))


if __name__ == "__main__":
  app.run(main)
