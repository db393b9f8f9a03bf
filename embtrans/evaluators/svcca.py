"""SVCCA between the spaces of a translation (platonic-rep's definition).

Config: `config.evals.svcca = dict(type='svcca', cca_dim=10)`.

Yields `svcca@cca_dim` for translated vs target, `source/svcca@cca_dim` for
source vs target and `source_translated/svcca@cca_dim` for source vs
translated (choose with `pairs`, see `_pairs.PAIRS`). With `prepare_q` set,
each space is first prepared as platonic-rep does (outliers clamped at that
quantile of |x|, rows L2-normalised). See `metrics.svcca`.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from embtrans import metrics
from embtrans.evaluators import TranslationResult
from embtrans.evaluators import _pairs


class Evaluator:
  """SVCCA of each named pair of spaces."""

  def __init__(self, cca_dim: int = 10, prepare_q: float | None = None,
               pairs: Sequence[str] = tuple(_pairs.PAIRS)):
    self.cca_dim = cca_dim
    self.prepare_q = prepare_q
    self.pairs = _pairs.check_pairs(pairs)

  def run(self, result: TranslationResult) -> Iterator[tuple[str, float]]:
    for prefix, x, y in _pairs.spaces(result, self.pairs, self.prepare_q):
      # Spaces narrower than cca_dim keep all their components; the key
      # says how many were used.
      dim = min(self.cca_dim, x.shape[1], y.shape[1])
      value = metrics.svcca(x, y, dim)
      yield f"{prefix}svcca@{dim}", float(value)
