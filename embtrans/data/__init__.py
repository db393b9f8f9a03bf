"""Embedding datasets: text sources, on-disk format, building, pairing.

    from embtrans import data
    a = data.resolve_dataset("minilm")          # default corpus x MiniLM
    b = data.open_dataset("/path/to/dataset")   # any built dataset
    paired = data.pair_datasets(a, b)           # joined by id, split 80/20
"""

from embtrans.data.build import build_dataset
from embtrans.data.build import default_cache_dir
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
