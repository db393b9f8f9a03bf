"""`train_and_evaluate` with the options the default run leaves off:
direction=b_to_a, a non-MSE loss and a `config.evals` evaluator, checked
against NumPy on the translator restored from the run."""

import json

import numpy as np
import pytest

from embtrans import data
from embtrans import inference
from embtrans import train
from embtrans.data import pairing
from embtrans.references import numpy_metrics as ref
from tests import helpers


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  """Tiny MiniLM / TF-IDF LSA run, B -> A, cosine loss, k-NN evaluator."""
  config = helpers.load_config("mlp8x",
                               "tiny=True,direction=b_to_a,loss=cosine")
  config.evals.knn = dict(type="knn", k=5)
  workdir = tmp_path_factory.mktemp("b_to_a")
  results = train.train_and_evaluate(config, str(workdir))
  a = data.build_dataset("pydocs", "minilm", limit=config.data.limit)
  b = data.build_dataset("pydocs", "tfidf_lsa", limit=config.data.limit)
  return workdir, results, pairing.pair_datasets(a, b).test


def test_b_to_a_translates_the_second_space_into_the_first(run):
  workdir, results, test = run
  translate = inference.load_translator(str(workdir))
  assert (translate.source_dim, translate.target_dim) == (
      test.b.shape[1], test.a.shape[1]) == (256, 384)
  info = json.loads((workdir / "data.json").read_text())
  assert (info["source"], info["target"]) == ("pydocs/tfidf_lsa",
                                              "pydocs/minilm")
  # A cosine loss still learns: far above chance retrieval.
  assert results["test/recall@1"] > 10 * results["test/chance_recall@1"]


def test_scores_equal_numpy_on_the_restored_translator(run):
  workdir, results, test = run
  translated = np.asarray(inference.load_translator(str(workdir))(test.b),
                          np.float64)
  target = np.asarray(test.a, np.float64)
  assert results["test/mse"] == pytest.approx(
      np.mean((translated - target) ** 2), rel=1e-4)
  u = translated / np.linalg.norm(translated, axis=1, keepdims=True)
  v = target / np.linalg.norm(target, axis=1, keepdims=True)
  assert results["test/cosine"] == pytest.approx(np.mean(np.sum(u * v, 1)),
                                                 rel=1e-4)
  want = ref.jaccard(*ref.knn_pair(translated, target, 5))
  assert results["test/knn/jaccard@5"] == pytest.approx(want, abs=1e-6)
