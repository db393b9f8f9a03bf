"""Tests for embtrans.metrics.cka against the NumPy reference, in float64."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import ortho_group

from embtrans.metrics import cka
from embtrans.metrics import linear_cka
from embtrans.metrics import minibatch_cka
from embtrans.metrics import rbf_cka
from embtrans.metrics import stacked_cka
from embtrans.metrics import streaming_linear_cka
from embtrans.references import numpy_metrics as ref

# float32 results against the float64 reference. Measured worst case over
# the inputs below (n <= 2000, offsets up to 1e3, scales up to 1e3): 1.5e-7.
# Centring before products keeps the error at the level of a few float32
# roundings of O(1) quantities; 2e-6 leaves a 10x margin.
F32_TOL = 2e-6


def _ref_cka(x, y, kernel="linear", debiased=False, threshold=0.5):
  """The NumPy reference in float64."""
  return ref.cka(np.asarray(x, np.float64), np.asarray(y, np.float64), kernel,
                 debiased, threshold)


# Tests share these shapes where they can: each new shape is a new compile.
N, D1, D2 = 60, 5, 9


def _pair(n, d1, d2, seed, offset=0.0, scale=1.0):
  """A nonlinearly related pair of spaces, as float32."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, d1)) * scale + offset
  y = np.tanh(x @ rng.normal(size=(d1, d2)) / np.sqrt(d1) / scale)
  y = y + 0.5 * rng.normal(size=(n, d2)) + offset
  return x.astype(np.float32), y.astype(np.float32)


# ---------------------------------------------------------------------------
# Golden values from the reference notebook of Kornblith et al.
# ---------------------------------------------------------------------------


@pytest.fixture(name="golden")
def _golden():
  np.random.seed(1337)
  x = np.random.randn(100, 10)
  y = np.random.randn(100, 10) + x
  return x, y


def test_golden_values(golden):
  x, y = golden
  # The notebook prints 5 decimals: allow half a unit of the 5th decimal
  # plus float32 rounding.
  np.testing.assert_allclose(linear_cka(x, y), 0.55761, atol=6e-6)
  np.testing.assert_allclose(rbf_cka(x, y, threshold=0.5), 0.65483, atol=6e-6)
  np.testing.assert_allclose(linear_cka(x, y, debiased=True), 0.51346,
                             atol=6e-6)
  np.testing.assert_allclose(streaming_linear_cka(x, y, chunk_size=32),
                             0.55761, atol=6e-6)


def test_reference_reproduces_golden_values(golden):
  x, y = golden
  np.testing.assert_allclose(_ref_cka(x, y), 0.55761, atol=5e-6)
  np.testing.assert_allclose(_ref_cka(x, y, "rbf"), 0.65483, atol=5e-6)
  np.testing.assert_allclose(_ref_cka(x, y, debiased=True), 0.51346,
                             atol=5e-6)


# ---------------------------------------------------------------------------
# Against the reference, random and structured inputs, both linear forms.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n,d1,d2", [(N, D1, D2), (40, 70, 50)])
@pytest.mark.parametrize("debiased", [False, True])
def test_matches_reference(n, d1, d2, debiased):
  # n > d takes the feature form, n < d the Gram form; both are checked.
  x, y = _pair(n, d1, d2, seed=n + d1)
  want = _ref_cka(x, y, "linear", debiased)
  np.testing.assert_allclose(linear_cka(x, y, debiased), want, atol=F32_TOL)
  other = "gram" if cka._linear_form(n, d1, d2) == "feature" else "feature"
  got = cka._cka(jnp.asarray(x), jnp.asarray(y), 1.0, kernel="linear",
                 debiased=debiased, form=other)
  np.testing.assert_allclose(got, want, atol=F32_TOL, err_msg=other)
  if (n, d1, d2) == (N, D1, D2):  # the RBF path does not depend on the shape
    for threshold in (0.5, 2.0):
      np.testing.assert_allclose(
          rbf_cka(x, y, threshold, debiased),
          _ref_cka(x, y, "rbf", debiased, threshold), atol=F32_TOL)


@pytest.mark.parametrize("name,make", [
    ("low_rank", lambda r: (r.normal(size=(N, 2)) @ r.normal(size=(2, D1)),
                            r.normal(size=(N, 3)) @ r.normal(size=(3, D2)))),
    ("clusters", lambda r: (np.repeat(r.normal(size=(6, D1)), N // 6, 0)
                            + 0.1 * r.normal(size=(N, D1)),
                            np.repeat(r.normal(size=(6, D2)), N // 6, 0)
                            + 0.1 * r.normal(size=(N, D2)))),
    ("offset_and_scale", lambda r: (1e3 + 1e3 * r.normal(size=(N, D1)),
                                    -50 + r.normal(size=(N, D2)))),
    ("integer_grid", lambda r: (r.integers(0, 3, size=(N, D1)),
                                r.integers(0, 3, size=(N, D2)))),
])
def test_structured_inputs(name, make):
  x, y = make(np.random.default_rng(0))
  for kernel in ("linear", "rbf"):
    fn = linear_cka if kernel == "linear" else rbf_cka
    for debiased in (False, True):
      np.testing.assert_allclose(
          fn(x.astype(np.float32), y.astype(np.float32), debiased=debiased),
          _ref_cka(x, y, kernel, debiased), atol=F32_TOL,
          err_msg=f"{name} {kernel} debiased={debiased}")


@pytest.mark.parametrize("offset,scale", [(0.0, 1.0), (1e3, 1.0),
                                          (10.0, 1e3)])
def test_float32_error_against_float64(offset, scale):
  x, y = _pair(2000, 64, 128, seed=1, offset=offset, scale=scale)
  # The reference sees the same float32 values, promoted to float64.
  want = _ref_cka(x[:300], y[:300], "rbf")
  np.testing.assert_allclose(rbf_cka(x[:300], y[:300]), want, atol=F32_TOL)
  xd, yd = (a.astype(np.float64) - a.mean(0) for a in (x, y))
  want = np.sum((xd.T @ yd)**2) / np.sqrt(
      np.sum((xd.T @ xd)**2) * np.sum((yd.T @ yd)**2))
  np.testing.assert_allclose(linear_cka(x, y), want, atol=F32_TOL)
  np.testing.assert_allclose(streaming_linear_cka(x, y, chunk_size=333), want,
                             atol=F32_TOL)


def test_float64_when_enabled():
  x, y = _pair(N, D1, D2, seed=3)
  x, y = x.astype(np.float64), y.astype(np.float64)
  with jax.enable_x64(True):
    got = linear_cka(x, y, debiased=True)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(got, _ref_cka(x, y, debiased=True), atol=1e-12)
    # The bandwidth's median is found in float32, hence the looser bound.
    np.testing.assert_allclose(rbf_cka(x, y), _ref_cka(x, y, "rbf"),
                               atol=1e-6)


# ---------------------------------------------------------------------------
# Invariances and sanity.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_orthogonal_transform_and_isotropic_scaling_give_one(kernel):
  rng = np.random.default_rng(4)
  x = rng.normal(size=(N, D2)).astype(np.float32)
  q = ortho_group.rvs(D2, random_state=5).astype(np.float32)
  y = 3.7 * x @ q + 2.0
  fn = linear_cka if kernel == "linear" else rbf_cka
  for debiased in (False, True):
    np.testing.assert_allclose(fn(x, y, debiased=debiased), 1.0, atol=1e-5)
  np.testing.assert_allclose(fn(x, x), 1.0, atol=1e-6)


def test_independent_gaussians_small_for_n_much_larger_than_d():
  rng = np.random.default_rng(6)
  x = rng.normal(size=(4000, 8)).astype(np.float32)
  y = rng.normal(size=(4000, 8)).astype(np.float32)
  # E[biased CKA] ~ sqrt(d1 d2) / n here: about 0.002.
  assert float(linear_cka(x, y)) < 0.01
  assert abs(float(linear_cka(x, y, debiased=True))) < 0.01


def test_symmetric_and_dimension_agnostic():
  x, y = _pair(N, D1, D2, seed=7)
  np.testing.assert_allclose(linear_cka(x, y), linear_cka(y, x), atol=1e-6)
  np.testing.assert_allclose(rbf_cka(x, y), rbf_cka(y, x), atol=1e-6)


# ---------------------------------------------------------------------------
# Scalable forms.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [7, 250, 10_000])
@pytest.mark.parametrize("debiased", [False, True])
def test_streaming_equals_full(chunk_size, debiased):
  x, y = _pair(250, D1, D2, seed=8, offset=5.0)
  full = linear_cka(x, y, debiased)
  np.testing.assert_allclose(
      streaming_linear_cka(x, y, debiased, chunk_size=chunk_size), full,
      atol=1e-5)
  # Device arrays work too.
  np.testing.assert_allclose(
      streaming_linear_cka(jnp.asarray(x), jnp.asarray(y), debiased,
                           chunk_size=chunk_size), full, atol=1e-5)


def test_streaming_compiles_once_whatever_the_remainder():
  x, y = _pair(103, 5, 6, seed=9)
  cka._add_moments.clear_cache()
  streaming_linear_cka(x, y, chunk_size=10)  # 10 full chunks + 3 rows
  streaming_linear_cka(x[:98], y[:98], chunk_size=10)
  assert cka._add_moments._cache_size() == 1


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_minibatch_matches_reference(kernel):
  x, y = _pair(N, D1, D2, seed=10)
  for b in (25, N):  # 25: two batches, the last 10 rows dropped
    np.testing.assert_allclose(
        minibatch_cka(x, y, b, kernel=kernel),
        ref.minibatch_cka(x.astype(np.float64), y.astype(np.float64), b,
                          kernel), atol=F32_TOL)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_minibatch_converges_to_full_as_batch_grows(kernel):
  # (One batch of all rows equals the full debiased estimate: checked
  # against the reference above with batch_size = n.)
  x, y = _pair(1024, 8, 16, seed=11)
  full_fn = linear_cka if kernel == "linear" else rbf_cka
  full = float(full_fn(x, y, debiased=True))
  # Smaller batches scatter around it, less as the batch grows: mean
  # absolute error over shuffles of the rows.
  rng = np.random.default_rng(0)
  perms = [rng.permutation(1024) for _ in range(8)]
  errors = [np.mean([abs(float(minibatch_cka(x[p], y[p], b, kernel=kernel))
                         - full) for p in perms]) for b in (16, 256)]
  assert errors[0] > errors[1] > 0, errors
  # The biased full CKA converges to the same value as n grows.
  assert abs(float(full_fn(x, y)) - full) < 0.05


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_stacked_matches_one_by_one(kernel):
  x, y = _pair(N, D1, D2, seed=12)
  rng = np.random.default_rng(13)
  spaces = np.stack([x + s * rng.normal(size=x.shape).astype(np.float32)
                     for s in (0.0, 0.5, 2.0)])
  fn = linear_cka if kernel == "linear" else rbf_cka
  for debiased in (False, True):
    got = stacked_cka(spaces, y, kernel=kernel, debiased=debiased)
    assert got.shape == (3,)
    want = [fn(s, y, debiased=debiased) for s in spaces]
    np.testing.assert_allclose(got, want, atol=1e-6)


# ---------------------------------------------------------------------------
# The sort-free median used for the RBF bandwidth.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (3, 3), (4, 4), (7, 5),
                                   (64, 64), (2049, 2049), (2048, 2050)])
def test_median_matches_numpy(shape):
  rng = np.random.default_rng(shape[0] * shape[1])
  values = np.round(rng.random(shape) * 10, 1).astype(np.float32)  # ties
  values[rng.random(shape) < 0.3] = 0.0
  median = jax.jit(cka._median_nonneg)(values)
  assert float(median) == np.float32(np.median(values))


def test_median_falls_back_when_the_sample_misleads():
  # Every sampled (strided) entry is 0 but the median is not: the bracket
  # from the sample fails its check and the full range is searched.
  size = 2100 * 2100
  values = np.random.default_rng(14).random(size).astype(np.float32) + 1
  values[::size // cka._SAMPLE] = 0.0
  values = values.reshape(2100, 2100)
  assert float(jax.jit(cka._median_nonneg)(values)) == np.median(values)


# ---------------------------------------------------------------------------
# Compilation and errors.
# ---------------------------------------------------------------------------


def test_no_retrace_for_same_shapes(monkeypatch):
  traced = jax.jit(chex.assert_max_traces(cka._cka.__wrapped__, n=1),
                   static_argnames=("kernel", "debiased", "form"))
  monkeypatch.setattr(cka, "_cka", traced)
  for seed in range(3):
    x, y = _pair(N, D1, D2, seed=seed)
    linear_cka(x, y)
  chex.clear_trace_counter()


@pytest.mark.parametrize("call,match", [
    (lambda: linear_cka(np.ones((5, 3)), np.ones((6, 3))), "paired row"),
    (lambda: linear_cka(np.ones((1, 3)), np.ones((1, 3))), "at least 2 rows"),
    (lambda: linear_cka(np.ones((3, 3)), np.ones((3, 3)), debiased=True),
     "at least 4 rows when debiased"),
    (lambda: linear_cka(np.ones((0, 3)), np.ones((0, 3))), "at least 1 row"),
    (lambda: linear_cka(np.ones((5, 0)), np.ones((5, 3))), "one column"),
    (lambda: linear_cka(np.ones(5), np.ones((5, 3))), "2-D array"),
    (lambda: linear_cka(np.full((5, 3), np.nan), np.ones((5, 3))), "NaN"),
    (lambda: rbf_cka(np.ones((5, 3)), np.full((5, 3), np.inf)), "NaN or inf"),
    (lambda: rbf_cka(np.ones((5, 3)), np.ones((5, 3)), threshold=0.0),
     "threshold must be positive"),
    (lambda: minibatch_cka(np.ones((9, 3)), np.ones((9, 3)), 3),
     r"batch_size must be an int in \[4, n=9\]"),
    (lambda: minibatch_cka(np.ones((9, 3)), np.ones((9, 3)), 4, kernel="poly"),
     "Unknown kernel"),
    (lambda: streaming_linear_cka(np.ones((9, 3)), np.ones((8, 3))),
     "paired row"),
    (lambda: stacked_cka(np.ones((9, 3)), np.ones((9, 3))), "3-D stack"),
    (lambda: stacked_cka(np.ones((2, 9, 3)), np.ones((8, 3))), "paired row"),
])
def test_errors(call, match):
  with pytest.raises(ValueError, match=match):
    call()
