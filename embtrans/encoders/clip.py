"""CLIP's text and vision towers from a local directory (PyTorch).

    text = ClipTextEncoder("/models/clip-vit-base-patch32")
    t = text.encode(captions)                      # [n, d] float32
    vision = ClipVisionEncoder("/models/clip-vit-base-patch32")
    v = vision.encode_images(images)               # [n, d] float32
    v, tokens = vision.encode_images(images, return_tokens=True)
    # tokens: [n, num_patches + 1, d_hidden] float32 (class token first)

Both towers return the projected embedding in CLIP's joint space
(d = projection_dim), L2-normalised by default, so `t @ v.T` is CLIP's
similarity up to its temperature. The vision tower's patch tokens are the
hidden states of layer `token_layer` (default -1: the last), before the final
layer norm and the projection: the inputs an attention-pooling or Perceiver
head is trained on. `images` may be PIL images, `[h, w, 3]` uint8 arrays, one
`[n, h, w, 3]` array, or image file paths.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Sequence

import numpy as np

from embtrans.data import digests
from embtrans.data.format import fingerprint
from embtrans.encoders import hf
from embtrans.encoders import l2_normalize
from embtrans.encoders import semantic_arguments


def _load(cls_name: str, path: pathlib.Path, device: str, dtype: str):
  """One tower of the CLIP checkpoint in `path` (the other's keys unused)."""
  os.environ.setdefault("HF_HUB_OFFLINE", "1")
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(os.cpu_count() or 1)
  config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
  if config.model_type == "clip":
    # The tower's own config, with the joint space's projection dim.
    tower = config.text_config if "Text" in cls_name else config.vision_config
    tower.projection_dim = config.projection_dim
    config = tower
  elif config.model_type not in ("clip_text_model", "clip_vision_model"):
    raise ValueError(f"{path} holds a {config.model_type!r} model, not CLIP.")
  verbosity = transformers.logging.get_verbosity()
  transformers.logging.set_verbosity_error()  # The other tower's keys.
  try:
    model = getattr(transformers, cls_name).from_pretrained(
        path, config=config, local_files_only=True, use_safetensors=True,
        dtype=hf.torch_dtype(dtype))
  finally:
    transformers.logging.set_verbosity(verbosity)
  return model.to(device).eval()


def _identity(cls, arguments: dict[str, Any]) -> dict[str, Any]:
  path = hf.check_model_dir(arguments["path"], cls.__name__)
  return {"model_files": digests.directory_digest(path, hf.MODEL_FILES),
          "class": cls.__name__, **semantic_arguments(arguments)}


class _Tower:
  """What both CLIP towers share: identity, fingerprint, a no-op fit.

  Subclasses set `self.args` (the semantic constructor arguments).
  """

  args: dict[str, Any]

  @classmethod
  def identity(cls, **arguments: Any) -> dict[str, Any]:
    return _identity(cls, arguments)

  def fingerprint(self) -> str:
    return fingerprint(self.identity(**self.args))

  def fit(self, texts: Sequence[str]) -> None:
    del texts


class ClipTextEncoder(_Tower):
  """CLIP's text tower + text projection.

  Args:
    path: local CLIP directory (config.json, *.safetensors, tokenizer).
    normalize: L2-normalise the embeddings.
    max_length: tokens per caption (CLIP: 77).
    batch_size: captions per forward pass.
    device, dtype: as for TransformersEncoder.
    name: the name recorded in manifests.
  """

  needs_fit = False
  modality = "text"

  def __init__(self, path: str, normalize: bool = True, max_length: int = 77,
               batch_size: int = 64, device: str | None = None,
               dtype: str = "float32", name: str = "clip_text"):
    import transformers  # pylint: disable=g-import-not-at-top
    self.path = hf.check_model_dir(path, "clip_text")
    self.args = dict(path=str(path), normalize=normalize,
                     max_length=max_length, dtype=dtype)
    self.name, self.normalized = name, bool(normalize)
    self.max_length, self.batch_size = max_length, batch_size
    self.device = hf.torch_device(device)
    self.model = _load("CLIPTextModelWithProjection", self.path, self.device,
                       dtype)
    self.tokenizer = transformers.AutoTokenizer.from_pretrained(
        self.path, local_files_only=True)
    self.dim = int(self.model.config.projection_dim)

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    """Captions -> float32 `[len(texts), dim]`."""
    import torch  # pylint: disable=g-import-not-at-top
    texts = list(texts)
    out = np.zeros((len(texts), self.dim), np.float32)
    for start in range(0, len(texts), self.batch_size):
      batch = self.tokenizer(texts[start:start + self.batch_size],
                             padding=True, truncation=True,
                             max_length=self.max_length, return_tensors="pt")
      with torch.inference_mode():
        emb = self.model(input_ids=batch["input_ids"].to(self.device),
                         attention_mask=batch["attention_mask"].to(
                             self.device)).text_embeds
      out[start:start + len(emb)] = emb.float().cpu().numpy()
    return l2_normalize(out) if self.normalized else out


def _as_pil(images: Any) -> list[Any]:
  """PIL RGB images from PIL images, uint8 arrays or file paths."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  if isinstance(images, np.ndarray) and images.ndim == 4:
    images = list(images)
  out = []
  for im in images:
    if isinstance(im, (str, os.PathLike)):
      with Image.open(im) as f:
        im = f.convert("RGB")
    elif isinstance(im, np.ndarray):
      if im.ndim != 3 or im.shape[-1] != 3:
        raise ValueError(f"image arrays must be [h, w, 3]; got {im.shape}.")
      im = Image.fromarray(np.asarray(im, np.uint8))
    out.append(im.convert("RGB"))
  return out


class ClipVisionEncoder(_Tower):
  """CLIP's vision tower + visual projection; optionally the patch tokens.

  Args:
    path: local CLIP directory (config.json, *.safetensors, the image
      processor's preprocessor_config.json).
    normalize: L2-normalise the pooled (projected) embeddings.
    batch_size: images per forward pass.
    token_layer: which hidden states `return_tokens` gives (-1: the last).
    device, dtype: as for TransformersEncoder.
    name: the name recorded in manifests.

  Attributes:
    dim: projection dim d of the pooled embeddings.
    token_dim: hidden size d_hidden of the patch tokens.
    num_tokens: num_patches + 1 (the class token first).
  """

  needs_fit = False
  modality = "image"

  def __init__(self, path: str, normalize: bool = True, batch_size: int = 32,
               token_layer: int = -1, device: str | None = None,
               dtype: str = "float32", name: str = "clip_vision"):
    import transformers  # pylint: disable=g-import-not-at-top
    self.path = hf.check_model_dir(path, "clip_vision")
    self.args = dict(path=str(path), normalize=normalize,
                     token_layer=token_layer, dtype=dtype)
    self.name, self.normalized = name, bool(normalize)
    self.batch_size, self.token_layer = batch_size, token_layer
    self.device = hf.torch_device(device)
    self.model = _load("CLIPVisionModelWithProjection", self.path,
                       self.device, dtype)
    processor = getattr(transformers, "CLIPImageProcessorPil", None) or (
        transformers.CLIPImageProcessor)  # PIL: the same on every machine.
    self.processor = processor.from_pretrained(self.path,
                                               local_files_only=True)
    vision = self.model.config
    self.dim = int(vision.projection_dim)
    self.token_dim = int(vision.hidden_size)
    self.num_tokens = (vision.image_size // vision.patch_size) ** 2 + 1

  def _forward(self, images: list[Any], return_tokens: bool):
    import torch  # pylint: disable=g-import-not-at-top
    pixels = self.processor(images=images, return_tensors="pt")[
        "pixel_values"].to(self.device, self.model.dtype)
    with torch.inference_mode():
      out = self.model(pixel_values=pixels,
                       output_hidden_states=return_tokens and
                       self.token_layer != -1)
    pooled = out.image_embeds.float().cpu().numpy()
    if not return_tokens:
      return pooled, None
    tokens = out.last_hidden_state if self.token_layer == -1 else (
        out.hidden_states[self.token_layer])
    return pooled, tokens.float().cpu().numpy()

  def encode_images(self, images: Any, return_tokens: bool = False):
    """Images -> pooled `[n, dim]` (and tokens `[n, num_tokens, token_dim]`).

    Returns float32 arrays: `pooled`, or `(pooled, tokens)` when
    `return_tokens`.
    """
    images = _as_pil(images)
    pooled = np.zeros((len(images), self.dim), np.float32)
    tokens = np.zeros((len(images), self.num_tokens, self.token_dim),
                      np.float32) if return_tokens else None
    for start in range(0, len(images), self.batch_size):
      p, t = self._forward(images[start:start + self.batch_size],
                           return_tokens)
      pooled[start:start + len(p)] = p
      if return_tokens:
        tokens[start:start + len(p)] = t
    pooled = l2_normalize(pooled) if self.normalized else pooled
    return (pooled, tokens) if return_tokens else pooled

  def encode(self, paths: Sequence[str]) -> np.ndarray:
    """Image file paths (or images) -> pooled float32 `[n, dim]`."""
    return self.encode_images(list(paths))
