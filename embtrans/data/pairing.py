"""Pair two embedding datasets by id, never by row order."""

from __future__ import annotations

import dataclasses

import numpy as np
from absl import logging

from embtrans.data.format import DatasetError, EmbeddingDataset


@dataclasses.dataclass(frozen=True)
class PairedSplit:
  """Rows present in both datasets, in one split.

  Attributes:
    ids: [n] shared ids.
    a: [n, d_a] vectors of dataset A (float32, in memory).
    b: [n, d_b] vectors of dataset B, row i paired with a[i].
  """

  ids: np.ndarray
  a: np.ndarray
  b: np.ndarray

  def __len__(self) -> int:
    return len(self.ids)

  def swapped(self) -> "PairedSplit":
    return PairedSplit(self.ids, self.b, self.a)


@dataclasses.dataclass(frozen=True)
class Paired:
  """Two datasets paired by id; `dropped_*` counts ids only one side has."""

  train: PairedSplit
  test: PairedSplit
  dropped_a: int
  dropped_b: int

  def swapped(self) -> "Paired":
    return Paired(self.train.swapped(), self.test.swapped(), self.dropped_b,
                  self.dropped_a)


def pair_datasets(a: EmbeddingDataset, b: EmbeddingDataset) -> Paired:
  """Joins A and B on id; rows keep A's order. Fails if a split is empty."""
  index_b = {i: k for k, i in enumerate(b.ids)}
  rows_a = np.array([k for k, i in enumerate(a.ids) if i in index_b], np.int64)
  if rows_a.size == 0:
    raise DatasetError(
        f"No ids in common between {a.path} ({len(a)} ids, e.g. {a.ids[:2]})"
        f" and {b.path} ({len(b)} ids, e.g. {b.ids[:2]}). Were they built from"
        " the same text source?")
  rows_b = np.array([index_b[i] for i in a.ids[rows_a]], np.int64)
  dropped_a, dropped_b = len(a) - rows_a.size, len(b) - rows_a.size
  if dropped_a or dropped_b:
    logging.warning("Pairing %s with %s by id: %d ids only in A and %d only in"
                    " B were dropped; %d pairs kept.", a.name, b.name,
                    dropped_a, dropped_b, rows_a.size)
  splits = a.splits[rows_a]
  if not np.array_equal(splits, b.splits[rows_b]):
    raise DatasetError(f"{a.path} and {b.path} disagree on the split of some "
                       "shared ids; rebuild one of them.")
  parts = {}
  for split in ("train", "test"):
    sel = splits == split
    if not sel.any():
      raise DatasetError(
          f"The {split} split is empty after pairing {a.path} with {b.path}"
          f" ({rows_a.size} shared ids). Use more texts.")
    parts[split] = PairedSplit(a.ids[rows_a[sel]], a.vectors[rows_a[sel]],
                               b.vectors[rows_b[sel]])
  return Paired(parts["train"], parts["test"], dropped_a, dropped_b)
