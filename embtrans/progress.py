"""Console progress bars: one per stage, refreshed rarely when not a TTY."""

from __future__ import annotations

import sys

import jax
from tqdm import tqdm


def interval() -> float:
  """Seconds between progress-bar refreshes: 0.1 on a terminal, else 15."""
  return 0.1 if sys.stderr.isatty() else 15.0


def bar(total: int, initial: int = 0, desc: str = "", unit: str = "step"
        ) -> tqdm:
  """A tqdm bar on process 0 only (other processes of a multi-host run are
  silent)."""
  return tqdm(total=total, initial=initial, desc=desc, unit=unit,
              mininterval=interval(), disable=jax.process_index() > 0)
