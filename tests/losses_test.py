"""Losses against plain NumPy references."""

import numpy as np
import pytest
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
