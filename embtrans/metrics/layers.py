"""The best-aligned pair of layers: platonic-rep's reduction over layers.

When a model gives several layers' features, platonic-rep's
`measure_alignment.compute_score` scores every (layer of x, layer of y) pair
with one metric and keeps the largest score and its pair.
`max_over_layer_pairs` does the same for any metric of `embtrans.metrics`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np


def _layers(name: str, stack: Any) -> list[Any]:
  """The [n, d] layers of a sequence, or of an [n, layers, d] array."""
  if hasattr(stack, "ndim") and stack.ndim == 3:
    return [stack[:, i, :] for i in range(stack.shape[1])]
  if hasattr(stack, "ndim") or not isinstance(stack, Sequence):
    raise ValueError(
        f"{name} must be an [n, layers, d] array or a sequence of [n, d]"
        f" arrays, got {type(stack).__name__} of shape"
        f" {tuple(np.shape(stack))}.")
  if not stack:
    raise ValueError(f"{name} holds no layers; pass at least one.")
  return list(stack)


def max_over_layer_pairs(metric: Callable[[Any, Any], Any], xs: Any,
                         ys: Any) -> tuple[float, tuple[int, int]]:
  """The largest metric(xs[i], ys[j]) over all pairs of layers, and (i, j).

  Each pair is one call of `metric`; pairs of the same shapes reuse one
  compiled kernel. platonic-rep starts its running maximum at 0, so when
  every score is <= 0 it returns 0 and no pair; here the largest score is
  returned whatever its sign. Ties keep the first pair in (i, j) order, as
  there.

  Args:
    metric: a function of two paired spaces, e.g.
      `functools.partial(metrics.cknna, k=10)`.
    xs: [n, layers_x, d1] (platonic-rep's layout) or a sequence of [n, d1_i].
    ys: [n, layers_y, d2] or a sequence of [n, d2_j].

  Returns:
    (score, (i, j)).

  Raises:
    ValueError: xs or ys not a stack or a sequence of layers, or empty; and
      whatever `metric` raises for a pair.
  """
  xs, ys = _layers("xs", xs), _layers("ys", ys)
  best = None
  for i, x in enumerate(xs):
    for j, y in enumerate(ys):
      score = float(metric(x, y))
      if best is None or score > best[0]:
        best = (score, (i, j))
  return best
