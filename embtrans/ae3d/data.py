"""Two populations of one text source with known pairs between them.

Population A holds the docstring summaries of the `pydocs` source, B their
bodies; a summary and a body of the same docstring are a pair. Each
population's vectors come from an embedding dataset of the source built
(once, cached) by `embtrans.data.build`, with its own encoder, so

    load_populations("minilm")                     # MiniLM for both
    load_populations("e5_small", kwargs_a={"mode": "query"},
                     kwargs_b={"mode": "passage"}) # one model, two kinds

give a one-model space with two kinds of text (like CLIP's images and
captions). Rows without a partner stay in their population, unpaired.

Splits are by docstring (the pair id), so both ends of a pair share one:
'test' for `format.split_of(pair id) == 'test'` (~20 %), and of the rest
'val' for ~20 % (a second hash) and 'train' for the others (~64 % in all).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

import numpy as np

from embtrans.data import build as build_lib
from embtrans.data import format as fmt

SPLITS = ("train", "val", "test")
PARTS = ("summary", "body")


def split_of_pair(pair_id: str) -> str:
  """'train' | 'val' | 'test' of a docstring (pair) id."""
  if fmt.split_of(pair_id) == "test":
    return "test"
  return "val" if fmt.split_of(f"val:{pair_id}") == "test" else "train"


@dataclasses.dataclass(frozen=True)
class Populations:
  """Two populations and their known pairs.

  Attributes:
    x_a: [n_a, d] float32 vectors of population A; x_b: [n_b, d] of B.
    pairs: int64 [p, 2], (row in A, row in B) of each known pair.
    texts_a, texts_b: [n_a], [n_b] the texts.
    ids_a, ids_b: [n_a], [n_b] the pair (docstring) id of each row.
    split_a, split_b: [n_a], [n_b] 'train' | 'val' | 'test'.
    names: display names of A and B, e.g. ('summary (minilm)', ...).
  """

  x_a: np.ndarray
  x_b: np.ndarray
  pairs: np.ndarray
  texts_a: np.ndarray
  texts_b: np.ndarray
  ids_a: np.ndarray
  ids_b: np.ndarray
  split_a: np.ndarray
  split_b: np.ndarray
  names: tuple[str, str]

  def subset(self, split: str) -> "Populations":
    """The rows of one split, with the pairs re-indexed."""
    if split not in SPLITS:
      raise ValueError(f"Unknown split {split!r}; choose one of {SPLITS}.")
    keep_a, keep_b = self.split_a == split, self.split_b == split
    new_a = np.cumsum(keep_a) - 1
    new_b = np.cumsum(keep_b) - 1
    kept = keep_a[self.pairs[:, 0]] & keep_b[self.pairs[:, 1]]
    pairs = np.stack([new_a[self.pairs[kept, 0]], new_b[self.pairs[kept, 1]]],
                     axis=1).reshape(-1, 2)
    return Populations(
        self.x_a[keep_a], self.x_b[keep_b], pairs, self.texts_a[keep_a],
        self.texts_b[keep_b], self.ids_a[keep_a], self.ids_b[keep_b],
        self.split_a[keep_a], self.split_b[keep_b], self.names)


def _part_rows(ds: fmt.EmbeddingDataset, part: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(row indices, pair ids, texts) of the dataset's `part` texts."""
  ids = np.asarray(ds.ids, dtype=str)
  base, suffix = np.char.rpartition(ids, ":")[:, 0], np.char.rpartition(
      ids, ":")[:, 2]
  rows = np.flatnonzero(suffix == part)
  if not len(rows):
    raise ValueError(f"{ds.path}: no '{part}' texts (ids ending ':{part}'); "
                     "two populations need a source with summary and body "
                     "texts, such as pydocs.")
  return rows, base[rows], np.asarray(ds.column("text"), dtype=object)[rows]


def _population(encoder: str, kwargs: Mapping[str, Any], part: str,
                source: str, limit: int | None, cache_dir: os.PathLike | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  ds = build_lib.build_dataset(source, encoder, limit, dict(kwargs),
                               cache_dir=cache_dir)
  rows, pair_ids, texts = _part_rows(ds, part)
  return np.asarray(ds.vectors[rows], np.float32), pair_ids, texts


def _pairs(ids_a: np.ndarray, ids_b: np.ndarray) -> np.ndarray:
  """[p, 2] rows of equal ids, in A's row order."""
  where_b = {i: r for r, i in enumerate(ids_b)}
  out = [(r, where_b[i]) for r, i in enumerate(ids_a) if i in where_b]
  return np.asarray(out, np.int64).reshape(-1, 2)


def load_populations(encoder_a: str = "minilm", encoder_b: str | None = None,
                     kwargs_a: Mapping[str, Any] | None = None,
                     kwargs_b: Mapping[str, Any] | None = None,
                     source: str = "pydocs", limit: int | None = None,
                     cache_dir: os.PathLike | None = None) -> Populations:
  """Summaries (A) and bodies (B) of `source`, embedded and paired.

  Args:
    encoder_a: a registered encoder for population A.
    encoder_b: for B; default `encoder_a`.
    kwargs_a, kwargs_b: encoder arguments (e.g. {"mode": "query"}); B's
      default to A's when `encoder_b` is not given.
    source: a text source whose ids end in ':summary' / ':body'.
    limit: read only the first `limit` texts of the source.
    cache_dir: where the embedding datasets are cached.
  """
  encoder_b, kwargs_b = ((encoder_a, kwargs_b if kwargs_b is not None
                          else kwargs_a) if encoder_b is None
                         else (encoder_b, kwargs_b))
  kwargs_a, kwargs_b = dict(kwargs_a or {}), dict(kwargs_b or {})
  build_lib.check_dataset_spec(encoder_a, cache_dir)
  build_lib.check_dataset_spec(encoder_b, cache_dir)
  x_a, ids_a, texts_a = _population(encoder_a, kwargs_a, "summary", source,
                                    limit, cache_dir)
  x_b, ids_b, texts_b = _population(encoder_b, kwargs_b, "body", source,
                                    limit, cache_dir)
  if x_a.shape[1] != x_b.shape[1]:
    raise ValueError(f"Population A is {x_a.shape[1]}-d ({encoder_a}) and B "
                     f"is {x_b.shape[1]}-d ({encoder_b}); both must live in "
                     "one space.")
  split = np.vectorize(split_of_pair, otypes=[object])
  names = tuple(f"{part} ({enc}{_describe(kw)})" for part, enc, kw in (
      ("summary", encoder_a, kwargs_a), ("body", encoder_b, kwargs_b)))
  return Populations(x_a, x_b, _pairs(ids_a, ids_b), texts_a, texts_b, ids_a,
                     ids_b, split(ids_a).astype(str), split(ids_b).astype(str),
                     names)


def _describe(kwargs: Mapping[str, Any]) -> str:
  return "".join(f", {k}={v}" for k, v in sorted(kwargs.items()))
