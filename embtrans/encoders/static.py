"""Static (non-contextual) subword-embedding averages."""

from __future__ import annotations

import pathlib
from typing import Sequence

import numpy as np

from embtrans.data.format import fingerprint
from embtrans.encoders import l2_normalize

_WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class StaticSubwordEncoder:
  """Mean of a transformer's input subword embeddings over a text.

  Uses the tokenizer and the input embedding table of a BERT-style model in
  `path` (safetensors), skipping special tokens; no attention runs, so each
  subword contributes the same vector whatever its context. L2-normalised.
  """

  needs_fit = False
  normalized = True

  def __init__(self, path: str, name: str = "static", max_tokens: int = 256):
    from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
    from transformers import AutoTokenizer  # pylint: disable=g-import-not-at-top
    weights = pathlib.Path(path, "model.safetensors")
    if not weights.is_file():
      raise FileNotFoundError(f"No model.safetensors in {path!r}.")
    tensors = load_file(str(weights))
    if _WORD_EMBEDDINGS not in tensors:
      raise ValueError(f"{weights} has no {_WORD_EMBEDDINGS!r} tensor.")
    self.table = tensors[_WORD_EMBEDDINGS].astype(np.float32)  # [vocab, dim]
    self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    self.name, self.path, self.max_tokens = name, str(path), max_tokens
    self.dim = int(self.table.shape[1])

  def fingerprint(self) -> str:
    return fingerprint("static_subword", self.name, self.table.shape,
                       float(self.table[:8].sum()), self.max_tokens)

  def fit(self, texts: Sequence[str]) -> None:
    del texts

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    enc = self.tokenizer(list(texts), add_special_tokens=False,
                         truncation=True, max_length=self.max_tokens)
    out = np.zeros((len(texts), self.dim), np.float32)
    for row, ids in enumerate(enc["input_ids"]):
      if ids:
        out[row] = self.table[ids].mean(axis=0)
    return l2_normalize(out)


def minilm_static(max_tokens: int = 256) -> StaticSubwordEncoder:
  from embtrans.encoders.sentence_transformer import minilm_path  # pylint: disable=g-import-not-at-top
  return StaticSubwordEncoder(str(minilm_path()), "minilm_static", max_tokens)
