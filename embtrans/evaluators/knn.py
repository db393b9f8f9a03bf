"""Agreement of k-NN structure between the translated and the target space.

Config: `config.evals.knn = dict(type='knn', k=10)`.

Yields `jaccard@k`, `mutual_knn@k`, `rank_agreement@k` (extrapolated
rank-biased overlap with persistence p) and `edit_distance@k` (mean
Levenshtein distance of the ordered lists, in [0, k]), all from one k-NN
search per space; with `platonic=True` also platonic-rep's
`edit_similarity@k` (1 - edit distance / k), `lcs@k` (mean longest common
subsequence, in [0, k]) and `cycle_knn@k`, from the same search. With
`source=True` the same for source vs target, prefixed `source/`.
"""

from __future__ import annotations

from typing import Iterator

from embtrans import metrics
from embtrans.evaluators import TranslationResult

NAMES = ("jaccard", "mutual_knn", "rank_agreement", "edit_distance")
PLATONIC_NAMES = ("edit_similarity", "lcs", "cycle_knn")


class Evaluator:
  """k-NN agreement metrics of a translation."""

  def __init__(self, k: int = 10, metric: str = "cosine", p: float = 0.9,
               source: bool = False, platonic: bool = False):
    self.k = k
    self.metric = metric
    self.p = p
    self.source = source
    self.names = NAMES + (PLATONIC_NAMES if platonic else ())

  def _scores(self, x, y, prefix: str) -> Iterator[tuple[str, float]]:
    scores = metrics.knn_agreement(x, y, self.k, p=self.p, metric=self.metric)
    for name in self.names:
      yield f"{prefix}{name}@{self.k}", float(scores[name])

  def run(self, result: TranslationResult) -> Iterator[tuple[str, float]]:
    yield from self._scores(result.translated, result.target, "")
    if self.source:
      yield from self._scores(result.source, result.target, "source/")
