"""The three filter paths and the decision against brute-force NumPy, the
permission guarantee, and one clear error per kind of bad input."""

import chex
import numpy as np
import pytest

from embtrans import metrics
from embtrans.retrieval import Access, Eq, Filter, In, Range
from embtrans.retrieval import ChromaIndex, ExactIndex
from embtrans.retrieval import decide as decide_lib
from embtrans.retrieval import paths
from tests import retrieval_helpers as rh

K = 5
ACCESS = Access("a")


def reference(vectors, tenants, query, allowed, k, pool=None):
  """Brute force: the k most similar rows with allowed & tenant 'a'.

  pool: search-then-filter; only the `pool` most similar rows of all are
  candidates. Ties go to the lower row (stable sort).
  """
  v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
  q = query / np.linalg.norm(query)
  order = np.argsort(-(v.astype(np.float64) @ q), kind="stable")
  if pool is not None:
    order = order[:pool]
  ok = allowed & (tenants == "a")
  return order[ok[order]][:k]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  cat = rh.catalog()
  rng = np.random.default_rng(1)
  queries = rng.standard_normal((6, cat.dim)).astype(np.float32)
  # ef_search >= n makes HNSW exhaustive on this small case.
  hnsw = ChromaIndex(cat, tmp_path_factory.mktemp("chroma"), "paths-test",
                     ef_search=256)
  return cat, ExactIndex(cat), hnsw, queries


FILTERS = [Filter(), Filter.of(Eq("module", "m2")),
           Filter.of(In("kind", ["function"]), Range("bucket", 10, 60)),
           Filter.of(Range("score", lo=0.5)),
           Filter.of(In("module", ["m0", "m3"]), Eq("kind", "method"))]


def _allowed(cat, f):
  a = cat.attributes
  masks = {0: np.ones(len(cat), bool), 1: a["module"] == "m2",
           2: (a["kind"] == "function") & (a["bucket"] >= 10)
              & (a["bucket"] < 60),
           3: a["score"] >= 0.5,
           4: np.isin(a["module"], ["m0", "m3"]) & (a["kind"] == "method")}
  return masks[FILTERS.index(f)]


@pytest.mark.parametrize("fi", range(len(FILTERS)))
def test_prefilter_matches_numpy(setup, fi):
  cat, exact, _, queries = setup
  f = FILTERS[fi]
  results = paths.prefilter(exact, queries, K, ACCESS, f)
  for q, res in zip(queries, results):
    want = reference(cat.vectors, cat.attributes["tenant"], q,
                     _allowed(cat, f), K)
    np.testing.assert_array_equal(res.rows, want)
    np.testing.assert_allclose(res.scores, cat.vectors[want] @ (
        q / np.linalg.norm(q)), atol=1e-5)


@pytest.mark.parametrize("fi", range(len(FILTERS)))
def test_postfilter_matches_numpy_for_both_sources(setup, fi):
  cat, exact, hnsw, queries = setup
  f = FILTERS[fi]
  for index in (exact, hnsw):
    for factor in (1, 4):
      results = paths.postfilter(index, queries, K, ACCESS, f, factor)
      for q, res in zip(queries, results):
        want = reference(cat.vectors, cat.attributes["tenant"], q,
                         _allowed(cat, f), K, pool=K * factor)
        np.testing.assert_array_equal(res.rows, want)


@pytest.mark.parametrize("fi", range(len(FILTERS)))
def test_chroma_where_matches_numpy(setup, fi):
  cat, _, hnsw, queries = setup
  f = FILTERS[fi]
  for q, res in zip(queries, paths.chroma_where(hnsw, queries, K, ACCESS,
                                                 f)):
    want = reference(cat.vectors, cat.attributes["tenant"], q,
                     _allowed(cat, f), K)
    np.testing.assert_array_equal(res.rows, want)
    assert res.dropped == 0


def test_per_query_filters(setup):
  cat, exact, hnsw, queries = setup
  fs = [FILTERS[i % len(FILTERS)] for i in range(len(queries))]
  for results in (paths.prefilter(exact, queries, K, ACCESS, fs),
                  paths.chroma_where(hnsw, queries, K, ACCESS, fs)):
    for q, f, res in zip(queries, fs, results):
      np.testing.assert_array_equal(res.rows, reference(
          cat.vectors, cat.attributes["tenant"], q, _allowed(cat, f), K))


def test_knn_search_kernel_matches_numpy():
  rng = np.random.default_rng(3)
  keys = rng.standard_normal((50, 8)).astype(np.float32)
  queries = rng.standard_normal((7, 8)).astype(np.float32)
  mask = rng.random((7, 50)) < 0.1  # some rows allow fewer than k keys
  scores, rows = metrics.knn_search(queries, keys, 6, mask)
  chex.assert_shape((scores, rows), (7, 6))
  kn = keys / np.linalg.norm(keys, axis=1, keepdims=True)
  for i, q in enumerate(queries):
    sims = kn @ (q / np.linalg.norm(q))
    want = [j for j in np.argsort(-sims, kind="stable") if mask[i, j]][:6]
    got = np.asarray(rows[i])[np.isfinite(np.asarray(scores[i]))]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(np.asarray(scores[i])[:len(want)], sims[want],
                               atol=1e-5)
    assert np.isneginf(np.asarray(scores[i])[len(want):]).all()
  shared, _ = metrics.knn_search(queries, keys, 3, mask=np.ones(50, bool))
  dot, _ = metrics.knn_search(queries, keys, 3, metric="dot")
  np.testing.assert_allclose(np.asarray(shared)[:, 0],
                             np.max(queries @ kn.T, axis=1) / np.linalg.norm(
                                 queries, axis=1), atol=1e-5)
  np.testing.assert_allclose(np.asarray(dot)[:, 0],
                             np.max(queries @ keys.T, axis=1), atol=1e-4)


def test_decision_ranks_on_attributes_similarity_only_breaks_ties():
  cat = rh.catalog(n=12)
  rows = np.array([3, 7, 1, 9, 2])
  sims = np.array([0.9, 0.8, 0.7, 0.6, 0.5], np.float32)
  query = {"module": cat.attributes["module"][7].item(),
           "kind": cat.attributes["kind"][7].item()}
  res = paths.Result(rows, sims)
  # Hard module+kind leaves the candidates equal to row 7 on both; the
  # most similar of those wins (closed form from the fixture's columns).
  a = cat.attributes
  ok = [r for r in rows if a["module"][r] == query["module"]
        and a["kind"][r] == query["kind"]]
  d = decide_lib.decide(cat, res, query, decide_lib.Rule(("module", "kind")))
  assert d.row == ok[0] and d.qualified == len(ok) and d.candidates == 5
  # A rank attribute beats similarity: only row 9 has bucket == its own.
  query9 = {"bucket": a["bucket"][9].item()}
  d = decide_lib.decide(cat, res, query9, decide_lib.Rule((), ("bucket",)))
  assert np.sum(a["bucket"][rows] == query9["bucket"]) == 1
  assert (d.row, d.matched) == (9, ("bucket",))
  assert d.similarity == pytest.approx(0.6)
  none = decide_lib.decide(cat, res, {"module": "m9"},
                           decide_lib.Rule(("module",)))
  assert none.row == -1 and "none of the 5 candidates" in none.reason


def test_permission_planted_near_copy_never_returned(setup, tmp_path):
  cat, _, _, queries = setup
  q = queries[0]
  # Near-copies of the query in tenant 'b', with attributes that pass every
  # filter below: only the tenant tells them apart.
  planted = cat.extended(
      ["plant0", "plant1"], [q, q + 1e-3],
      {"tenant": ["b", "b"], "module": ["m2", "m2"],
       "kind": ["function", "function"], "bucket": [20, 20],
       "score": [0.9, 0.9]})
  plant_rows = {len(cat), len(cat) + 1}
  exact = ExactIndex(planted)
  hnsw = ChromaIndex(planted, tmp_path, "permission-test", ef_search=256)
  for f in FILTERS:
    for results in (paths.prefilter(exact, q, K, ACCESS, f),
                    paths.chroma_where(hnsw, q, K, ACCESS, f),
                    paths.postfilter(exact, q, K, ACCESS, f, 1),
                    paths.postfilter(exact, q, K, ACCESS, f, 50),
                    paths.postfilter(hnsw, q, K, ACCESS, f, 1),
                    paths.postfilter(hnsw, q, K, ACCESS, f, 50)):
      assert not plant_rows & set(results[0].rows.tolist())
  # Control: with access to tenant 'b' the plant is the nearest item.
  both = paths.prefilter(exact, q, 1, Access("a", "b"))
  assert both[0].rows[0] == len(cat)
  assert paths.chroma_where(hnsw, q, 1, Access("a", "b"))[0].rows[0] == len(
      cat)


def test_bad_input_gets_one_clear_error(setup):
  cat, exact, hnsw, queries = setup
  with pytest.raises(ValueError, match=r"Unknown attribute 'modul'.*known "
                     r"attributes: bucket, kind, module, score, tenant"):
    paths.prefilter(exact, queries, K, ACCESS, Filter.of(Eq("modul", "m1")))
  with pytest.raises(ValueError, match=r"'module' holds str values, got int 3"):
    paths.chroma_where(hnsw, queries, K, ACCESS, Filter.of(Eq("module", 3)))
  with pytest.raises(ValueError, match=r"'bucket' holds int values, got str"):
    paths.postfilter(exact, queries, K, ACCESS,
                     Filter.of(Range("bucket", lo="10")))
  with pytest.raises(ValueError, match="a range needs a numeric attribute"):
    Filter.of(Range("module", "a", "b")).check(cat.schema)
  with pytest.raises(ValueError, match="values must be a list or tuple"):
    In("module", "m1")
  with pytest.raises(ValueError, match=r"The queries are 8-d but the index "
                     r"holds 16-d vectors \(space toy\); translate"):
    paths.prefilter(exact, np.ones((2, 8)), K, ACCESS)
  with pytest.raises(ValueError, match=r"The queries are 8-d"):
    paths.chroma_where(hnsw, np.ones(8), K, ACCESS)
  with pytest.raises(ValueError, match="overfetch must be a positive int"):
    paths.postfilter(exact, queries, K, ACCESS, overfetch=0)
  with pytest.raises(ValueError, match="access must be a filters.Access"):
    paths.prefilter(exact, queries, K, "a")
  with pytest.raises(ValueError, match="gives no value for 'kind'"):
    decide_lib.decide(cat, paths.Result(np.array([1]), np.array([0.5])),
                      {"module": "m1"}, decide_lib.Rule(("module", "kind")))


def test_empty_candidate_set_is_an_empty_result_that_says_why(setup):
  cat, exact, hnsw, queries = setup
  nothing = Filter.of(Eq("module", "m9"))
  for res in (paths.prefilter(exact, queries[:1], K, ACCESS, nothing)[0],
              paths.chroma_where(hnsw, queries[:1], K, ACCESS, nothing)[0],
              paths.postfilter(exact, queries[:1], K, ACCESS, nothing, 2)[0]):
    assert len(res.rows) == 0 and res.passing == 0
    assert res.reason.startswith("No item passes tenant a and module == 'm9'"
                                 " (0 of 200 items)")
  tight = Filter.of(Range("bucket", 0, 3))  # a few items pass
  res = paths.postfilter(exact, queries[:1], K, ACCESS, tight, 1)[0]
  assert len(res.rows) < K and "raise the over-fetch factor (now 1)" in (
      res.reason)


@pytest.mark.parametrize("m,passing,short,expected", [
    (5, 9, "path missed some", ""),                      # got k: no reason
    (0, 0, "path missed some", "No item passes f (0 of 20 items)."),
    (3, 3, "path missed some", "Only 3 of 20 items pass f."),
    (2, 3, "path missed some", "path missed some"),      # the path's own
    (2, 3, "", "Only 3 of 20 items pass f."),            # exact paths
])
def test_why_a_query_got_fewer_than_k(m, passing, short, expected):
  assert paths._why(m, 5, passing, 20, "f", short) == expected  # pylint: disable=protected-access
