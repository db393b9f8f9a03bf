"""Tests for embtrans.metrics.alignment against the NumPy reference."""

import chex
import jax
import numpy as np
import pytest

from embtrans.metrics import alignment
from embtrans.metrics import alignment_accuracy
from embtrans.metrics import recall_at_k
from embtrans.references import numpy_metrics as ref


def _ref(anchor, positive, negatives, normalize=True):
  """The NumPy reference in float64."""
  return ref.alignment_accuracy(
      *(np.asarray(v, np.float64) for v in (anchor, positive, negatives)),
      normalize)


def _data(n=70, m=9, d=6, seed=0):
  rng = np.random.default_rng(seed)
  anchor = rng.normal(size=(n, d)).astype(np.float32)
  positive = (anchor + rng.normal(size=(n, d))).astype(np.float32)
  negatives = rng.normal(size=(n, m, d)).astype(np.float32)
  return anchor, positive, negatives


@pytest.mark.parametrize("normalize", [True, False])
def test_per_row_negatives_match_reference(normalize):
  anchor, positive, negatives = _data()
  got = alignment_accuracy(anchor, positive, negatives, normalize=normalize)
  np.testing.assert_allclose(got, _ref(anchor, positive, negatives, normalize))
  assert 0.2 < float(got) < 1.0  # a non-trivial case


@pytest.mark.parametrize("block_size", [1024, 16])
def test_shared_pool_matches_reference(block_size):
  anchor, positive, negatives = _data(seed=1)
  pool = negatives[0]
  got = alignment_accuracy(anchor, positive, pool, block_size=block_size)
  np.testing.assert_allclose(got, _ref(anchor, positive, pool))


def test_structured_cases():
  anchor, _, negatives = _data(seed=2)
  # The anchor itself as the positive always wins under cosine, unless a
  # negative points the same way.
  assert float(alignment_accuracy(anchor, anchor, negatives)) == 1.0
  # A tie with a negative is a failure.
  tied = negatives.copy()
  tied[:, 3] = anchor
  assert float(alignment_accuracy(anchor, anchor, tied)) == 0.0
  pool = np.concatenate([negatives[0], anchor[:1]])  # ties for row 0 only
  np.testing.assert_allclose(
      alignment_accuracy(anchor, anchor, pool, block_size=16), 1 - 1 / 70)
  # With the other rows as negatives it is recall@1.
  rng = np.random.default_rng(3)
  target = (anchor + 0.8 * rng.normal(size=anchor.shape)).astype(np.float32)
  others = np.stack([np.delete(target, i, axis=0) for i in range(len(target))])
  np.testing.assert_allclose(
      alignment_accuracy(anchor, target, others),
      recall_at_k(anchor, target, ks=(1,))["recall@1"])


def test_no_retrace_for_same_shapes(monkeypatch):
  traced = jax.jit(
      chex.assert_max_traces(alignment._per_row_accuracy.__wrapped__, n=1),
      static_argnames=("normalize",))
  monkeypatch.setattr(alignment, "_per_row_accuracy", traced)
  for seed in range(3):
    alignment_accuracy(*_data(seed=seed))
  chex.clear_trace_counter()


@pytest.mark.parametrize("args,match", [
    ((np.ones((4, 3)), np.ones((5, 3)), np.ones((4, 2, 3))), "paired row"),
    ((np.ones((4, 3)), np.ones((4, 2)), np.ones((4, 2, 3))), "share a space"),
    ((np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 2, 2))), r"\[n, m, 3\]"),
    ((np.ones((4, 3)), np.ones((4, 3)), np.ones((5, 2, 3))), "one row of"),
    ((np.ones((4, 3)), np.ones((4, 3)), np.ones((4, 0, 3))), "m >= 1"),
    ((np.ones((4, 3)), np.ones((4, 3)), np.ones(3)), r"\[m, 3\] shared"),
    ((np.ones((0, 3)), np.ones((0, 3)), np.ones((2, 3))), "at least 1 row"),
    ((np.ones((4, 3)), np.ones((4, 3)), np.full((2, 3), np.nan)), "NaN"),
])
def test_errors(args, match):
  with pytest.raises(ValueError, match=match):
    alignment_accuracy(*args)
