"""Tests for embtrans.metrics.retrieval against the NumPy reference."""

import chex
import jax
import numpy as np
import pytest

from embtrans.metrics import recall_at_k
from embtrans.metrics import retrieval
from embtrans.references import numpy_metrics as ref


def _reference(queries, keys, ks, positives=None, normalize=True,
               ties="strict"):
  """The NumPy reference in float64."""
  return ref.recall_at_k(np.asarray(queries, np.float64),
                         np.asarray(keys, np.float64), ks, positives,
                         normalize, ties)


def _assert_matches(got, want):
  assert set(got) == set(want)
  for name, value in want.items():
    np.testing.assert_allclose(float(got[name]), value, rtol=1e-6,
                               err_msg=name)


@pytest.mark.parametrize("n,d,block_size", [(37, 8, 256),
                                            (101, 4, 7)])
@pytest.mark.parametrize("normalize", [True, False])
def test_one_to_one_matches_reference(n, d, block_size, normalize):
  rng = np.random.default_rng(n)
  keys = rng.normal(size=(n, d)).astype(np.float32)
  queries = keys + rng.normal(scale=1.5, size=(n, d)).astype(np.float32)
  got = recall_at_k(queries, keys, ks=(1, 5, 10), normalize=normalize,
                    block_size=block_size)
  _assert_matches(got, _reference(queries, keys, (1, 5, 10),
                                  normalize=normalize))


def test_both_directions_one_call_each():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(40, 6)).astype(np.float32)
  y = x @ rng.normal(size=(6, 6)).astype(np.float32) + rng.normal(
      size=(40, 6)).astype(np.float32)
  _assert_matches(recall_at_k(x, y, ks=(1, 3)), _reference(x, y, (1, 3)))
  _assert_matches(recall_at_k(y, x, ks=(1, 3)), _reference(y, x, (1, 3)))


def test_one_to_many_captions_per_image():
  rng = np.random.default_rng(2)
  n_img, per_img, d = 30, 5, 12
  images = rng.normal(size=(n_img, d)).astype(np.float32)
  owner = np.repeat(np.arange(n_img), per_img)  # caption j describes owner[j]
  captions = images[owner] + rng.normal(
      scale=1.2, size=(n_img * per_img, d)).astype(np.float32)
  caption_ids = np.arange(n_img * per_img).reshape(n_img, per_img)

  img2txt = recall_at_k(images, captions, ks=(1, 5, 10), positives=caption_ids)
  _assert_matches(img2txt,
                  _reference(images, captions, (1, 5, 10), caption_ids))
  txt2img = recall_at_k(captions, images, ks=(1, 5, 10), positives=owner)
  _assert_matches(txt2img,
                  _reference(captions, images, (1, 5, 10), owner[:, None]))


def test_ragged_positives_padded_with_minus_one():
  rng = np.random.default_rng(3)
  queries = rng.normal(size=(20, 5)).astype(np.float32)
  keys = rng.normal(size=(50, 5)).astype(np.float32)
  positives = -np.ones((20, 4), np.int64)
  for i in range(20):
    count = 1 + i % 4
    positives[i, :count] = rng.choice(50, size=count, replace=False)
  got = recall_at_k(queries, keys, ks=(1, 5, 10), positives=positives,
                    block_size=8)
  _assert_matches(got, _reference(queries, keys, (1, 5, 10), positives))


def test_identical_spaces_give_perfect_recall():
  x = np.random.default_rng(4).normal(size=(64, 16)).astype(np.float32)
  got = recall_at_k(x, x, ks=(1, 5, 10))
  for k in (1, 5, 10):
    assert float(got[f"recall@{k}"]) == 1.0
  assert float(got["mean_rank"]) == 1.0
  assert float(got["median_rank"]) == 1.0


def test_ties_count_against_the_positive():
  # Key 1 duplicates key 0, so query 0 ties with a negative: rank 2.
  keys = np.array([[1., 0.], [1., 0.], [0., 1.]], np.float32)
  got = recall_at_k(keys, keys, ks=(1, 2))
  # Ranks are [2, 2, 1]: both duplicates lose the tie to each other.
  np.testing.assert_allclose(float(got["recall@1"]), 1 / 3)
  np.testing.assert_allclose(float(got["recall@2"]), 1.0)
  np.testing.assert_allclose(float(got["mean_rank"]), 5 / 3)
  np.testing.assert_allclose(float(got["median_rank"]), 2.0)
  # A degenerate space (all scores equal) gets the worst rank, not the best.
  flat = np.ones((5, 3), np.float32)
  assert float(recall_at_k(flat, flat, ks=(1,))["mean_rank"]) == 5.0


def test_tie_optimistic_figures_beside_the_strict_ones():
  # Small integers and no normalisation: every score is exact, so duplicate
  # keys tie exactly. Keys 0-2 are three copies of one vector, key 3 a copy
  # of key 4; queries are noisy copies of the keys.
  rng = np.random.default_rng(8)
  base = rng.integers(-3, 4, size=(12, 6))
  keys = np.concatenate([base[[0, 0, 0, 1]], base[1:]]).astype(np.float32)
  queries = (keys + rng.integers(-1, 2, size=keys.shape)).astype(np.float32)
  ks = (1, 2, 5)
  got = recall_at_k(queries, keys, ks=ks, normalize=False,
                    tie_optimistic=True, block_size=5)
  assert list(got) == ["recall@1", "recall@2", "recall@5", "mean_rank",
                       "median_rank", "optimistic_recall@1",
                       "optimistic_recall@2", "optimistic_recall@5",
                       "optimistic_mean_rank", "optimistic_median_rank"]
  strict = _reference(queries, keys, ks, normalize=False)
  optimistic = _reference(queries, keys, ks, normalize=False,
                          ties="optimistic")
  _assert_matches({k: v for k, v in got.items() if "optimistic" not in k},
                  strict)
  _assert_matches({k[len("optimistic_"):]: v for k, v in got.items()
                   if k.startswith("optimistic_")}, optimistic)
  # The ties cost the strict figures something here, and only ties do.
  assert optimistic["mean_rank"] < strict["mean_rank"]
  # Without the flag: the strict figures alone, unchanged.
  _assert_matches(recall_at_k(queries, keys, ks=ks, normalize=False), strict)


def test_duplicate_targets_are_ties():
  # Cosine scores of one-hot vectors are exactly 0 or 1. Targets 0 and 1
  # are the same vector (a text embedded twice under two ids).
  target = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 3]]
  got = recall_at_k(target, target, ks=(1,), tie_optimistic=True)
  np.testing.assert_allclose(float(got["recall@1"]), 3 / 5)
  np.testing.assert_allclose(float(got["optimistic_recall@1"]), 1.0)
  np.testing.assert_allclose(float(got["optimistic_mean_rank"]), 1.0)
  want = _reference(target, target, (1,), ties="optimistic")
  np.testing.assert_allclose(want["recall@1"], 1.0)


def test_median_rank_even_count_averages_middle_pair():
  keys = np.eye(4, dtype=np.float32)
  # Query i's positive is beaten by exactly i keys: ranks 1, 2, 3, 4.
  queries = np.array([[1, 0, 0, 0], [2, 1, 0, 0], [3, 3, 1, 0], [4, 4, 4, 1]],
                     np.float32)
  got = recall_at_k(queries, keys, ks=(1,), normalize=False)
  np.testing.assert_allclose(float(got["median_rank"]), 2.5)
  np.testing.assert_allclose(float(got["mean_rank"]), 2.5)


def test_structured_permuted_keys():
  rng = np.random.default_rng(5)
  x = rng.normal(size=(48, 8)).astype(np.float32)
  perm = rng.permutation(48)
  got = recall_at_k(x, x[perm], ks=(1,), positives=np.argsort(perm))
  assert float(got["recall@1"]) == 1.0


def test_result_is_plain_dict_of_scalars():
  x = np.random.default_rng(6).normal(size=(12, 4)).astype(np.float32)
  got = recall_at_k(x, x, ks=(1, 5, 10))
  assert type(got) is dict  # pylint: disable=unidiomatic-typecheck
  assert sorted(got) == ["mean_rank", "median_rank", "recall@1", "recall@10",
                         "recall@5"]
  assert all(np.shape(v) == () for v in got.values())


def test_no_retrace_for_same_shapes(monkeypatch):
  traced = jax.jit(chex.assert_max_traces(retrieval._recall_stats.__wrapped__,
                                          n=1),
                   static_argnames=("ks", "normalize", "block_size",
                                    "tie_optimistic"))
  monkeypatch.setattr(retrieval, "_recall_stats", traced)
  rng = np.random.default_rng(7)
  for _ in range(3):
    x = rng.normal(size=(30, 6)).astype(np.float32)
    recall_at_k(x, x + 0.1, ks=[1, 5])  # a list is fine: turned into a tuple
  chex.clear_trace_counter()


@pytest.mark.parametrize("queries,keys,kwargs,match", [
    (np.zeros((4, 3)), np.zeros((5, 3)), {}, "paired row by row"),
    (np.zeros((4, 3)), np.zeros((4, 2)), {}, "same space"),
    (np.zeros((4, 3)), np.zeros((4, 3)), {"ks": (5,)}, "k=5 is out of range"),
    (np.zeros((4, 3)), np.zeros((4, 3)), {"ks": (0,)}, "k=0 is out of range"),
    (np.zeros((4, 3)), np.zeros((4, 3)), {"ks": ()}, "ks is empty"),
    (np.zeros((0, 3)), np.zeros((0, 3)), {}, "at least 1 row"),
    (np.zeros(4), np.zeros((4, 3)), {}, "2-D array"),
    (np.full((4, 3), np.nan), np.zeros((4, 3)), {"ks": (1,)}, "NaN or inf"),
    (np.zeros((4, 3)), np.full((4, 3), np.inf), {"ks": (1,)}, "NaN or inf"),
    (np.zeros((2, 3)), np.zeros((4, 3)),
     {"ks": (1,), "positives": [[0], [4]]}, r"in \[0, 4\)"),
    (np.zeros((2, 3)), np.zeros((4, 3)),
     {"ks": (1,), "positives": [[0, 0], [1, -1]]}, "same positive key twice"),
    (np.zeros((2, 3)), np.zeros((4, 3)),
     {"ks": (1,), "positives": [[0, 1], [-1, -1]]}, "Query 1 has no positive"),
    (np.zeros((2, 3)), np.zeros((4, 3)),
     {"ks": (1,), "positives": [0, 1, 2]}, "must have shape"),
    (np.zeros((2, 3)), np.zeros((4, 3)),
     {"ks": (1,), "positives": [0.0, 1.0]}, "integer key indices"),
])
def test_errors(queries, keys, kwargs, match):
  with pytest.raises(ValueError, match=match):
    recall_at_k(queries, keys, **kwargs)


def test_nan_check_on_device_arrays():
  x = jax.numpy.zeros((4, 3)).at[1, 1].set(jax.numpy.nan)
  with pytest.raises(ValueError, match="NaN or inf"):
    recall_at_k(x, x, ks=(1,))


def test_mrr_matches_the_reference_and_is_off_by_default():
  rng = np.random.default_rng(4)
  queries = rng.normal(size=(23, 6)).astype(np.float32)
  keys = rng.normal(size=(31, 6)).astype(np.float32)
  positives = rng.integers(0, 31, size=23)
  got = recall_at_k(queries, keys, ks=(1, 10), positives=positives, mrr=True,
                    block_size=8)
  want = ref.recall_at_k(np.float64(queries), np.float64(keys), (1, 10),
                         positives, mrr=True)
  _assert_matches(got, want)
  assert "mrr" not in recall_at_k(queries, keys, ks=(1,), positives=positives)
