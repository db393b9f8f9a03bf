"""A planted token-pair set whose right answer is known (`synthetic` data).

  data = planted(num_train=8192, num_test=1024, num_tokens=16)
  data.extras["marker_direction"]     # [token_dim] the marker of the signal
  data.extras["signal_mask"]          # [n_train + n_test, T] bool: marked

Used by the alignment configs' `data=synthetic` and by tests; the planted
oracle reference (`tasks/align_scores.py`) reads the marker from `extras`.
"""

from __future__ import annotations

import numpy as np

from embtrans.data import token_pairs


def _place_signal(tokens, lengths, signal, signal_tokens: int,
                  signal_fraction: float, rng):
  """Writes the signal tokens; -> (tokens, mask [n, T] of the signal).

  signal(shape) -> [n, *shape, d]: A u + marker * m + fresh noise.
  """
  n, num_tokens = tokens.shape[:2]
  mask = np.zeros((n, num_tokens), bool)
  if signal_fraction > 0:
    count = np.maximum(1, np.rint(signal_fraction * lengths)).astype(int)
    # Distinct positions: the `count` valid positions of smallest key.
    keys = np.where(np.arange(num_tokens)[None, :] < lengths[:, None],
                    rng.random((n, num_tokens)), np.inf)
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    mask = rank < count[:, None]
    return np.where(mask[..., None], signal((num_tokens,)), tokens), mask
  for _ in range(signal_tokens):
    pos = (rng.random(n) * lengths).astype(np.int64)
    tokens[np.arange(n), pos] = signal(())
    mask[np.arange(n), pos] = True
  return tokens, mask


def planted(num_train: int = 8192, num_test: int = 1024, num_tokens: int = 32,
            token_dim: int = 64, code_dim: int = 16, target_dim: int = 64,
            signal_tokens: int = 1, marker: float = 4.0, noise: float = 0.5,
            seed: int = 0, signal_fraction: float = 0.0
            ) -> token_pairs.AlignmentData:
  """A planted-structure set whose right answer is known.

  Each item i has a code u_i ~ N(0, I_code_dim). Its tokens: at
  `signal_tokens` random valid positions, A u_i + marker * m + noise; at the
  other valid positions, distractors A v + noise with fresh codes v (so they
  look like signal tokens but for the marker direction m); lengths are uniform
  in [num_tokens / 2, num_tokens]. The target is B u_i (noise-free). The
  right head finds the marked token(s) by attention and maps A u -> B u
  linearly; mean pooling dilutes u among the distractors.

  `signal_fraction` > 0 replaces `signal_tokens`: each item then has
  max(1, round(signal_fraction * length)) signal tokens at distinct valid
  positions (1.0: every valid token carries u, and mean pooling recovers it).
  `extras['signal_mask']` marks the signal tokens (rows as the token store).
  """
  if not 0.0 <= signal_fraction <= 1.0:
    raise ValueError(f"planted: signal_fraction must be in [0, 1], got "
                     f"{signal_fraction}.")
  rng = np.random.default_rng([seed, 101])
  a = rng.standard_normal((code_dim, token_dim)) / np.sqrt(code_dim)
  b = rng.standard_normal((code_dim, target_dim)) / np.sqrt(code_dim)
  m = rng.standard_normal(token_dim)
  m /= np.linalg.norm(m)
  n = num_train + num_test
  codes = rng.standard_normal((n, code_dim))
  lengths = rng.integers(num_tokens // 2, num_tokens + 1, n).astype(np.int32)
  distract = rng.standard_normal((n, num_tokens, code_dim)) @ a
  tokens = distract + noise * rng.standard_normal((n, num_tokens, token_dim))

  def signal(k):
    base = (codes @ a + marker * m).reshape((n,) + (1,) * len(k) +
                                            (token_dim,))
    return base + noise * rng.standard_normal((n,) + k + (token_dim,))
  tokens, mask = _place_signal(tokens, lengths, signal, signal_tokens,
                               signal_fraction, rng)
  tokens *= (np.arange(num_tokens)[None, :] < lengths[:, None])[..., None]
  targets = (codes @ b).astype(np.float32)
  tokens = tokens.astype(np.float32)
  ids = np.array([f"planted:{i}" for i in range(n)])
  splits = [np.arange(num_train), np.arange(num_train, n)]
  made = [token_pairs.TokenSplit(tokens, idx, lengths[idx], targets[idx],
                                 np.arange(len(idx), dtype=np.int32),
                                 ids[idx])
          for idx in splits]
  info = dict(source="synthetic", num_train_items=num_train,
              num_test_items=num_test, num_tokens=num_tokens,
              token_dim=token_dim, code_dim=code_dim, target_dim=target_dim,
              signal_tokens=signal_tokens, signal_fraction=signal_fraction,
              seed=seed)
  return token_pairs.AlignmentData(
      "planted", made[0], made[1], info,
      {"marker_direction": m.astype(np.float32), "signal_mask": mask})
