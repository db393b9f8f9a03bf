"""Pair two embedding datasets by id, never by row order."""

from __future__ import annotations

import dataclasses
import hashlib

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
    train, test: the paired splits (train: the rows a translator is fitted
      on; after `carve_validation`, the train rows left after the carve).
    dropped_a, dropped_b: ids only A (B) has, left out.
    test_texts_in_train: test rows whose text is also the text of a train
      row (under another id: an id has one split); None when neither dataset
      stores texts.
    val: the validation rows carved from the dataset's train split by
      `carve_validation` (None before): for choices, never fitted on.
  """

  train: PairedSplit
  test: PairedSplit
  dropped_a: int
  dropped_b: int
  test_texts_in_train: int | None = None
  val: PairedSplit | None = None

  def swapped(self) -> "Paired":
    return Paired(self.train.swapped(), self.test.swapped(), self.dropped_b,
                  self.dropped_a, self.test_texts_in_train,
                  None if self.val is None else self.val.swapped())


# How validation ids are drawn from the train split (recorded in data.json).
VAL_METHOD = "sha1('val:' + id) % 100 < val_percent -> val (train ids only)"


def is_val_id(example_id: str, percent: float) -> bool:
  """Whether a train id belongs to the validation carve of `percent` %.

  Salted, so the carve does not depend on the hash that made the 80/20
  train/test split (sha1(id) % 100): the same id is val for every pair of
  spaces and every run.
  """
  digest = hashlib.sha1(f"val:{example_id}".encode("utf-8")).digest()
  return int.from_bytes(digest[:8], "big") % 100 < percent


def _take(split: PairedSplit, rows: np.ndarray) -> PairedSplit:
  return PairedSplit(split.ids[rows], split.a[rows], split.b[rows])


def carve_validation(paired: Paired, percent: float) -> Paired:
  """`paired` with `percent` % of its train ids moved to `val` (by id).

  The test split is untouched; val and the remaining train rows are
  disjoint and together are the original train split. Fails with one line
  when either side would be empty.
  """
  if paired.val is not None:
    raise ValueError("This pairing already has a validation split.")
  if not 0 < percent < 100:
    raise ValueError(f"val_percent={percent} must be in (0, 100); use 0 for "
                     "no validation split.")
  is_val = np.array([is_val_id(str(i), percent) for i in paired.train.ids],
                    bool)
  if is_val.all() or not is_val.any():
    raise DatasetError(
        f"A {percent:g} % validation carve of {len(paired.train)} train pairs"
        f" leaves {'no train' if is_val.all() else 'no validation'} rows; "
        "use more texts or another val_percent.")
  return dataclasses.replace(
      paired, train=_take(paired.train, np.flatnonzero(~is_val)),
      val=_take(paired.train, np.flatnonzero(is_val)))


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
