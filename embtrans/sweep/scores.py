"""Test-split scores of one grid member, from the metric kernels.

Keys (flat, as in results.json of the single trainer):

  test/mse, test/cosine                 mean squared error (over rows and
                                        dims) and mean row cosine
  test/r2                               1 - SSE / SST: the share of the
                                        target's variance explained (SST
                                        about the test targets' mean), so
                                        directions with targets of different
                                        scale compare
  test/recall@{1,5,10}, test/mean_rank  translated row i must retrieve
  test/median_rank                      target row i among all test targets
  test/chance_recall@1                  1 / number of test items
  test/cka/linear_cka                   linear CKA(translated, target)
  test/cka/source/linear_cka            linear CKA(source, target)
  test/knn/{jaccard,mutual_knn,rank_agreement,edit_distance}@k
                                        k-NN structure of translated vs
                                        target (each within its own set)
  test/retrieval_overlap@k              see `retrieval_overlap`
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from embtrans import evaluators
from embtrans.evaluation import translation_scores
from embtrans.metrics import retrieval


@functools.partial(jax.jit, static_argnames=("k",))
def _overlap(translated: jax.Array, target: jax.Array, k: int) -> jax.Array:
  docs = retrieval.l2_normalize(target)
  _, via_true = jax.lax.top_k(docs @ docs.T, k)
  _, via_translated = jax.lax.top_k(retrieval.l2_normalize(translated) @ docs.T,
                                    k)
  hits = via_true[:, :, None] == via_translated[:, None, :]  # [n, k, k]
  return jnp.mean(jnp.sum(hits, axis=(1, 2)) / k)


def retrieval_overlap(translated: np.ndarray, target: np.ndarray,
                      k: int = 10) -> float:
  """Mean |top-k(target_i) & top-k(translated_i)| / k over test queries i.

  The documents are all n test targets. Query i searches them (cosine) once
  with its true target vector and once with its translated vector; the score
  is the fraction of the k documents found both ways, averaged over queries.
  The query's own document counts like any other (it is rank 1 in the true
  search). 1 means translated queries fetch exactly what true ones fetch.

  Args:
    translated: [n, d] translated test vectors.
    target: [n, d] true test target vectors (the documents).
    k: documents per search, 1 <= k <= n.
  """
  n = target.shape[0]
  if translated.shape != target.shape:
    raise ValueError(f"translated {translated.shape} and target "
                     f"{target.shape} must have the same shape.")
  if not 1 <= k <= n:
    raise ValueError(f"k={k} must be in [1, {n}] (the number of documents).")
  return float(_overlap(jnp.asarray(translated, jnp.float32),
                        jnp.asarray(target, jnp.float32), k))


def r_squared(translated: np.ndarray, target: np.ndarray) -> float:
  """1 - sum (translated - target)^2 / sum (target - mean target)^2."""
  t = np.asarray(target, np.float64)
  sse = np.sum(np.square(np.asarray(translated, np.float64) - t))
  return float(1.0 - sse / max(np.sum(np.square(t - t.mean(0))), 1e-300))


def member_scores(source: np.ndarray, target: np.ndarray,
                  translated: np.ndarray, config: ml_collections.ConfigDict
                  ) -> dict[str, float]:
  """All test scores of one translation (see the module docstring).

  Args:
    source: [n, d_src] test source vectors.
    target: [n, d_tgt] test target vectors.
    translated: [n, d_tgt] the member's output for `source`.
    config: the grid config (`recall_ks`, `evals`, `overlap_k`).

  Raises:
    FloatingPointError: the translation holds NaN or inf.
  """
  if not np.isfinite(translated).all():
    raise FloatingPointError("the translation holds NaN/inf")
  out = {f"test/{k}": v for k, v in translation_scores(
      translated, target, tuple(config.recall_ks)).items()}
  out["test/chance_recall@1"] = 1.0 / target.shape[0]
  out["test/r2"] = r_squared(translated, target)
  result = evaluators.TranslationResult(source, target, translated)
  out.update({f"test/{k}": v for k, v in evaluators.run_evaluators(
      config.evals, result)})
  k = config.overlap_k
  out[f"test/retrieval_overlap@{k}"] = retrieval_overlap(translated, target, k)
  return out
