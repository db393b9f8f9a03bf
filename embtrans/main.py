"""Train and evaluate an embedding translator.

  python -m embtrans.main --config=configs/mlp32x.py --workdir=/tmp/run1

Everything else lives in `embtrans.train.train_and_evaluate`, which tests call
directly; this file only parses flags.
"""

import importlib
import logging as std_logging
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from embtrans import checkpointing
from embtrans import sharding
from embtrans import train
from embtrans.data import format as data_format

# config.trainer -> module with train_and_evaluate(config, workdir) -> dict.
TRAINERS = {"translator": "embtrans.train",
            "alignment": "embtrans.alignment.train"}

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, "
                               "logs, config.json and results.json.")
config_flags.DEFINE_config_file("config", None, "Config file, e.g. "
                                "configs/mlp32x.py[:arg].", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])

# Errors that carry a complete message for the user: no traceback needed.
_USER_ERRORS = (ValueError, FileNotFoundError, data_format.DatasetError,
                checkpointing.CheckpointError, train.TrainingDivergedError)


class _QuietLibraries(std_logging.Filter):
  """Drops INFO chatter from Orbax (one line per save phase)."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or (
        "orbax" not in record.pathname)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.get_absl_handler().addFilter(_QuietLibraries())
  sharding.initialize_distributed()
  logging.info("JAX %s, %d devices (%s).", jax.__version__,
               jax.device_count(), jax.devices()[0].platform)
  config = flags.FLAGS.config
  name = config.get("trainer", "translator")
  if name not in TRAINERS:
    sys.exit(f"embtrans: error: unknown config.trainer {name!r}; known: "
             f"{sorted(TRAINERS)}.")
  trainer = importlib.import_module(TRAINERS[name])
  try:
    results = trainer.train_and_evaluate(config, _WORKDIR.value)
  except _USER_ERRORS as e:
    if os.environ.get("EMBTRANS_TRACEBACK"):
      raise
    sys.exit(f"embtrans: error: {e}")
  keys = [k for k in sorted(results) if k.startswith(("test/", "baseline"))]
  width = max(map(len, keys))
  print("\n".join(f"{k:<{width}}  {results[k]:.6g}" for k in keys))
  print(f"Wrote {_WORKDIR.value}/results.json")


if __name__ == "__main__":
  app.run(main)
