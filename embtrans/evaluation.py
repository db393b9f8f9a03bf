"""Test-split scores of a trained translator next to closed-form baselines.

Keys are flat: `test/mse`, `test/cosine`, `test/recall@1`, `test/mean_rank`,
..., and the same under `baseline_<name>/` for each `config.baselines` entry
(fitted on the training split). Recall@K follows the vec2vec protocol: a
translated source vector must retrieve its own target among all test targets
(cosine similarity); `test/chance_recall@1` = 1 / number of test items.
"""

from __future__ import annotations

from typing import Callable, Mapping

import ml_collections
import numpy as np

from embtrans import baselines
from embtrans import evaluators
from embtrans import metrics
from embtrans.data import pairing


def translation_scores(translated: np.ndarray, target: np.ndarray,
                       ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
  """MSE, mean cosine, Recall@k and ranks of `translated: [n, d]` vs `target`.

  `mse` is the mean over rows and dims; `cosine` the mean row cosine.
  """
  translated = np.asarray(translated, np.float32)
  target = np.asarray(target, np.float32)
  num = np.sum(translated * target, axis=1)
  den = np.linalg.norm(translated, axis=1) * np.linalg.norm(target, axis=1)
  scores = {"mse": float(np.mean(np.square(translated - target))),
            "cosine": float(np.mean(num / np.maximum(den, 1e-12)))}
  recall = metrics.recall_at_k(translated, target, ks=tuple(ks))
  scores.update({k: float(v) for k, v in recall.items()})
  return scores


def _score(prefix: str, translate: Callable[[np.ndarray], np.ndarray],
           test: pairing.PairedSplit, config: ml_collections.ConfigDict
           ) -> dict[str, float]:
  translated = translate(test.a)
  if not np.isfinite(translated).all():
    raise FloatingPointError(f"{prefix}: the translator produced NaN/inf on "
                             "the test split.")
  out = {f"{prefix}/{k}": v for k, v in translation_scores(
      translated, test.b, tuple(config.recall_ks)).items()}
  result = evaluators.TranslationResult(test.a, test.b, translated, test.ids)
  evals: Mapping = config.get("evals", {}) or {}
  out.update({f"{prefix}/{k}": v
              for k, v in evaluators.run_evaluators(evals, result)})
  return out


def evaluate_translators(config: ml_collections.ConfigDict,
                         translate: Callable[[np.ndarray], np.ndarray],
                         paired: pairing.Paired) -> dict[str, float]:
  """Scores `translate` and each baseline on the test split."""
  results = _score("test", translate, paired.test, config)
  results["test/chance_recall@1"] = 1.0 / len(paired.test)
  for name in config.baselines:
    fitted = baselines.fit_baseline(name, paired.train.a, paired.train.b)
    results.update(_score(f"baseline_{name}", fitted, paired.test, config))
  return results
