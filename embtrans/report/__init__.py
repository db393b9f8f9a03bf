"""Reports of runs and sweeps: `python -m embtrans.report <workdir>`.

`dispatch.write_report` picks the report a workdir calls for: `run` (one
run), `grid` (a sweep of translators: results.csv, README.md from `tables`,
`findings` and `readme`, the PNG figures of `plots`) or `ablation`. The
modules are imported on use, so the command starts (and rejects a bad
argument) without loading the plotting stack.
"""

import importlib
from typing import Any


def write_report(*args: Any, **kwargs: Any):
  """The grid report (`embtrans.report.grid.write_report`)."""
  return importlib.import_module("embtrans.report.grid").write_report(
      *args, **kwargs)


__all__ = ["write_report"]
