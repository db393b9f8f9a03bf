"""Embedding datasets: text sources, on-disk format, building, pairing.

    from embtrans import data
    a = data.resolve_dataset("minilm")          # default corpus x MiniLM
    b = data.load("hotpotqa/t5")                # by name (in the cache) ...
    c = data.load("/path/to/dataset")           # ... or by path
    paired = data.pair(a, b)                    # joined by id, split 80/20

Build datasets with `python -m embtrans.embed --config=configs/embed/...`
or `data.build_dataset(...)`.
"""

from __future__ import annotations

import os
import pathlib

from embtrans.data.build import build_dataset
from embtrans.data.build import default_cache_dir
from embtrans.data.build import find_dataset
from embtrans.data.build import named_datasets
from embtrans.data.build import resolve_dataset
from embtrans.data.format import DatasetError
from embtrans.data.format import DatasetWriter
from embtrans.data.format import EmbeddingDataset
from embtrans.data.format import open_dataset
from embtrans.data.format import split_of
from embtrans.data.format import write_dataset
from embtrans.data.pairing import Paired
from embtrans.data.pairing import PairedSplit
from embtrans.data.pairing import pair_datasets


def load(spec: str | os.PathLike | EmbeddingDataset,
         cache_dir: str | os.PathLike | None = None) -> EmbeddingDataset:
  """Opens a dataset by path, cache key or manifest name (memory-mapped).

  Raises:
    DatasetError: nothing matches (the known names are listed), or the name
      is ambiguous, or the dataset is incomplete or corrupt.
  """
  if isinstance(spec, EmbeddingDataset):
    return spec
  found = find_dataset(str(spec), cache_dir)
  if found is None:
    root = pathlib.Path(cache_dir or default_cache_dir())
    names = sorted({n for n, _ in named_datasets(root) if n})
    raise DatasetError(f"No embedding dataset {str(spec)!r}: not a directory,"
                       f" and no dataset in {root} has that name. Known "
                       f"names: {names}.")
  return found


def pair(a: str | os.PathLike | EmbeddingDataset,
         b: str | os.PathLike | EmbeddingDataset,
         cache_dir: str | os.PathLike | None = None) -> Paired:
  """`load`s both and pairs them by id (see pairing.pair_datasets)."""
  return pair_datasets(load(a, cache_dir), load(b, cache_dir))
