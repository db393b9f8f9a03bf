"""The two models of the pydocs upgrade and their query / document datasets.

Old model: MiniLM (all-MiniLM-L6-v2; symmetric: one dataset for both).
New model: E5-small ('query: ' mode for queries, 'passage: ' for documents).
Every dataset is the cached pydocs build (built on first use).
"""

from __future__ import annotations

from embtrans.data import build as build_lib
from embtrans.upgrade import data

OLD, NEW = "minilm", "e5_small"


def open_spaces(limit: int | None = None, cache_dir=None
                ) -> tuple[data.Space, data.Space]:
  """(old, new) spaces over the pydocs corpus (its first `limit` texts)."""
  def get(encoder, **kwargs):
    return build_lib.build_dataset("pydocs", encoder, limit, kwargs,
                                   cache_dir=cache_dir)
  minilm = get(OLD)
  old = data.Space(OLD, minilm, minilm)
  new = data.Space(NEW, get(NEW, mode="query"), get(NEW, mode="passage"))
  return old, new
