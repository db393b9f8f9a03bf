"""Shared test helpers (imported by tests as `from tests import helpers`)."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_config(name: str, arg: str | None = None):
  """Runs `configs/<name>.py`'s get_config(arg)."""
  path = ROOT / "configs" / f"{name}.py"
  spec = importlib.util.spec_from_file_location(f"configs_{name}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def random_dataset(path, n: int, dim: int, seed: int = 0, prefix: str = "t",
                   ids=None):
  """Writes a synthetic embedding dataset; returns (ids, vectors)."""
  from embtrans.data import format as fmt  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  ids = list(ids) if ids is not None else [f"{prefix}{i}" for i in range(n)]
  vectors = rng.standard_normal((len(ids), dim)).astype(np.float32)
  fmt.write_dataset(path, ids, vectors, texts=[f"text {i}" for i in ids],
                    manifest_extra={"name": pathlib.Path(path).name})
  return ids, vectors
