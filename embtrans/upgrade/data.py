"""The query -> document upgrade task on the pydocs corpus.

A docstring gives a query (its summary line) and a document (its body);
they are relevant to each other and to nothing else. Docstrings, not texts,
are split: `format.split_of(docstring id)` sends ~20 % to test, and
`split_of('validation:' + docstring id)` carves ~20 % of the rest into a
validation split, so no query has its document on the other side of a split.

Two models, each with a query space and a document space (the same for a
symmetric model like MiniLM; E5's "query: " and "passage: " modes differ):

  old model  A: query vectors qa, document vectors da
  new model  B: query vectors qb, document vectors db

A translator is fitted on pairs (A-query vector, B-query vector) of the same
text: every text (summary or body) of the fit docstrings, in a fixed random
order, the first n of them. `write_fit_datasets` stores these pairs as two
embedding datasets per n, with split 'train' = the n fit pairs and 'test' =
every validation text, so the translate task and the sweep runner train on
them unchanged and score (and save) the validation translations.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Sequence

import numpy as np

from embtrans.data import build as build_lib
from embtrans.data import format as fmt

SPLITS = ("fit", "validation", "test")
# Shuffles the fit texts once; subsets of n pairs are prefixes of it.
FIT_ORDER_SEED = 0


@dataclasses.dataclass(frozen=True)
class Space:
  """One model's query and document datasets (the same dataset if symmetric)."""

  name: str
  query: fmt.EmbeddingDataset
  doc: fmt.EmbeddingDataset

  def info(self) -> dict:
    return {"name": self.name, "query_dataset": self.query.name,
            "doc_dataset": self.doc.name, "query_model": self.query.model_name,
            "query_fingerprint": self.query.manifest.get("fingerprint"),
            "doc_fingerprint": self.doc.manifest.get("fingerprint"),
            "dim": self.query.dim}


def open_space(name: str, query: str, doc: str, cache_dir=None) -> Space:
  """Opens a space from dataset specs (a directory, encoder or name)."""
  q = build_lib.resolve_dataset(query, cache_dir=cache_dir)
  d = q if doc == query else build_lib.resolve_dataset(doc, cache_dir=cache_dir)
  if not np.array_equal(q.ids, d.ids):
    raise fmt.DatasetError(f"{name}: the query dataset {q.path} and the "
                           f"document dataset {d.path} hold different ids; "
                           "build both from the same source.")
  return Space(name, q, d)


def docstring_of(text_id: str) -> tuple[str, str]:
  """'pydocs:<file>:<qualname>:summary' -> (docstring id, 'summary')."""
  base, _, part = text_id.rpartition(":")
  return base, part


def split_of_docstring(docstring: str) -> str:
  """'test', 'validation' or 'fit' for a docstring id."""
  if fmt.split_of(docstring) == "test":
    return "test"
  return "validation" if fmt.split_of(f"validation:{docstring}") == "test" \
      else "fit"


@dataclasses.dataclass(frozen=True)
class Split:
  """One split's retrieval problem, as rows of the (shared) datasets.

  Attributes:
    queries: [q] rows of the summaries whose docstring has a body.
    docs: [m] rows of every body in the split (the index).
    positives: [q] the position in `docs` of each query's body.
    texts: [t] rows of every text of the split (identity retrieval, fits).
  """

  queries: np.ndarray
  docs: np.ndarray
  positives: np.ndarray
  texts: np.ndarray


def splits(ids: Sequence[str]) -> dict[str, Split]:
  """The fit / validation / test problems over dataset rows `ids`."""
  parts = [docstring_of(str(i)) for i in ids]
  which = np.array([split_of_docstring(b) for b, _ in parts])
  row = {(b, p): r for r, (b, p) in enumerate(parts)}
  out = {}
  for name in SPLITS:
    texts = np.flatnonzero(which == name)
    docs = np.array([r for r in texts if parts[r][1] == "body"], np.int64)
    at = {parts[r][0]: k for k, r in enumerate(docs)}
    queries = np.array([r for r in texts if parts[r][1] == "summary"
                        and parts[r][0] in at], np.int64)
    positives = np.array([at[parts[r][0]] for r in queries], np.int64)
    out[name] = Split(queries, docs, positives, texts)
  return out


def fit_order(split: Split) -> np.ndarray:
  """The fit texts' rows in the fixed random order that n-subsets take."""
  rng = np.random.default_rng(FIT_ORDER_SEED)
  return split.texts[rng.permutation(len(split.texts))]


def fit_sizes(sizes: Sequence[int], available: int) -> list[int]:
  """`sizes` with 0 meaning all; sizes above `available` fail."""
  out = []
  for n in sizes:
    if n > available:
      raise ValueError(f"{n} training pairs asked for; the fit split holds "
                       f"{available}. Use 0 for all of them.")
    out.append(available if n == 0 else int(n))
  return out


def size_label(n: int) -> str:
  """A fit size as named in configs and directories: '100', 'all' (n=0)."""
  return "all" if n == 0 else str(int(n))


def fit_dataset_dir(root: pathlib.Path, n: int, space: str) -> pathlib.Path:
  """Where `write_fit_datasets` puts size `n`'s (0 = all) pairs of `space`."""
  return pathlib.Path(root) / f"fit-n{size_label(n)}-{space}"


def write_fit_datasets(root: pathlib.Path, old: Space, new: Space,
                       sizes: Sequence[int]) -> dict[int, tuple[str, str]]:
  """Writes (old, new) query-space pair datasets per size in `sizes` (0 =
  all fit texts); -> {size: (old dir, new dir)}.

  Rows: the first n fit texts (split 'train') and every validation text
  (split 'test'), ids and vectors copied from the query datasets.
  """
  if not np.array_equal(old.query.ids, new.query.ids):
    raise fmt.DatasetError(f"{old.query.path} and {new.query.path} hold "
                           "different ids; build both from the same source.")
  parts = splits(old.query.ids)
  order = fit_order(parts["fit"])
  out = {}
  for asked, n in zip(sizes, fit_sizes(sizes, len(order))):
    rows = np.concatenate([order[:n], parts["validation"].texts])
    labels = ["train"] * n + ["test"] * len(parts["validation"].texts)
    dirs = []
    for space in (old, new):
      path = fit_dataset_dir(root, asked, space.name)
      src = space.query
      if not fmt.is_complete(path):
        fmt.write_dataset(
            path, src.ids[rows], np.asarray(src.vectors[rows], np.float32),
            splits=labels, manifest_extra={
                "name": f"upgrade-fit-n{n}/{space.name}",
                "model": src.manifest.get("model"),
                "model_config": src.manifest.get("model_config"),
                "model_fingerprint": src.manifest.get("model_fingerprint"),
                "derived_from": src.manifest.get("fingerprint"),
                "normalized": src.manifest.get("normalized"),
                "split": {"method": "by docstring: the first n fit texts "
                          "(fixed order) -> train, validation texts -> test",
                          "fit_pairs": n}})
      dirs.append(str(path))
    out[asked] = tuple(dirs)
  return out
