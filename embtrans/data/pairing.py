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
  """Two datasets paired by id.

  Attributes:
    train, test: the paired splits.
    dropped_a, dropped_b: ids only A (B) has, left out.
    test_texts_in_train: test rows whose text is also the text of a train
      row (under another id: an id has one split); None when neither dataset
      stores texts.
  """

  train: PairedSplit
  test: PairedSplit
  dropped_a: int
  dropped_b: int
  test_texts_in_train: int | None = None

  def swapped(self) -> "Paired":
    return Paired(self.train.swapped(), self.test.swapped(), self.dropped_b,
                  self.dropped_a, self.test_texts_in_train)


def _texts(a: EmbeddingDataset, b: EmbeddingDataset, rows_a: np.ndarray,
           rows_b: np.ndarray) -> np.ndarray | None:
  """Texts of the paired rows, from A (or B); None if neither has them."""
  for ds, rows in ((a, rows_a), (b, rows_b)):
    if "text" in ds.column_names:
      return ds.column("text")[rows]
  return None


def count_test_texts_in_train(ids: np.ndarray, texts: np.ndarray | None,
                        splits: np.ndarray) -> int | None:
  """Counts test rows whose text some train row has; warns with examples.

  Args:
    ids, texts, splits: [n] each, of the paired rows.
  """
  if texts is None:
    return None
  train_ids = {}
  for i, t in zip(ids[splits == "train"], texts[splits == "train"]):
    train_ids.setdefault(t, i)
  test = np.flatnonzero(splits == "test")
  hits = [k for k in test if texts[k] in train_ids]
  if hits:
    k = hits[0]
    logging.warning(
        "%d of %d test texts also occur in train under another id (e.g. "
        "test %s = train %s: %r): a translator trained here has seen their "
        "exact inputs, so test scores overstate generalisation. Build with "
        "drop_duplicate_texts=True to keep one of each.", len(hits),
        test.size, ids[k], train_ids[texts[k]], str(texts[k])[:80])
  return len(hits)


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
  leaked = count_test_texts_in_train(a.ids[rows_a],
                                     _texts(a, b, rows_a, rows_b), splits)
  parts = {}
  for split in ("train", "test"):
    sel = splits == split
    if not sel.any():
      raise DatasetError(
          f"The {split} split is empty after pairing {a.path} with {b.path}"
          f" ({rows_a.size} shared ids). Use more texts.")
    parts[split] = PairedSplit(a.ids[rows_a[sel]], a.vectors[rows_a[sel]],
                               b.vectors[rows_b[sel]])
  return Paired(parts["train"], parts["test"], dropped_a, dropped_b, leaked)
