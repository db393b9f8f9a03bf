"""Small synthetic data for the retrieval tests (imported as a helper)."""

from __future__ import annotations

import pathlib

import numpy as np

from embtrans.data import format as fmt
from embtrans.retrieval import Catalog

MODULES = ("m0", "m1", "m2", "m3", "m4", "m5")
NAMES = ("read", "write", "close", "open", "copy")


def catalog(n: int = 200, dim: int = 16, seed: int = 0) -> Catalog:
  """Random unit vectors with tenant / module / kind / bucket / score."""
  rng = np.random.default_rng(seed)
  return Catalog.create(
      [f"item{i}" for i in range(n)], rng.standard_normal((n, dim)),
      {"tenant": ["a" if i % 7 else "b" for i in range(n)],
       "module": [MODULES[i % len(MODULES)] for i in range(n)],
       "kind": ["method" if i % 3 else "function" for i in range(n)],
       "bucket": [int(b) for b in rng.integers(0, 100, n)],
       "score": [float(x) for x in rng.random(n)]}, space="toy")


def pydocs_like(root: pathlib.Path, docstrings: int = 90, dim: int = 16,
                query_dim: int = 12, seed: int = 0
                ) -> tuple[pathlib.Path, pathlib.Path]:
  """Two datasets with pydocs' columns: A (the index space) and B = A R.

  Each docstring (module, qualname) has a summary and a body record; names
  repeat across modules, so items have namesakes.
  """
  rng = np.random.default_rng(seed)
  name_vecs = rng.standard_normal((len(NAMES), dim))
  module_vecs = rng.standard_normal((len(MODULES), dim))
  ids, meta, vecs = [], {"module": [], "qualname": [], "part": [],
                         "kind": []}, []
  for d in range(docstrings):
    module, name = MODULES[d % len(MODULES)], NAMES[(d // 2) % len(NAMES)]
    qual = f"C{d}.{name}"
    base = (2 * name_vecs[NAMES.index(name)] +
            module_vecs[MODULES.index(module)] + rng.standard_normal(dim))
    for part, noise in (("summary", 0.3), ("body", 1.2)):
      ids.append(f"syn:{module}.py:{qual}:{part}")
      meta["module"].append(module)
      meta["qualname"].append(qual)
      meta["part"].append(part)
      meta["kind"].append("method" if d % 3 else "function")
      vecs.append(base + noise * rng.standard_normal(dim))
  a = np.asarray(vecs, np.float32)
  b = (a @ rng.standard_normal((dim, query_dim)) +
       0.05 * rng.standard_normal((len(a), query_dim))).astype(np.float32)
  texts = [f"text of {i}" for i in ids]
  fmt.write_dataset(root / "a", ids, a, texts=texts, metadata=meta,
                    manifest_extra={"name": "toy/a", "model": "toy-a"})
  fmt.write_dataset(root / "b", ids, b, texts=texts, metadata=meta,
                    manifest_extra={"name": "toy/b", "model": "toy-b"})
  return root / "a", root / "b"
