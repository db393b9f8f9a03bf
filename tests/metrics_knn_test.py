"""Tests for embtrans.metrics.knn against the NumPy references."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import ortho_group

from embtrans.metrics import cycle_knn
from embtrans.metrics import knn
from embtrans.metrics import knn_agreement
from embtrans.metrics import knn_edit_distance
from embtrans.metrics import knn_edit_similarity
from embtrans.metrics import knn_indices
from embtrans.metrics import knn_jaccard
from embtrans.metrics import knn_rank_agreement
from embtrans.metrics import lcs_knn
from embtrans.metrics import mutual_knn
from embtrans.references import numpy_metrics as ref


def _f64(*arrays):
  return [np.asarray(a, np.float64) for a in arrays]


def _related(n, d1, d2, seed, noise=0.7):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, d1))
  y = x @ rng.normal(size=(d1, d2)) + noise * rng.normal(size=(n, d2))
  return x.astype(np.float32), y.astype(np.float32)


# ---------------------------------------------------------------------------
# knn_indices.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
@pytest.mark.parametrize("block_size", [512, 17])
def test_knn_indices_match_reference(metric, block_size):
  x, _ = _related(90, 7, 3, seed=0)
  got = knn_indices(x, 6, metric=metric, block_size=block_size)
  assert got.shape == (90, 6) and got.dtype == jnp.int32
  np.testing.assert_array_equal(got, ref.knn(_f64(x)[0], 6, metric))


def test_knn_indices_exclude_self_and_break_ties_by_lower_index():
  # Small integers: every dot product is exact, so equal scores are exactly
  # equal, and duplicated points tie.
  rng = np.random.default_rng(1)
  base = rng.integers(-2, 3, size=(12, 4))
  x = np.concatenate([base, base, base[:6]]).astype(np.float32)  # 30 rows
  got = np.asarray(knn_indices(x, 8, metric="dot", block_size=7))
  np.testing.assert_array_equal(got, ref.knn(_f64(x)[0], 8, "dot"))
  assert not (got == np.arange(30)[:, None]).any()
  # A constant space: all scores tie, so neighbours are in index order.
  flat = np.ones((6, 3), np.float32)
  np.testing.assert_array_equal(
      knn_indices(flat, 3),
      [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2], [0, 1, 2], [0, 1, 2]])


def test_knn_indices_with_k_equal_n_minus_one():
  x, _ = _related(9, 3, 3, seed=2)
  got = np.asarray(knn_indices(x, 8))
  for i, row in enumerate(got):
    assert sorted(row) == [j for j in range(9) if j != i]


# ---------------------------------------------------------------------------
# Agreement metrics.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5, 10])
def test_agreement_matches_reference(k):
  x, y = _related(80, 6, 9, seed=k)
  want = ref.agreement(*_f64(x, y), k)
  assert len(want) == 7
  if k == 5:  # each single-metric function compiles anew per k
    singles = {"jaccard": knn_jaccard, "mutual_knn": mutual_knn,
               "rank_agreement": knn_rank_agreement,
               "edit_distance": knn_edit_distance,
               "edit_similarity": knn_edit_similarity, "lcs": lcs_knn,
               "cycle_knn": cycle_knn}
    for name, fn in singles.items():
      np.testing.assert_allclose(fn(x, y, k), want[name], rtol=1e-5,
                                 atol=1e-6, err_msg=name)
  got = knn_agreement(x, y, k)
  assert set(got) == set(want)
  for name, value in want.items():
    np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-6,
                               err_msg=name)


def test_agreement_structured_clusters_euclidean():
  rng = np.random.default_rng(3)
  centres = rng.normal(size=(6, 5)) * 5
  x = np.repeat(centres, 12, axis=0) + rng.normal(size=(72, 5))
  y = np.concatenate([x, rng.normal(size=(72, 2))], axis=1)
  want = ref.agreement(x, y, 8, metric="euclidean", p=0.8)
  got = knn_agreement(x.astype(np.float32), y.astype(np.float32), 8, p=0.8,
                      metric="euclidean", block_size=32)
  for name, value in want.items():
    np.testing.assert_allclose(got[name], value, rtol=1e-5, err_msg=name)


def test_identical_and_rotated_spaces_agree_perfectly():
  x, _ = _related(64, 8, 8, seed=4)
  q = ortho_group.rvs(8, random_state=5).astype(np.float32)
  # cycle_knn(x, x) need not be 1 (an outlier is nobody's neighbour), so
  # it is compared with the reference.
  cycle = ref.cycle_knn(*ref.knn_pair(*_f64(x, x), 10))
  for y in (x, 2.5 * x @ q):
    got = knn_agreement(x, y, 10)
    np.testing.assert_allclose(got["jaccard"], 1.0)
    np.testing.assert_allclose(got["mutual_knn"], 1.0)
    np.testing.assert_allclose(got["rank_agreement"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(got["edit_distance"], 0.0)
    np.testing.assert_allclose(got["edit_similarity"], 1.0)
    np.testing.assert_allclose(got["lcs"], 10.0)
    np.testing.assert_allclose(got["cycle_knn"], cycle)


def test_unrelated_spaces_agree_little():
  rng = np.random.default_rng(6)
  x = rng.normal(size=(300, 16)).astype(np.float32)
  y = rng.normal(size=(300, 16)).astype(np.float32)
  got = knn_agreement(x, y, 10)
  # Chance overlap of two random 10-sets out of 299 is 10/299 = 0.033.
  assert float(got["mutual_knn"]) < 0.1
  assert float(got["edit_distance"]) > 9.0
  assert float(got["edit_similarity"]) < 0.1
  assert float(got["lcs"]) < 1.0


def test_levenshtein_matches_python_reference():
  rng = np.random.default_rng(7)
  lev = jax.jit(jax.vmap(knn._levenshtein))
  a = rng.integers(0, 6, size=(400, 7)).astype(np.int32)  # repeats allowed
  b = rng.integers(0, 6, size=(400, 7)).astype(np.int32)
  b[:50] = a[:50]  # identical
  b[50:100] = np.roll(a[50:100], 1, axis=1)  # a rotation: distance 2
  got = np.asarray(lev(a, b))
  want = [ref.levenshtein(list(r), list(s)) for r, s in zip(a, b)]
  np.testing.assert_array_equal(got, want)
  assert (got[:50] == 0).all() and (got[50:100] <= 2).all()
  # Different lengths.
  np.testing.assert_array_equal(
      knn._levenshtein(jnp.array([1, 2, 3, 4]), jnp.array([2, 4])), 2)


def test_lcs_matches_python_reference():
  rng = np.random.default_rng(9)
  lcs = jax.jit(jax.vmap(knn._lcs_length))
  a = rng.integers(0, 6, size=(400, 7)).astype(np.int32)  # repeats allowed
  b = rng.integers(0, 6, size=(400, 7)).astype(np.int32)
  b[:50] = a[:50]  # identical
  b[50:100] = np.roll(a[50:100], 1, axis=1)  # a rotation: at least k - 1
  got = np.asarray(lcs(a, b))
  want = [ref.lcs_length(list(r), list(s)) for r, s in zip(a, b)]
  np.testing.assert_array_equal(got, want)
  assert (got[:50] == 7).all() and (got[50:100] >= 6).all()
  # Different lengths, and by hand: "ABCBDAB" vs "BDCABA" has LCS 4.
  np.testing.assert_array_equal(
      knn._lcs_length(jnp.array([1, 2, 3, 2, 4, 1, 2]),
                      jnp.array([2, 4, 3, 1, 2, 1])), 4)
  assert ref.lcs_length([1, 2, 3, 2, 4, 1, 2], [2, 4, 3, 1, 2, 1]) == 4


def test_cycle_knn_is_directed_and_blocked():
  x, y = _related(80, 6, 9, seed=5, noise=2.0)  # shapes and k as above
  for first, second in ((x, y), (y, x)):
    want = ref.cycle_knn(*ref.knn_pair(*_f64(first, second), 5))
    np.testing.assert_allclose(cycle_knn(first, second, 5), want, rtol=1e-6)
    # The look-up in blocks of 7 rows, the last one padded.
    lists = knn.knn_pair(first, second, 5)
    np.testing.assert_allclose(knn._cycle(*lists, block_size=7), want,
                               rtol=1e-6)
  # By hand, x-lists a and y-lists b: row 0 -> b 1 -> a[1] = [0], back;
  # row 1 -> b 2 -> a[2] = [1], back; row 2 -> b 0 -> a[0] = [1], lost.
  a = np.array([[1], [0], [1]], np.int32)
  b = np.array([[1], [2], [0]], np.int32)
  np.testing.assert_allclose(knn._cycle(a, b, block_size=2), 2 / 3)
  assert ref.cycle_knn(a, b) == 2 / 3


def test_rbo_matches_python_reference_on_lists():
  rng = np.random.default_rng(8)
  a = np.stack([rng.permutation(30)[:10] for _ in range(50)]).astype(np.int32)
  b = np.stack([rng.permutation(30)[:10] for _ in range(50)]).astype(np.int32)
  b[:5] = a[:5]
  for p in (0.5, 0.9, 0.98):
    want = np.mean([ref.rbo(list(r), list(s), p) for r, s in zip(a, b)])
    np.testing.assert_allclose(knn._rbo(a, b, p), want, rtol=1e-5)


# ---------------------------------------------------------------------------
# Compilation and errors.
# ---------------------------------------------------------------------------


def test_no_retrace_for_same_shapes(monkeypatch):
  traced = jax.jit(chex.assert_max_traces(knn._knn_pair.__wrapped__, n=1),
                   static_argnames=("k", "metric", "block_size"))
  monkeypatch.setattr(knn, "_knn_pair", traced)
  for seed in range(3):
    x, y = _related(40, 4, 5, seed=seed)
    knn_jaccard(x, y, 5)
  chex.clear_trace_counter()


@pytest.mark.parametrize("call,match", [
    (lambda: knn_indices(np.ones((5, 3)), 5), r"k=5 is out of range.*n - 1"),
    (lambda: knn_indices(np.ones((5, 3)), 0), "k=0 is out of range"),
    (lambda: knn_indices(np.ones((5, 3)), 2.0), "k must be an int"),
    (lambda: knn_indices(np.ones((1, 3)), 1), "at least 2 row"),
    (lambda: knn_indices(np.ones((0, 3)), 1), "at least 2 row"),
    (lambda: knn_indices(np.ones(5), 1), "2-D array"),
    (lambda: knn_indices(np.ones((5, 3)), 2, metric="l1"), "Unknown metric"),
    (lambda: mutual_knn(np.ones((5, 3)), np.ones((6, 3)), 2), "paired row"),
    (lambda: knn_jaccard(np.ones((5, 3)), np.full((5, 3), np.nan), 2), "NaN"),
    (lambda: knn_rank_agreement(np.ones((5, 3)), np.ones((5, 3)), 2, p=1.0),
     r"persistence p must be in \(0, 1\)"),
    (lambda: knn_edit_distance(np.ones((5, 3)), np.ones((5, 3)), 9),
     "k=9 is out of range"),
    (lambda: knn_edit_similarity(np.ones((5, 3)), np.ones((6, 3)), 2),
     "paired row"),
    (lambda: lcs_knn(np.ones((5, 3)), np.ones((5, 3)), 5), "k=5 is out"),
    (lambda: cycle_knn(np.ones((5, 3)), np.ones((5, 3)), 2, metric="l2"),
     "Unknown metric"),
])
def test_errors(call, match):
  with pytest.raises(ValueError, match=match):
    call()
