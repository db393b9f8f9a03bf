"""Evaluators: one file each, chosen by the keys of `config.evals`.

Every module `embtrans/evaluators/<name>.py` exposes

    class Evaluator:
        def __init__(self, **kwargs): ...
        def run(self, result: TranslationResult) -> Iterator[tuple[str, float]]

`config.evals` maps a prefix to a dict whose `type` names the module; the
remaining keys are passed to the constructor. For example

    config.evals.knn = dict(type='knn', k=10)

yields `('knn/jaccard@10', 0.41)`-style pairs, written as `test/knn/jaccard@10`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any, Iterator, Mapping

import numpy as np


@dataclasses.dataclass(frozen=True)
class TranslationResult:
  """Test-split arrays of one translator, paired row by row (same ids).

  Attributes:
    source: [n, d_source] vectors in the source space.
    target: [n, d_target] true vectors in the target space.
    translated: [n, d_target] the translator's output for `source`.
    ids: [n] the shared ids, or None.
  """

  source: np.ndarray
  target: np.ndarray
  translated: np.ndarray
  ids: np.ndarray | None = None

  def __post_init__(self):
    n = self.source.shape[0]
    for name in ("target", "translated"):
      arr = getattr(self, name)
      if arr.shape[0] != n:
        raise ValueError(
            f"TranslationResult.{name} has {arr.shape[0]} rows but source has"
            f" {n}; the three arrays must be paired row by row.")
    if self.translated.shape[1] != self.target.shape[1]:
      raise ValueError(
          f"translated dim {self.translated.shape[1]} != target dim"
          f" {self.target.shape[1]}.")


def known_evaluators() -> list[str]:
  """Names of the evaluator modules in this package."""
  return sorted(m.name for m in pkgutil.iter_modules(__path__)
                if not m.name.startswith("_"))


def get_evaluator(type_name: str, **kwargs: Any):
  """Builds `embtrans.evaluators.<type_name>.Evaluator(**kwargs)`."""
  known = known_evaluators()
  if type_name not in known:
    raise ValueError(
        f"Unknown evaluator type {type_name!r}. Known evaluators: {known}.")
  module = importlib.import_module(f"{__name__}.{type_name}")
  return module.Evaluator(**kwargs)


def run_evaluators(evals: Mapping[str, Mapping[str, Any]],
                   result: TranslationResult) -> Iterator[tuple[str, float]]:
  """Runs every evaluator in `evals`; yields `(prefix/name, value)`."""
  for prefix, cfg in evals.items():
    cfg = dict(cfg)
    type_name = cfg.pop("type", prefix)
    for name, value in get_evaluator(type_name, **cfg).run(result):
      yield f"{prefix}/{name}", float(value)
