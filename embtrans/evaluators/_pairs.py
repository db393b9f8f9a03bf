"""The pairs of spaces an evaluator can compare, by name.

A `TranslationResult` holds three paired spaces. An evaluator that compares
two spaces takes `pairs`, a sequence of names from `PAIRS`:

* 'translated': translated vs target (how close the translation is);
* 'source': source vs target (how alike the spaces were before it);
* 'source_translated': source vs translated (how much of the source's
  structure the translator kept).

Each name gives the prefix of the yielded keys: '', 'source/' and
'source_translated/'.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from embtrans import metrics
from embtrans.evaluators import TranslationResult

# name -> (first space, second space, key prefix)
PAIRS = {
    "translated": ("translated", "target", ""),
    "source": ("source", "target", "source/"),
    "source_translated": ("source", "translated", "source_translated/"),
}


def check_pairs(pairs: Sequence[str]) -> tuple[str, ...]:
  """The pair names as a tuple; raises on an unknown or missing name."""
  pairs = (pairs,) if isinstance(pairs, str) else tuple(pairs)
  if not pairs:
    raise ValueError(f"pairs is empty; name at least one of {list(PAIRS)}.")
  for name in pairs:
    if name not in PAIRS:
      raise ValueError(
          f"Unknown pair {name!r} in pairs. Known pairs: {list(PAIRS)}.")
  return pairs


def spaces(result: TranslationResult, pairs: Sequence[str],
           prepare_q: float | None = None
           ) -> Iterator[tuple[str, Any, Any]]:
  """Yields (key prefix, x [n, d_x], y [n, d_y]) for each named pair.

  With `prepare_q`, both spaces go through `metrics.prepare(v, prepare_q)`
  first (outliers clamped at that quantile, rows L2-normalised).
  """
  for name in pairs:
    first, second, prefix = PAIRS[name]
    x, y = getattr(result, first), getattr(result, second)
    if prepare_q is not None:
      x, y = (metrics.prepare(v, prepare_q) for v in (x, y))
    yield prefix, x, y
