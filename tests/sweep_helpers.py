"""Synthetic embedding spaces for the sweep and report tests."""

from __future__ import annotations

import pathlib
from typing import Sequence

import numpy as np

from tests import helpers


def related_spaces(root, dims: Sequence[int] = (8, 8), n: int = 160,
                   seed: int = 0, labels: int = 4) -> list[str]:
  """Datasets of the same n ids in spaces of `dims`.

  Each space is a noisy nonlinear image of one shared latent, so the
  translations are learnable; rows carry texts and a `package` label.
  Returns their directories.
  """
  from embtrans.data import format as fmt  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  latent = rng.standard_normal((n, 6))
  ids = [f"doc{i}" for i in range(n)]
  package = [f"pkg{i % labels}" for i in range(n)]
  texts = [f"text of document {i} in package {p}"
           for i, p in enumerate(package)]
  paths = []
  for k, dim in enumerate(dims):
    vectors = np.tanh(latent @ rng.standard_normal((6, dim)))
    vectors += 0.05 * rng.standard_normal((n, dim))
    path = pathlib.Path(root) / f"space{k}"
    fmt.write_dataset(path, ids, vectors.astype(np.float32), texts=texts,
                      metadata={"package": package},
                      manifest_extra={"name": f"space{k}"})
    paths.append(str(path))
  return paths


def grid_config(spaces: Sequence[str], archs: str = "linear+mlp1_w1"):
  """The tiny grid config over `spaces` (dataset dirs)."""
  return helpers.load_config(
      "grid", f"spaces={'+'.join(spaces)},archs={archs},tiny=True")
