"""Closed-form reference scores for an alignment data set (NumPy only).

  mean_pool_ridge  mean of the valid tokens -> ridge regression onto the
                   target (fitted on train) -> retrieval on test. What a head
                   gets if its attention stays uniform (plus a linear map).
  planted_oracle   (planted data only) the marked signal token, found with
                   the known marker direction -> ridge -> retrieval: what a
                   head that attends to the right token can reach.

Both use `evaluation.retrieval_scores` (same protocol as the trained heads).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from embtrans.alignment import data as data_lib
from embtrans.alignment import evaluation


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
  """Weights [d + 1, d_t] of y ~ [x, 1] W (ridge, bias not penalised)."""
  x1 = np.concatenate([x, np.ones((len(x), 1))], 1).astype(np.float64)
  reg = lam * np.eye(x1.shape[1])
  reg[-1, -1] = 0.0
  return np.linalg.solve(x1.T @ x1 + reg, x1.T @ y.astype(np.float64))


def _apply(w: np.ndarray, x: np.ndarray) -> np.ndarray:
  return (np.concatenate([x, np.ones((len(x), 1))], 1) @ w).astype(
      np.float32)


def _pooled(split: data_lib.TokenSplit, chunk: int = 1024) -> np.ndarray:
  """[n_items, d] mean of each item's valid tokens."""
  out = []
  for s in range(0, split.num_items, chunk):
    tokens, lengths = split.item_tokens(np.arange(s, min(s + chunk,
                                                         split.num_items)))
    out.append(tokens.sum(1) / lengths[:, None])
  return np.concatenate(out)


def _per_item_target(split: data_lib.TokenSplit) -> np.ndarray:
  """[n_items, d_t] mean target of each item (its captions' mean)."""
  sums = np.zeros((split.num_items, split.targets.shape[1]))
  np.add.at(sums, split.target_item, split.targets)
  return sums / np.bincount(split.target_item)[:, None]


def _scores(w: np.ndarray, x_test: np.ndarray, data: data_lib.AlignmentData,
            lam: float, name: str) -> dict[str, Any]:
  image = _apply(w, x_test)
  text = np.asarray(data.test.targets, np.float32)
  scores = evaluation.retrieval_scores(image, text, data.test,
                                       prefixes=(image.shape[1],))
  keep = ("i2t/recall@1", "i2t/recall@5", "i2t/recall@10", "t2i/recall@1",
          "t2i/recall@5", "t2i/recall@10")
  return {"method": name, "ridge": lam, **{k: scores[k] for k in keep}}


def mean_pool_ridge(data: data_lib.AlignmentData, lam: float = 1.0
                    ) -> dict[str, Any]:
  w = _ridge(_pooled(data.train), _per_item_target(data.train), lam)
  return _scores(w, _pooled(data.test), data, lam, "mean_pool_ridge")


def planted_oracle(data_cfg: Mapping[str, Any], lam: float = 1.0
                   ) -> dict[str, Any]:
  """Ridge from the signal token (picked by the known marker) to the target."""
  cfg = {k: v for k, v in data_cfg.items() if k != "name"}
  data = data_lib.planted(**cfg)
  marker = data.extras["marker_direction"]

  def signal(split):
    tokens, _ = split.item_tokens(np.arange(split.num_items))
    pick = np.argmax(tokens @ marker, axis=1)
    return tokens[np.arange(len(tokens)), pick]

  w = _ridge(signal(data.train), data.train.targets, lam)
  return _scores(w, signal(data.test), data, lam, "planted_oracle")


def references(data_cfg: Mapping[str, Any], data: data_lib.AlignmentData
               ) -> list[dict[str, Any]]:
  out = [mean_pool_ridge(data)]
  if data_cfg.get("name") == "synthetic":
    out.append(planted_oracle(data_cfg))
  return out
