"""Retrieval between the translated and the target space, both directions.

Config: `config.evals.retrieval = dict(type='retrieval', ks=(1, 5, 10))`.

Row i of `translated` should retrieve row i of `target` among all targets.
Yields `recall@k`, `mean_rank`, `median_rank` for translated -> target and
the same with a `reverse/` prefix for target -> translated. Scores are cosine
similarities unless `normalize=False`; ranks are 1-based, ties count against
the positive. With `tie_optimistic=True` the tie-optimistic figures follow,
named `optimistic_recall@k`, `optimistic_mean_rank`, `optimistic_median_rank`
(see `metrics.recall_at_k`): where they differ, targets tie exactly, e.g.
duplicate texts.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from embtrans import metrics
from embtrans.evaluators import TranslationResult


class Evaluator:
  """Recall@k and ranks of a translation, both directions."""

  def __init__(self, ks: Sequence[int] = (1, 5, 10), normalize: bool = True,
               tie_optimistic: bool = False):
    self.ks = tuple(ks)
    self.normalize = normalize
    self.tie_optimistic = tie_optimistic

  def _scores(self, queries, keys, prefix: str) -> Iterator[tuple[str, float]]:
    stats = metrics.recall_at_k(queries, keys, ks=self.ks,
                                normalize=self.normalize,
                                tie_optimistic=self.tie_optimistic)
    for name, value in stats.items():
      yield f"{prefix}{name}", float(value)

  def run(self, result: TranslationResult) -> Iterator[tuple[str, float]]:
    yield from self._scores(result.translated, result.target, "")
    yield from self._scores(result.target, result.translated, "reverse/")
