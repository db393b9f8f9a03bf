"""What the training entry points share: quiet logs, one-line user errors.

  with cli.user_errors("embtrans"):
    results = train_and_evaluate(config, workdir)

A user error (bad config, missing or corrupt data or checkpoint, NaN loss)
ends the process with `<prog>: error: <message>` and exit status 1, no
traceback; `EMBTRANS_TRACEBACK=1` re-raises it instead.
"""

import contextlib
import logging as std_logging
import os
import sys
from typing import Iterator

# Offline defaults for every entry point (each imports this module first):
# no model or dataset hub is reachable, so never try one.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}
for _key, _value in OFFLINE_ENV.items():
  os.environ.setdefault(_key, _value)

# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
from absl import logging

from embtrans import checkpointing
from embtrans import sharding
from embtrans.data import format as data_format

# Errors that carry a complete message for the user: no traceback needed.
# (TrainingDivergedError is a FloatingPointError.)
USER_ERRORS = (ValueError, FileNotFoundError, FloatingPointError,
               data_format.DatasetError, checkpointing.CheckpointError)


class QuietLibraries(std_logging.Filter):
  """Drops INFO chatter from Orbax (one line per save phase)."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or (
        "orbax" not in record.pathname)


def start() -> None:
  """Quiet logs, joins a multi-process run if asked, logs the devices."""
  logging.get_absl_handler().addFilter(QuietLibraries())
  sharding.initialize_distributed()
  logging.info("JAX %s, %d devices (%s).", jax.__version__,
               jax.device_count(), jax.devices()[0].platform)


@contextlib.contextmanager
def user_errors(prog: str) -> Iterator[None]:
  """Turns a USER_ERRORS exception into `prog: error: ...` and exit 1."""
  try:
    yield
  except USER_ERRORS as e:
    if os.environ.get("EMBTRANS_TRACEBACK"):
      raise
    sys.exit(f"{prog}: error: {e}")
