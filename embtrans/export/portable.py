"""The exported translator's files: names, flat parameters, safe reading.

model.safetensors holds the flattened parameters ('dense/kernel', ...) and,
in its metadata, the content of config.json. Nothing here unpickles: a file
without a safetensors header is refused, named a pickle when its first bytes
are those of a pickle (protocol 2-5) or of a torch zip.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Mapping

import numpy as np

FORMAT = "embtrans.translator"
VERSION = 1
WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "README.md"
AFFINE = "affine"  # The arch of closed-form fits.
AFFINE_KEYS = ("w", "x_mean", "x_scale", "y_mean", "y_scale")


class TranslatorFileError(ValueError):
  """An exported translator is missing, unsafe, corrupt or inconsistent."""


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
  """{'dense': {'kernel': a}} -> {'dense/kernel': a}."""
  out = {}
  for key, value in tree.items():
    if isinstance(value, Mapping):
      out.update(flatten(value, f"{prefix}{key}/"))
    else:
      out[f"{prefix}{key}"] = np.ascontiguousarray(value)
  return out


def unflatten(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """The inverse of `flatten`."""
  out: dict[str, Any] = {}
  for key, value in flat.items():
    *path, leaf = key.split("/")
    node = out
    for part in path:
      node = node.setdefault(part, {})
    node[leaf] = value
  return out


def write_weights(path: pathlib.Path, flat: Mapping[str, np.ndarray],
                  config: Mapping[str, Any]) -> str:
  """Writes model.safetensors; returns the config JSON stored in it."""
  from safetensors import numpy as st  # pylint: disable=g-import-not-at-top
  text = json.dumps(config, indent=2, sort_keys=True, default=str)
  st.save_file(dict(flat), str(path), metadata={"format": FORMAT,
                                                "config": text})
  return text


def _safetensors_header(path: pathlib.Path) -> bool:
  """Whether `path` starts like safetensors: u64 n, then n bytes of '{...'."""
  with open(path, "rb") as f:
    head = f.read(9)
  n = int.from_bytes(head[:8], "little") if len(head) == 9 else 0
  return 2 <= n <= path.stat().st_size - 8 and head[8:9] == b"{"


def _looks_pickled(path: pathlib.Path) -> bool:
  with open(path, "rb") as f:
    head = f.read(4)
  return (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04",
                                                b"\x05")) or head == b"PK\x03\x04"


def read_weights(path: pathlib.Path) -> tuple[dict[str, np.ndarray], dict]:
  """(flat params, the config in the metadata) of a model.safetensors.

  Raises:
    TranslatorFileError: missing, a pickle, corrupt or truncated.
  """
  from safetensors import numpy as st  # pylint: disable=g-import-not-at-top
  from safetensors import safe_open  # pylint: disable=g-import-not-at-top
  if not path.is_file():
    raise TranslatorFileError(f"{path} is missing: {path.parent} is not an "
                              "exported translator.")
  if not _safetensors_header(path):
    if _looks_pickled(path):
      raise TranslatorFileError(
          f"{path} is a pickle (or a torch zip of pickles), which can run "
          "code when loaded; embtrans reads only safetensors. Export the "
          "translator with python -m embtrans.translate export.")
    raise TranslatorFileError(f"{path} is corrupt or truncated (no "
                              "safetensors header); export the translator "
                              "again.")
  try:
    with safe_open(str(path), framework="numpy") as f:
      meta = f.metadata() or {}
    flat = st.load_file(str(path))
    config = json.loads(meta["config"])
  except Exception as e:  # pylint: disable=broad-except
    raise TranslatorFileError(
        f"{path} is corrupt or truncated ({type(e).__name__}: "
        f"{str(e)[:120]}); export the translator again.") from e
  if config.get("format") != FORMAT:
    raise TranslatorFileError(f"{path} is not an {FORMAT} file.")
  return flat, config
