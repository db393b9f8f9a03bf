"""Run a translator grid.

  python -m embtrans.sweep --config=configs/grid.py --workdir=/tmp/grid
  python -m embtrans.sweep --config=configs/grid.py:tiny=True --workdir=...

Rerunning with the same --workdir skips finished members and resumes the
others from their program's latest checkpoint. Then:
  python -m embtrans.report /tmp/grid
"""

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
from embtrans.data import format as data_format
from embtrans.sweep import run

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the grid: "
                               "checkpoints, per-member results and logs.")
config_flags.DEFINE_config_file("config", None, "Grid config, e.g. "
                                "configs/grid.py[:arg].", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])

_USER_ERRORS = (ValueError, FileNotFoundError, data_format.DatasetError,
                checkpointing.CheckpointError)


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
  try:
    summary = run.run_sweep(flags.FLAGS.config, _WORKDIR.value)
  except _USER_ERRORS as e:
    if os.environ.get("EMBTRANS_TRACEBACK"):
      raise
    sys.exit(f"embtrans.sweep: error: {e}")
  for p in summary["programs_run"]:
    print(f"{p['program']:<28} {p['members']} members  {p['seconds']:8.1f}s")
  print(f"{len(summary['programs_run'])} programs trained, "
        f"{len(summary['programs_skipped'])} already finished; "
        f"{summary['seconds']:.1f}s in all "
        f"(data {summary['data_seconds']:.1f}s).")
  print(f"Next: python -m embtrans.report {_WORKDIR.value}")


if __name__ == "__main__":
  app.run(main)
