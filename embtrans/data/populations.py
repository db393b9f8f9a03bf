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

    translated(load_populations("minilm", "e5_small", parts=("body", "body"),
                                kwargs_b={"mode": "passage"}))

puts MiniLM's body vectors, mapped by least squares (fitted on the train
pairs), next to E5's vectors of the same bodies.

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
                     cache_dir: os.PathLike | None = None,
                     parts: tuple[str, str] = PARTS,
                     check_dims: bool = True) -> Populations:
  """Summaries (A) and bodies (B) of `source`, embedded and paired.

  Args:
    encoder_a: a registered encoder for population A.
    encoder_b: for B; default `encoder_a`.
    kwargs_a, kwargs_b: encoder arguments (e.g. {"mode": "query"}); B's
      default to A's when `encoder_b` is not given.
    source: a text source whose ids end in ':summary' / ':body'.
    limit: read only the first `limit` texts of the source.
    cache_dir: where the embedding datasets are cached.
    parts: the texts of A and of B, each 'summary' or 'body'; ('body',
      'body') with two encoders pairs each body's two embeddings.
    check_dims: require one space (equal dims); `translated` turns it off.
  """
  for part in parts:
    if part not in PARTS:
      raise ValueError(f"Unknown part {part!r}; known: {PARTS}.")
  encoder_b, kwargs_b = ((encoder_a, kwargs_b if kwargs_b is not None
                          else kwargs_a) if encoder_b is None
                         else (encoder_b, kwargs_b))
  kwargs_a, kwargs_b = dict(kwargs_a or {}), dict(kwargs_b or {})
  build_lib.check_dataset_spec(encoder_a, cache_dir)
  build_lib.check_dataset_spec(encoder_b, cache_dir)
  x_a, ids_a, texts_a = _population(encoder_a, kwargs_a, parts[0], source,
                                    limit, cache_dir)
  x_b, ids_b, texts_b = _population(encoder_b, kwargs_b, parts[1], source,
                                    limit, cache_dir)
  if x_a.shape[1] != x_b.shape[1] and check_dims:
    raise ValueError(f"Population A is {x_a.shape[1]}-d ({encoder_a}) and B "
                     f"is {x_b.shape[1]}-d ({encoder_b}); both must live in "
                     "one space.")
  split = np.vectorize(split_of_pair, otypes=[object])
  names = tuple(f"{part} ({enc}{_describe(kw)})" for part, enc, kw in (
      (parts[0], encoder_a, kwargs_a), (parts[1], encoder_b, kwargs_b)))
  return Populations(x_a, x_b, _pairs(ids_a, ids_b), texts_a, texts_b, ids_a,
                     ids_b, split(ids_a).astype(str), split(ids_b).astype(str),
                     names)


def _describe(kwargs: Mapping[str, Any]) -> str:
  return "".join(f", {k}={v}" for k, v in sorted(kwargs.items()))


def translated(pops: Populations) -> tuple[Populations, dict[str, float]]:
  """A mapped into B's space by least squares fitted on the train pairs.

  A's vectors (with a bias column) are regressed onto their partners' B
  vectors over the pairs whose split is 'train'; every row of A is then
  replaced by its translation, so A and B share B's space (e.g. MiniLM
  vectors translated into E5's space next to the true E5 vectors).

  Returns:
    (the populations with A translated, {'lstsq_train_pairs': n,
    'lstsq_train_r2': R^2 on those pairs, 'lstsq_test_cosine': mean
    cosine of translated vs true partner on the test pairs}).
  """
  train = pops.split_a[pops.pairs[:, 0]] == "train"
  if train.sum() < 2:
    raise ValueError("Translating A into B's space needs train pairs; got "
                     f"{int(train.sum())}. Use more texts (limit).")
  bias = lambda x: np.concatenate(
      [np.asarray(x, np.float64), np.ones((len(x), 1))], axis=1)
  src, tgt = pops.pairs[train, 0], pops.pairs[train, 1]
  w = np.linalg.lstsq(bias(pops.x_a[src]), pops.x_b[tgt].astype(np.float64),
                      rcond=None)[0]
  x_a = (bias(pops.x_a) @ w).astype(np.float32)
  fit, true = x_a[src].astype(np.float64), pops.x_b[tgt].astype(np.float64)
  r2 = 1 - np.sum((fit - true) ** 2) / np.sum((true - true.mean(0)) ** 2)
  test = pops.split_a[pops.pairs[:, 0]] == "test"
  a, b = x_a[pops.pairs[test, 0]], pops.x_b[pops.pairs[test, 1]]
  cos = np.sum(a * b, 1) / np.maximum(
      np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
  name = f"{pops.names[0]} -> lstsq into {pops.names[1]}'s space"
  return dataclasses.replace(pops, x_a=x_a, names=(name, pops.names[1])), {
      "lstsq_train_pairs": int(train.sum()), "lstsq_train_r2": float(r2),
      "lstsq_test_cosine": float(np.mean(cos)) if len(cos) else float("nan")}
