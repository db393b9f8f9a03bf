"""Retrieval scores of an alignment model, at every Matryoshka prefix.

Image -> text (i2t): each item queries all test targets; any of its own
targets counts (COCO: any of its 5 captions). Text -> image (t2i): each
target queries all test items; its one item counts. Cosine similarity of the
L2-normalised prefixes, ranks by counting (`metrics.recall_at_k`).

A prefix is scored as the full-width vector with the dims past the prefix
zeroed (the cosine is the same), so every prefix reuses one compiled kernel.

Keys (flat): `i2t/recall@k`, `t2i/recall@k`, `i2t/mean_rank`, ... at the full
dim, and `mrl_<p>/i2t/recall@k`, ... for each prefix p (the full dim too).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from embtrans import metrics
from embtrans.alignment import data as data_lib


def retrieval_scores(image: np.ndarray, text: np.ndarray,
                     split: data_lib.TokenSplit, prefixes: Sequence[int],
                     ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
  """Scores of image [n_items, D] vs text [n_targets, D] on `split`."""
  if image.shape[0] != split.num_items or text.shape[0] != split.num_targets:
    raise ValueError(f"{image.shape[0]} image and {text.shape[0]} text "
                     f"embeddings for {split.num_items} items and "
                     f"{split.num_targets} targets.")
  if not np.isfinite(image).all() or not np.isfinite(text).all():
    raise FloatingPointError("the model produced NaN/inf embeddings on the "
                             "test split.")
  full = image.shape[1]
  i2t_pos, t2i_pos = split.positives(), split.target_item
  out = {}
  for p in sorted({int(p) for p in prefixes} | {full}, reverse=True):
    keep = (np.arange(full) < p)[None, :]
    img, txt = np.where(keep, image, 0.0), np.where(keep, text, 0.0)
    for name, q, k, pos in (("i2t", img, txt, i2t_pos),
                            ("t2i", txt, img, t2i_pos)):
      cut = tuple(sorted({min(int(x), k.shape[0]) for x in ks}))
      stats = metrics.recall_at_k(q, k, ks=cut, positives=pos)
      for key, value in stats.items():
        if p == full:
          out[f"{name}/{key}"] = float(value)
        if p in prefixes or p == full:
          out[f"mrl_{p}/{name}/{key}"] = float(value)
  out["chance_i2t_recall@1"] = float(np.mean(
      (i2t_pos >= 0).sum(1) / split.num_targets))
  out["chance_t2i_recall@1"] = 1.0 / split.num_items
  return out
