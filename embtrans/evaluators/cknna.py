"""CKNNA between the spaces of a translation (Huh et al. 2024).

Config: `config.evals.cknna = dict(type='cknna', k=10)`.

Yields `cknna@k` for translated vs target, `source/cknna@k` for source vs
target and `source_translated/cknna@k` for source vs translated (choose with
`pairs`, see `_pairs.PAIRS`). Rows are L2-normalised (`normalize`); with
`prepare_q` set, outliers are first clamped at that quantile of |x|, as
platonic-rep prepares features. See `metrics.cknna` for the definition.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from embtrans import metrics
from embtrans.evaluators import TranslationResult
from embtrans.evaluators import _pairs


class Evaluator:
  """CKNNA of each named pair of spaces."""

  def __init__(self, k: int = 10, unbiased: bool = True,
               normalize: bool = True, prepare_q: float | None = None,
               pairs: Sequence[str] = tuple(_pairs.PAIRS)):
    self.k = k
    self.unbiased = unbiased
    self.normalize = normalize
    self.prepare_q = prepare_q
    self.pairs = _pairs.check_pairs(pairs)

  def run(self, result: TranslationResult) -> Iterator[tuple[str, float]]:
    for prefix, x, y in _pairs.spaces(result, self.pairs, self.prepare_q):
      value = metrics.cknna(x, y, self.k, unbiased=self.unbiased,
                            normalize=self.normalize)
      yield f"{prefix}cknna@{self.k}", float(value)
