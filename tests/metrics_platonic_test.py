"""platonic-rep's metric suite, its feature preparation and layer reduction.

cknna and svcca against the NumPy references, golden values of the whole
suite (the k-NN family included), invariances, compilation and errors.
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import ortho_group

from embtrans import metrics
from embtrans.metrics import cca
from embtrans.metrics import knn_cka
from embtrans.references import numpy_metrics as ref

# The shapes of the CKA and evaluator tests, so compiled kernels are
# shared: each new shape (or static argument) is a new compile.
N, D1, D2 = 60, 5, 9


def _golden_case():
  """Unit-norm float64 rows, [N, D1] and [N, D2], nonlinearly related."""
  rng = np.random.default_rng(2024)
  x = rng.normal(size=(N, D1))
  y = np.tanh(x @ rng.normal(size=(D1, D2)) / 2) + 0.5 * rng.normal(
      size=(N, D2))
  return ref.unit_rows(x), ref.unit_rows(y)


def _f32(*arrays):
  return [np.asarray(a, np.float32) for a in arrays]


# Printed by platonic-rep's metrics.py (commit 07ef02a) on _golden_case() as
# float64 torch tensors, k (topk) = 5, cca_dim = 4. Its cknna adds 1e-6 to
# the denominator (eps=1e-6 here). Its svcca was run with torch.svd_lowrank
# swapped for an exact SVD (its randomised one changes from call to call).
GOLDEN = {
    "mutual_knn": 0.3733333333333333,
    "cycle_knn": 0.9166666865348816,  # platonic-rep rounds to float32 here
    "lcs_knn": 1.4333332777023315,  # and here
    "edit_distance_knn": 0.10333333333333328,
    "cknna": 0.42525765412702055,
    "cknna_biased": 0.6180847048940222,
    "svcca_4": 0.8072271392159096,
}


def _golden_values(m, x, y):
  """The GOLDEN quantities computed with module m (metrics or ref)."""
  if m is metrics:
    agree = metrics.knn_agreement(x, y, 5)
    out = {"mutual_knn": agree["mutual_knn"], "cycle_knn": agree["cycle_knn"],
           "lcs_knn": agree["lcs"],
           "edit_distance_knn": agree["edit_similarity"]}
  else:
    lists = ref.knn_pair(x, y, 5)
    out = {"mutual_knn": ref.mutual_knn(*lists),
           "cycle_knn": ref.cycle_knn(*lists), "lcs_knn": ref.lcs_knn(*lists),
           "edit_distance_knn": ref.edit_similarity(*lists)}
  out.update(cknna=m.cknna(x, y, 5, eps=1e-6),
             cknna_biased=m.cknna(x, y, 5, unbiased=False, eps=1e-6),
             svcca_4=m.svcca(x, y, 4))
  return out


def test_golden_values():
  got = _golden_values(metrics, *_f32(*_golden_case()))
  for name, want in GOLDEN.items():
    # float32 kernels; platonic-rep's svcca goes through an iterative CCA
    # (scikit-learn, tol 1e-6): 2e-6 covers both.
    np.testing.assert_allclose(got[name], want, atol=2e-6, err_msg=name)


def test_reference_reproduces_golden_values():
  got = _golden_values(ref, *_golden_case())
  for name, want in GOLDEN.items():
    np.testing.assert_allclose(got[name], want, atol=1e-6, err_msg=name)
  # The exact ratio without platonic-rep's 1e-6 is a little larger.
  assert ref.cknna(*_golden_case(), 5) > GOLDEN["cknna"] + 1e-6


# ---------------------------------------------------------------------------
# CKNNA.
# ---------------------------------------------------------------------------


# Static arguments as the golden and invariance tests use (shared compiles):
# biased and unbiased, normalised or not, blocks of 7 rows (the last one
# padded), k = n - 1.
@pytest.mark.parametrize("k,unbiased,normalize,block_size", [
    (5, False, True, 512), (5, True, False, 7), (None, True, True, 512)])
def test_cknna_matches_dense_reference(k, unbiased, normalize, block_size):
  # Features with a common offset: the kernel values do not centre, so the
  # row and column sums of the masked kernels matter.
  x, y = _golden_case()
  x, y = x + 0.3, 2.0 * y - 0.1
  got = metrics.cknna(*_f32(x, y), k, unbiased=unbiased, normalize=normalize,
                      block_size=block_size)
  want = ref.cknna(x, y, k, unbiased=unbiased, normalize=normalize)
  np.testing.assert_allclose(got, want, atol=2e-6)


def test_cknna_with_all_neighbours_is_debiased_cka():
  x, y = _f32(*_golden_case())
  np.testing.assert_allclose(metrics.cknna(x, y, None),
                             metrics.linear_cka(x, y, debiased=True),
                             atol=2e-6)


def test_cknna_invariant_to_rotation_and_isotropic_scale():
  x, y = _f32(*_golden_case())
  q = ortho_group.rvs(D2, random_state=0).astype(np.float32)
  for normalize, block_size in ((True, 512), (False, 7)):
    cknna = functools.partial(metrics.cknna, k=5, normalize=normalize,
                              block_size=block_size)
    np.testing.assert_allclose(cknna(x, 3.5 * y @ q), cknna(x, y), atol=2e-6)
    # x mapped into D2 dimensions by orthonormal columns, then scaled: the
    # same kernel up to scale, so CKNNA is 1.
    np.testing.assert_allclose(cknna(x, 0.2 * x @ q[:D1]), 1.0, atol=2e-6)


def test_masked_hsic_at_large_n_closed_form():
  # Lists that pair each row with its neighbour 2i <-> 2i + 1, kernel value
  # 1: M o K is that permutation matrix P, so tr(P P) = 1^T P 1 = n and
  # 1^T P P 1 = n. n is beyond the int32 range of n^2, and the masked HSIC
  # needs no search, so this costs O(n).
  n = 50_000
  lists = jnp.asarray(np.arange(n) ^ 1, jnp.int32)[:, None]
  ones = jnp.ones((n, 1), jnp.float32)
  got = knn_cka._masked_hsic(lists, ones, lists, ones, True, 4096)
  want = (n + n * n / ((n - 1) * (n - 2)) - 2 * n / (n - 2)) / (n * (n - 3))
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_cknna_compiles_once_per_shape(monkeypatch):
  traced = jax.jit(
      chex.assert_max_traces(knn_cka._cknna.__wrapped__, n=1),
      static_argnames=("k", "unbiased", "normalize", "block_size"))
  monkeypatch.setattr(knn_cka, "_cknna", traced)
  rng = np.random.default_rng(1)
  for eps in (0.0, 1e-6, 0.0):  # eps is an argument, not a constant
    metrics.cknna(*_f32(rng.normal(size=(N, D1)), rng.normal(size=(N, D2))),
                  5, eps=eps)
  chex.clear_trace_counter()


# ---------------------------------------------------------------------------
# SVCCA.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n,d1,d2", [(N, D1, D2), (8, 12, 10)])
def test_svcca_matches_reference(n, d1, d2):
  # d <= n takes the covariance eigenproblem, d > n the Gram one.
  rng = np.random.default_rng(n)
  x = rng.normal(size=(n, d1)) * rng.uniform(0.5, 3, size=d1) + 2.0
  y = np.tanh(x @ rng.normal(size=(d1, d2)) / d1) + 0.3 * rng.normal(
      size=(n, d2))
  np.testing.assert_allclose(metrics.svcca(*_f32(x, y), 4),
                             ref.svcca(x, y, 4), atol=2e-6)


def test_svcca_invariances():
  x, y = _golden_case()
  base = float(metrics.svcca(*_f32(x, y), 4))
  rng = np.random.default_rng(3)
  signed_perm = np.eye(D2)[rng.permutation(D2)] * rng.choice([-1, 1], D2)
  scales = rng.uniform(0.1, 10, size=D2)
  for z in (4.0 * y @ signed_perm - 7.0, y * scales):
    np.testing.assert_allclose(metrics.svcca(*_f32(x, z), 4), base, atol=2e-6)
  # A rank-4 space keeps its top-4 subspace under any linear map of full
  # rank (standardisation included), so SVCCA is 1 there.
  low = rng.normal(size=(N, 4)) @ rng.normal(size=(4, D1))
  mixed = 2.5 * low @ rng.normal(size=(D1, D2)) + 1.0
  np.testing.assert_allclose(metrics.svcca(*_f32(low, mixed), 4), 1.0,
                             atol=1e-5)


def test_svcca_compiles_once_per_shape(monkeypatch):
  traced = jax.jit(chex.assert_max_traces(cca._svcca.__wrapped__, n=1),
                   static_argnames=("cca_dim",))
  monkeypatch.setattr(cca, "_svcca", traced)
  rng = np.random.default_rng(5)
  for _ in range(3):
    metrics.svcca(*_f32(rng.normal(size=(N, D1)), rng.normal(size=(N, D2))),
                  4)
  chex.clear_trace_counter()


# ---------------------------------------------------------------------------
# Preparation and the reduction over layers.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape,exact", [((N, D2), True), ((N, D2), False),
                                         ((N, 3, D1), False)])
def test_prepare_matches_reference(shape, exact):
  x = np.random.default_rng(6).standard_t(3, size=shape)
  np.testing.assert_allclose(metrics.clamp_outliers(*_f32(x), 0.9, exact),
                             ref.clamp_outliers(x, 0.9, exact), atol=2e-6)
  got = metrics.prepare(*_f32(x), 0.9, exact)
  np.testing.assert_allclose(got, ref.prepare(x, 0.9, exact), atol=2e-6)
  np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, atol=1e-6)
  # About 10% of the entries sit at the threshold after clamping.
  clamped = np.abs(np.asarray(metrics.clamp_outliers(*_f32(x), 0.9, exact)))
  assert 0.05 < np.mean(clamped == clamped.max()) < 0.15


def test_prepare_with_q_one_only_normalises():
  x = np.random.default_rng(7).standard_t(3, size=(N, D2))
  np.testing.assert_array_equal(metrics.clamp_outliers(*_f32(x), 1.0),
                                np.float32(x))
  np.testing.assert_allclose(metrics.prepare(*_f32(x), 1.0),
                             ref.unit_rows(x), atol=1e-6)


def test_max_over_layer_pairs():
  x, _ = _golden_case()
  rng = np.random.default_rng(7)
  q = ortho_group.rvs(D2, random_state=8)
  # Layer 1 of ys is layer 1 of xs embedded by orthonormal columns and
  # scaled: CKNNA 1 there.
  xs = [rng.normal(size=(N, D1)), x, x + 0.5 * rng.normal(size=(N, D1))]
  ys = np.stack([rng.normal(size=(N, D2)), 2.0 * x @ q[:D1]], axis=1)
  got = metrics.max_over_layer_pairs(functools.partial(metrics.cknna, k=5),
                                     _f32(*xs), np.float32(ys))  # [n, 2, d]
  want = ref.max_over_layer_pairs(functools.partial(ref.cknna, k=5), xs,
                                  [ys[:, 0], ys[:, 1]])
  assert got[1] == want[1] == (1, 1)
  np.testing.assert_allclose(got[0], want[0], atol=2e-6)
  np.testing.assert_allclose(got[0], 1.0, atol=2e-6)
  # Every score negative: the largest is returned (platonic-rep returns 0).
  negative = lambda a, b: -1.0 - float(metrics.linear_cka(a, b))
  scores = [negative(a, ys[:, 0]) for a in _f32(*xs)]
  score, pair = metrics.max_over_layer_pairs(negative, _f32(*xs),
                                             [np.float32(ys[:, 0])])
  assert pair == (int(np.argmax(scores)), 0)
  assert score == max(scores) < 0


# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("call,match", [
    (lambda: metrics.cknna(np.ones((6, 3)), np.ones((6, 2)), 1),
     "CKNNA needs k >= 2"),
    (lambda: metrics.cknna(np.ones((6, 3)), np.ones((6, 2)), 6),
     r"k=6 is out of range.*n - 1 = 5"),
    (lambda: metrics.cknna(np.ones((6, 3)), np.ones((6, 2)), 7,
                           unbiased=False), r"k <= n = 6"),
    (lambda: metrics.cknna(np.ones((3, 3)), np.ones((3, 2)), 2),
     "at least 4 row"),
    (lambda: metrics.cknna(np.ones((6, 3)), np.ones((5, 2)), 2), "paired row"),
    (lambda: metrics.cknna(np.ones((6, 3)), np.ones((6, 2)), 2, eps=-1.0),
     "eps must be >= 0"),
    (lambda: metrics.cknna(np.ones((6, 3)), np.full((6, 2), np.nan), 2),
     "NaN"),
    (lambda: metrics.svcca(np.ones((6, 3)), np.ones((6, 4))),
     r"cca_dim must be an int in \[1, min\(d1, d2, n - 1\) = 3\]"),
    (lambda: metrics.svcca(np.ones((6, 3)), np.ones((6, 4)), 0), "cca_dim"),
    (lambda: metrics.svcca(np.ones((6, 3)), np.ones((6, 4)), 2.0), "cca_dim"),
    (lambda: metrics.svcca(np.ones(6), np.ones((6, 4)), 1), "2-D array"),
    (lambda: metrics.prepare(np.ones((6, 3)), q=0.0), r"q must be a quantile"),
    (lambda: metrics.prepare(np.ones((6, 3)), q=1.5), r"in \(0, 1\]"),
    (lambda: metrics.clamp_outliers(np.ones(6)), r"\[n, d\] array"),
    (lambda: metrics.prepare(np.full((6, 3), np.inf)), "NaN or inf"),
    (lambda: metrics.max_over_layer_pairs(metrics.svcca, np.ones((6, 3)),
                                          [np.ones((6, 3))]), "layers"),
    (lambda: metrics.max_over_layer_pairs(metrics.svcca, [], [np.ones((6, 3))]),
     "holds no layers"),
])
def test_errors(call, match):
  with pytest.raises(ValueError, match=match):
    call()
