"""Losses against plain NumPy references."""

import chex
import jax
import numpy as np
import pytest
import scipy.stats
from scipy.special import logsumexp

from embtrans import losses


def _np_infonce(a, b, t):
  a = a / np.linalg.norm(a, axis=1, keepdims=True)
  b = b / np.linalg.norm(b, axis=1, keepdims=True)
  logits = a @ b.T / t
  ab = np.mean(np.diag(logits) - logsumexp(logits, axis=1))
  ba = np.mean(np.diag(logits) - logsumexp(logits, axis=0))
  return -(ab + ba) / 2


def test_mse_and_cosine():
  rng = np.random.default_rng(0)
  p, t = rng.standard_normal((7, 5)), rng.standard_normal((7, 5))
  np.testing.assert_allclose(losses.mse(p, t), np.mean((p - t) ** 2),
                             rtol=1e-5)
  cos = np.sum(p * t, 1) / np.linalg.norm(p, axis=1) / np.linalg.norm(t,
                                                                      axis=1)
  np.testing.assert_allclose(losses.cosine(p, t), 1 - cos.mean(), rtol=1e-5)


@pytest.mark.parametrize("t", [0.05, 1.0])
def test_infonce_matches_numpy(t):
  rng = np.random.default_rng(1)
  a, b = rng.standard_normal((16, 8)), rng.standard_normal((16, 8))
  np.testing.assert_allclose(losses.infonce(a, b, t), _np_infonce(a, b, t),
                             rtol=1e-4)


def test_infonce_at_chance_is_log_batch():
  a = np.ones((32, 4))
  np.testing.assert_allclose(losses.infonce(a, a, 0.1), np.log(32), rtol=1e-5)


def test_unknown_loss():
  with pytest.raises(ValueError, match="Known losses"):
    losses.get_loss("hinge")


# --- Autoencoder losses against loop-by-loop NumPy references. ---


def _np_cos(x):
  u = x / np.linalg.norm(x, axis=1, keepdims=True)
  return u @ u.T


def _np_code_sim(z, metric):
  if metric == "cosine":
    return _np_cos(z)
  return np.array([[1 - 0.5 * np.sum((a - b) ** 2) for b in z] for a in z])


def _np_off_diag(s):
  return np.array([[s[i, j] for j in range(len(s)) if j != i]
                   for i in range(len(s))])


def _np_sigmoid(t):
  return 1 / (1 + np.exp(-t))


def _xz(seed=2, b=12, d=9, c=3):
  rng = np.random.default_rng(seed)
  return (rng.standard_normal((b, d)).astype(np.float32),
          rng.standard_normal((b, c)).astype(np.float32))


def test_reconstruction_sums_dims_and_averages_rows():
  x, _ = _xz()
  r = x + np.arange(x.shape[1], dtype=np.float32) * 0.1
  want = np.mean([np.sum((r[i] - x[i]) ** 2) for i in range(len(x))])
  np.testing.assert_allclose(losses.reconstruction(r, x), want, rtol=1e-5)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_similarity_mse_matches_numpy(metric):
  x, z = _xz()
  diff = _np_off_diag(_np_cos(x) - _np_code_sim(z, metric))
  np.testing.assert_allclose(losses.similarity_mse(x, z, metric),
                             np.mean(diff ** 2), rtol=1e-4)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_similarity_correlation_matches_numpy(metric):
  x, z = _xz(seed=3)
  iu = np.triu_indices(len(x), 1)
  r = np.corrcoef(_np_cos(x)[iu], _np_code_sim(z, metric)[iu])[0, 1]
  np.testing.assert_allclose(losses.similarity_correlation(x, z, metric),
                             1 - r, rtol=1e-4, atol=1e-6)


def test_similarity_rank_matches_numpy_soft_ranks():
  x, z = _xz(seed=4)
  t = 0.1
  sx, sz = _np_off_diag(_np_cos(x)), _np_off_diag(_np_cos(z))
  rows = []
  for i in range(len(x)):
    rank_x = scipy.stats.rankdata(sx[i]) - 1
    rank_z = np.array([sum(_np_sigmoid((sz[i, j] - sz[i, l]) / t)
                           for l in range(sz.shape[1]) if l != j)
                       for j in range(sz.shape[1])])
    rows.append(np.corrcoef(rank_x, rank_z)[0, 1])
  np.testing.assert_allclose(losses.similarity_rank(x, z, t),
                             1 - np.mean(rows), rtol=1e-4, atol=1e-6)


def test_similarity_rank_at_low_temperature_is_one_minus_spearman():
  x, z = _xz(seed=5)
  sx, sz = _np_off_diag(_np_cos(x)), _np_off_diag(_np_cos(z))
  rho = np.mean([scipy.stats.spearmanr(sx[i], sz[i])[0]
                 for i in range(len(x))])
  np.testing.assert_allclose(losses.similarity_rank(x, z, 1e-6),
                             1 - rho, atol=1e-5)


@pytest.mark.parametrize("form", losses.SIMILARITY_FORMS)
def test_similarity_terms_vanish_when_codes_are_the_inputs(form):
  _, z = _xz(seed=6)
  np.testing.assert_allclose(
      losses.similarity_preservation(z, z, form, temperature=1e-6), 0.0,
      atol=1e-5)


@pytest.mark.parametrize("form", losses.SIMILARITY_FORMS)
def test_similarity_terms_have_finite_gradients(form):
  x, z = _xz(seed=7)
  g = jax.jit(jax.grad(lambda c: losses.similarity_preservation(x, c, form))
              )(z)
  chex.assert_tree_all_finite(g)
  assert float(np.abs(g).sum()) > 0


def test_pair_pull_matches_numpy_and_ignores_scale():
  _, a = _xz(seed=8)
  _, b = _xz(seed=9)
  paired = np.mean([np.sum((a[i] - b[i]) ** 2) for i in range(len(a))])
  every = np.mean([np.sum((p - q) ** 2) for p in a for q in b])
  np.testing.assert_allclose(losses.pair_pull(a, b, relative=False), paired,
                             rtol=1e-5)
  np.testing.assert_allclose(losses.pair_pull(a, b), paired / every,
                             rtol=1e-5)
  np.testing.assert_allclose(losses.pair_pull(5 * a, 5 * b), paired / every,
                             rtol=1e-5)


def test_unknown_similarity_form_and_metric():
  x, z = _xz()
  with pytest.raises(ValueError, match="known: .*'mse'"):
    losses.similarity_preservation(x, z, "kl")
  with pytest.raises(ValueError, match="known: .*'cosine'"):
    losses.similarity_mse(x, z, "manhattan")
