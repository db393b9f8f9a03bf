"""Deterministic batch order: the batch of step s depends only on (seed, s).

That makes a resumed run see exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import numpy as np


class EpochBatches:
  """Shuffled without replacement each epoch; the ragged tail is dropped.

  Args:
    num_examples: rows in the training split.
    batch_size: global batch size (<= num_examples).
    seed: base seed; epoch e uses permutation `rng([seed, e])`.
  """

  def __init__(self, num_examples: int, batch_size: int, seed: int):
    if batch_size > num_examples:
      raise ValueError(f"batch_size={batch_size} is larger than the "
                       f"{num_examples} training examples; lower batch_size.")
    self.num_examples, self.batch_size, self.seed = (num_examples, batch_size,
                                                     seed)
    self.steps_per_epoch = num_examples // batch_size
    self._epoch, self._perm = -1, None

  def indices(self, step: int) -> np.ndarray:
    """Row indices `[batch_size]` of the batch for global step `step`."""
    epoch, i = divmod(step, self.steps_per_epoch)
    if epoch != self._epoch:
      rng = np.random.default_rng([self.seed, epoch])
      self._epoch, self._perm = epoch, rng.permutation(self.num_examples)
    return self._perm[i * self.batch_size:(i + 1) * self.batch_size]
