"""Hugging Face transformers encoders from a local directory (PyTorch).

    enc = get_encoder("hf", path="/models/bge-small", pooling="cls")
    enc = get_encoder("t5", path="/models/gtr-t5-base")   # T5 encoder, mean
    vectors = enc.encode(texts)                            # [n, dim] float32

Pooling over the last hidden states `h: [batch, tokens, hidden]` with the
attention mask `m: [batch, tokens]`:
  mean  sum_t m h / sum_t m       (BERT-style sentence encoders, T5 / GTR)
  cls   h[:, 0]                   (BGE, models trained on the [CLS] token)
  last  h at the last unmasked token, whichever side the padding is on
        (decoder-only models: GPT-2, Llama, Qwen embedding models)
then optional L2 normalisation. Texts are encoded longest first (less
padding), and returned in the order given.

Only safetensors weights are read (no pickle), from local files only;
`trust_remote_code` stays off unless set. A model's identity for caching is a
digest of its weight, config and tokenizer files (`identity`), computed
without loading it.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Sequence

import numpy as np

from embtrans.data import digests
from embtrans.data.format import fingerprint
from embtrans.encoders import l2_normalize
from embtrans.encoders import semantic_arguments

POOLINGS = ("mean", "cls", "last")
DTYPES = ("float32", "bfloat16", "float16")
# Files whose bytes define a model: weights, configs, tokenizer.
MODEL_FILES = ("*.safetensors", "*.json", "*.txt", "*.model", "merges.txt",
               "*.tiktoken")
_T5_TYPES = ("t5", "mt5", "umt5")


def check_model_dir(path: str | os.PathLike, what: str) -> pathlib.Path:
  """A local model directory with config.json and safetensors weights.

  Raises:
    FileNotFoundError: the directory or its config.json does not exist.
    ValueError: the weights exist only as pickle (.bin / .pt) files.
  """
  p = pathlib.Path(path).expanduser()
  if not str(path) or not p.is_dir():
    raise FileNotFoundError(
        f"{what}: model path {str(path)!r} does not exist. Give a local "
        "directory written by save_pretrained (nothing is downloaded).")
  if not (p / "config.json").is_file():
    raise FileNotFoundError(f"{what}: {p} has no config.json; give a "
                            "directory written by save_pretrained.")
  if not list(p.glob("*.safetensors")):
    pickles = [q.name for q in p.iterdir() if q.suffix in (".bin", ".pt",
                                                            ".pth", ".ckpt")]
    hint = (f" It has only pickle weights ({pickles[:3]}), which embtrans "
            "does not load: re-save them with save_pretrained(dir, "
            "safe_serialization=True).") if pickles else ""
    raise ValueError(f"{what}: no *.safetensors weights in {p}.{hint}")
  return p


def torch_device(device: str | None) -> str:
  import torch  # pylint: disable=g-import-not-at-top
  return device or ("cuda" if torch.cuda.is_available() else "cpu")


def torch_dtype(dtype: str):
  import torch  # pylint: disable=g-import-not-at-top
  if dtype not in DTYPES:
    raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}.")
  return getattr(torch, dtype)


def pool(hidden, mask, pooling: str):
  """Pools `hidden: [batch, tokens, dim]` under `mask: [batch, tokens]`.

  Returns a float32 torch tensor `[batch, dim]`.
  """
  import torch  # pylint: disable=g-import-not-at-top
  hidden, mask = hidden.float(), mask.to(hidden.device)
  if pooling == "mean":
    weights = mask.unsqueeze(-1).float()
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
  if pooling == "cls":
    return hidden[:, 0]
  if pooling == "last":
    tokens = mask.shape[1]
    last = tokens - 1 - torch.argmax(mask.flip(1).long(), dim=1)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
  raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")


def _forward_keys(model) -> set[str]:
  import inspect  # pylint: disable=g-import-not-at-top
  return set(inspect.signature(model.forward).parameters)


class TransformersEncoder:
  """A transformers model + tokenizer from `path`, pooled to one vector.

  Args:
    path: local directory (config.json, *.safetensors, tokenizer files).
    pooling: 'mean', 'cls' or 'last' (see the module docstring).
    normalize: L2-normalise the pooled vectors.
    max_length: tokens per text; longer texts are truncated.
    batch_size: texts per forward pass.
    device: 'cpu', 'cuda', ...; default: CUDA when available.
    dtype: weights dtype ('float32'; 'bfloat16'/'float16' on GPUs).
    prefix: prepended to every text (e.g. 'query: ' for E5 models).
    trust_remote_code: run code shipped with the model (off by default).
    name: the name recorded in manifests.
  """

  needs_fit = False
  modality = "text"
  _WHAT = "hf encoder"

  def __init__(self, path: str, pooling: str = "mean", normalize: bool = True,
               max_length: int = 256, batch_size: int = 32,
               device: str | None = None, dtype: str = "float32",
               prefix: str = "", trust_remote_code: bool = False,
               name: str = "hf"):
    self._check_args(pooling, max_length, batch_size)
    self.path = check_model_dir(path, self._WHAT)
    self.name, self.pooling, self.normalized = name, pooling, bool(normalize)
    self.max_length, self.batch_size, self.prefix = max_length, batch_size, \
        prefix
    self.args = dict(path=str(path), pooling=pooling, normalize=normalize,
                     max_length=max_length, dtype=dtype, prefix=prefix,
                     trust_remote_code=trust_remote_code)
    self.device = torch_device(device)
    self.tokenizer, self.model = self._load(trust_remote_code,
                                            torch_dtype(dtype))
    config = self.model.config
    self.dim = int(getattr(config, "hidden_size", None) or config.d_model)
    self._keys = _forward_keys(self.model)

  @staticmethod
  def _check_args(pooling: str, max_length: int, batch_size: int) -> None:
    if pooling not in POOLINGS:
      raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
    if max_length < 1 or batch_size < 1:
      raise ValueError(f"max_length and batch_size must be >= 1, got "
                       f"{max_length} and {batch_size}.")

  def _model_class(self, config):
    """The transformers class to load for `config` (encoder only)."""
    import transformers  # pylint: disable=g-import-not-at-top
    if config.model_type in _T5_TYPES:
      return transformers.T5EncoderModel if config.model_type == "t5" else (
          getattr(transformers, f"{config.model_type.upper()}EncoderModel"))
    if config.model_type == "clip":
      raise ValueError(f"{self.path} is a CLIP model: use the 'clip_text' or "
                       "'clip_vision' encoder.")
    return transformers.AutoModel

  def _load(self, trust_remote_code: bool, dtype) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch  # pylint: disable=g-import-not-at-top
    import transformers  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(os.cpu_count() or 1)
    kw = dict(local_files_only=True, trust_remote_code=trust_remote_code)
    config = transformers.AutoConfig.from_pretrained(self.path, **kw)
    model = self._model_class(config).from_pretrained(
        self.path, use_safetensors=True, dtype=dtype, **kw)
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(
        model, "get_encoder"):
      model = model.get_encoder()
    tokenizer = transformers.AutoTokenizer.from_pretrained(self.path, **kw)
    if tokenizer.pad_token is None:
      if tokenizer.eos_token is None:
        raise ValueError(f"The tokenizer in {self.path} has neither a pad nor"
                         " an eos token; cannot batch texts.")
      tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model.to(self.device).eval()

  @classmethod
  def identity(cls, **arguments: Any) -> dict[str, Any]:
    """Weights digest + the arguments that change the vectors (no loading)."""
    path = check_model_dir(arguments["path"], cls._WHAT)
    return {"model_files": digests.directory_digest(path, MODEL_FILES),
            "class": cls.__name__, **semantic_arguments(arguments)}

  def fingerprint(self) -> str:
    return fingerprint(self.identity(**self.args))

  def fit(self, texts: Sequence[str]) -> None:
    del texts

  def _encode_batch(self, texts: list[str]):
    import torch  # pylint: disable=g-import-not-at-top
    batch = self.tokenizer([self.prefix + t for t in texts], padding=True,
                           truncation=True, max_length=self.max_length,
                           return_tensors="pt")
    inputs = {k: v.to(self.device) for k, v in batch.items()
              if k in self._keys}
    with torch.inference_mode():
      hidden = self.model(**inputs).last_hidden_state
    return pool(hidden, batch["attention_mask"], self.pooling)

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    """`texts` -> float32 `[len(texts), dim]`, in the order given."""
    texts = list(texts)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), self.dim), np.float32)
    for start in range(0, len(texts), self.batch_size):
      rows = order[start:start + self.batch_size]
      out[rows] = self._encode_batch([texts[i] for i in rows]).cpu().numpy()
    return l2_normalize(out) if self.normalized else out


class T5Encoder(TransformersEncoder):
  """The encoder stack of a T5-family checkpoint (T5, mT5, GTR, sentence-T5).

  Same arguments as TransformersEncoder; the directory must hold a T5
  config. Mean pooling by default, as in GTR and sentence-T5.
  """

  _WHAT = "t5 encoder"

  def __init__(self, path: str, pooling: str = "mean", normalize: bool = True,
               max_length: int = 256, batch_size: int = 32,
               device: str | None = None, dtype: str = "float32",
               prefix: str = "", trust_remote_code: bool = False,
               name: str = "t5"):
    super().__init__(path, pooling, normalize, max_length, batch_size, device,
                     dtype, prefix, trust_remote_code, name)

  def _model_class(self, config):
    if config.model_type not in _T5_TYPES:
      raise ValueError(f"{self.path} holds a {config.model_type!r} model, not"
                       f" a T5 one ({_T5_TYPES}); use the 'hf' encoder.")
    return super()._model_class(config)
