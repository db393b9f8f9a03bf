"""CKA between the translated and the target space (and the source baseline).

Config: `config.evals.cka = dict(type='cka', rbf=True, debiased=False)`.

Yields `linear_cka` (translated vs target) and `source/linear_cka` (source vs
target: how similar the spaces were before translation; CKA allows different
widths), plus the debiased and RBF variants when asked. The RBF Gram form
needs n x n memory, so above `rbf_max_rows` rows the RBF value is the
minibatch CKA over batches of `rbf_max_rows` rows, named `minibatch_rbf_cka`.
"""

from __future__ import annotations

from typing import Iterator

from embtrans import metrics
from embtrans.evaluators import TranslationResult


class Evaluator:
  """Linear (and optionally debiased / RBF) CKA of a translation."""

  def __init__(self, rbf: bool = False, debiased: bool = False,
               threshold: float = 0.5, rbf_max_rows: int = 4096):
    if rbf_max_rows < 4:
      raise ValueError(f"rbf_max_rows must be >= 4, got {rbf_max_rows}.")
    self.rbf = rbf
    self.debiased = debiased
    self.threshold = threshold
    self.rbf_max_rows = rbf_max_rows

  def _scores(self, x, y) -> Iterator[tuple[str, float]]:
    yield "linear_cka", metrics.linear_cka(x, y)
    if self.debiased:
      yield "debiased_linear_cka", metrics.linear_cka(x, y, debiased=True)
    if not self.rbf:
      return
    if x.shape[0] <= self.rbf_max_rows:
      yield "rbf_cka", metrics.rbf_cka(x, y, self.threshold)
      if self.debiased:
        yield "debiased_rbf_cka", metrics.rbf_cka(x, y, self.threshold,
                                                  debiased=True)
    else:
      yield "minibatch_rbf_cka", metrics.minibatch_cka(
          x, y, self.rbf_max_rows, kernel="rbf", threshold=self.threshold)

  def run(self, result: TranslationResult) -> Iterator[tuple[str, float]]:
    for name, value in self._scores(result.translated, result.target):
      yield name, float(value)
    for name, value in self._scores(result.source, result.target):
      yield f"source/{name}", float(value)
