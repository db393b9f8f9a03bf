"""The align task's scores: retrieval at every Matryoshka prefix, and the
closed-form references that bound them.

Image -> text (i2t): each item queries all test targets; any of its own
targets counts (COCO: any of its 5 captions). Text -> image (t2i): each
target queries all test items; its one item counts. Cosine similarity of the
L2-normalised prefixes, ranks by counting (`metrics.recall_at_k`).

A prefix is scored as the full-width vector with the dims past the prefix
zeroed (the cosine is the same), so every prefix reuses one compiled kernel.

Keys (flat): `i2t/recall@k`, `t2i/recall@k`, `i2t/mean_rank`, ... at the full
dim, and `mrl_<p>/i2t/recall@k`, ... for each prefix p (the full dim too).

References (NumPy only, fitted on train, scored by the same protocol):
  mean_pool_ridge  mean of the valid tokens -> ridge regression onto the
                   target -> retrieval on test. What a head gets if its
                   attention stays uniform (plus a linear map).
  planted_oracle   (planted data only) the mean of the marked signal
                   token(s) (the known `signal_mask`; without it the token
                   of largest projection on the marker) -> ridge ->
                   retrieval: what a head that attends to the right
                   tokens can reach.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from embtrans import metrics
from embtrans.data import token_pairs


def retrieval_scores(image: np.ndarray, text: np.ndarray,
                     split: token_pairs.TokenSplit, prefixes: Sequence[int],
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


REFERENCE_KEYS = ("i2t/recall@1", "i2t/recall@5", "i2t/recall@10",
                  "t2i/recall@1", "t2i/recall@5", "t2i/recall@10")


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
  """Weights [d + 1, d_t] of y ~ [x, 1] W (ridge, bias not penalised)."""
  x1 = np.concatenate([x, np.ones((len(x), 1))], 1).astype(np.float64)
  reg = lam * np.eye(x1.shape[1])
  reg[-1, -1] = 0.0
  return np.linalg.solve(x1.T @ x1 + reg, x1.T @ y.astype(np.float64))


def _apply(w: np.ndarray, x: np.ndarray) -> np.ndarray:
  return (np.concatenate([x, np.ones((len(x), 1))], 1) @ w).astype(
      np.float32)


def _pooled(split: token_pairs.TokenSplit, chunk: int = 1024) -> np.ndarray:
  """[n_items, d] mean of each item's valid tokens."""
  out = []
  for s in range(0, split.num_items, chunk):
    tokens, lengths = split.item_tokens(np.arange(s, min(s + chunk,
                                                         split.num_items)))
    out.append(tokens.sum(1) / lengths[:, None])
  return np.concatenate(out)


def _per_item_target(split: token_pairs.TokenSplit) -> np.ndarray:
  """[n_items, d_t] mean target of each item (its captions' mean)."""
  sums = np.zeros((split.num_items, split.targets.shape[1]))
  np.add.at(sums, split.target_item, split.targets)
  return sums / np.bincount(split.target_item)[:, None]


def _reference(w: np.ndarray, x_test: np.ndarray,
               data: token_pairs.AlignmentData, lam: float
               ) -> dict[str, float]:
  image = _apply(w, x_test)
  text = np.asarray(data.test.targets, np.float32)
  scores = retrieval_scores(image, text, data.test,
                            prefixes=(image.shape[1],))
  return {"ridge": lam, **{k: scores[k] for k in REFERENCE_KEYS}}


def mean_pool_ridge(data: token_pairs.AlignmentData, lam: float = 1.0
                    ) -> dict[str, float]:
  """Mean of the valid tokens -> ridge -> retrieval on the test split."""
  w = _ridge(_pooled(data.train), _per_item_target(data.train), lam)
  return _reference(w, _pooled(data.test), data, lam)


def planted_oracle(data: token_pairs.AlignmentData, lam: float = 1.0
                   ) -> dict[str, float]:
  """Ridge from the signal token(s) to the target.

  Needs `data.extras['marker_direction']` (the planted set has it); uses
  `data.extras['signal_mask']` (rows as the token store) when present.
  """
  marker = data.extras["marker_direction"]
  marked = data.extras.get("signal_mask")

  def signal(split):
    tokens, _ = split.item_tokens(np.arange(split.num_items))
    if marked is not None:
      mask = marked[split.rows][:, :tokens.shape[1], None]
      return (tokens * mask).sum(1) / np.maximum(mask.sum(1), 1)
    pick = np.argmax(tokens @ marker, axis=1)
    return tokens[np.arange(len(tokens)), pick]

  w = _ridge(signal(data.train), data.train.targets, lam)
  return _reference(w, signal(data.test), data, lam)


def references(data: token_pairs.AlignmentData
               ) -> dict[str, dict[str, Any]]:
  """{name: scores} of every reference that applies to `data`."""
  out = {"mean_pool_ridge": mean_pool_ridge(data)}
  if "marker_direction" in data.extras:
    out["planted_oracle"] = planted_oracle(data)
  return out
