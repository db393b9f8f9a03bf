"""Closed-form baselines recover maps they can represent."""

import numpy as np
import pytest

from embtrans import baselines


def test_lstsq_recovers_an_affine_map():
  rng = np.random.default_rng(0)
  x = rng.standard_normal((200, 6))
  w, b = rng.standard_normal((6, 4)), rng.standard_normal(4)
  fitted = baselines.fit_lstsq(x, x @ w + b)
  x_new = rng.standard_normal((10, 6))
  np.testing.assert_allclose(fitted(x_new), x_new @ w + b, atol=1e-4)


def _white(n, d, rng):
  """[n, d] with zero mean and identity covariance (population std 1)."""
  x = rng.standard_normal((n, d))
  x -= x.mean(0)
  u, _, vt = np.linalg.svd(x, full_matrices=False)
  return u @ vt * np.sqrt(n)


def test_procrustes_recovers_a_rotation():
  rng = np.random.default_rng(1)
  q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
  white = _white(500, 5, rng)  # Standard scaling of x and of y is exact.
  fitted = baselines.fit_procrustes(white * 2.0 + 1.0, white @ q * 3.0 - 2.0)
  np.testing.assert_allclose(fitted.w, q, atol=1e-8)
  x_new = rng.standard_normal((4, 5))
  np.testing.assert_allclose(fitted(x_new * 2.0 + 1.0),
                             x_new @ q * 3.0 - 2.0, atol=1e-6)


def test_procrustes_zero_pads_a_smaller_source():
  rng = np.random.default_rng(3)
  x = rng.standard_normal((200, 3))
  fitted = baselines.fit_procrustes(x, rng.standard_normal((200, 5)))
  assert fitted(x[:2]).shape == (2, 5)
  np.testing.assert_allclose(fitted.w @ fitted.w.T, np.eye(5), atol=1e-8)


def test_procrustes_maps_to_a_smaller_space():
  rng = np.random.default_rng(2)
  fitted = baselines.fit_procrustes(rng.standard_normal((50, 6)),
                                    rng.standard_normal((50, 4)))
  assert fitted(rng.standard_normal((3, 6))).shape == (3, 4)
  np.testing.assert_allclose(fitted.w @ fitted.w.T, np.eye(6), atol=1e-8)


def test_unknown_baseline():
  with pytest.raises(ValueError, match="Known baselines"):
    baselines.fit_baseline("cca", np.zeros((3, 2)), np.zeros((3, 2)))
