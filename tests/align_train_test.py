"""The align task end to end on a small planted set: each head learns past
the mean-pool reference (a member of a vmapped program equal to a lone run:
align_sweep_test.py)."""

import json
import math

import jax
import numpy as np
import pytest

from embtrans import train
from embtrans.tasks import align
from embtrans.tasks import align_diagnostics as diagnostics
from tests import helpers
from tests.align_helpers import fast_compile  # pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("fast_compile")

# 150 steps at lr 3e-3 on 1,024 planted pairs (8 tokens of 16 dims): enough
# for both heads to leave the mean-pool reference far behind.
LEARN = "tiny=True,lr=3e-3,steps=150"


def _config(name, arg=LEARN, **overrides):
  config = helpers.load_config(name, arg)
  config.data.update(num_train=1024, num_test=128, token_dim=16)
  config.log_every = 50
  config.update(overrides)
  return config


def _metrics(path):
  return [json.loads(line) for line in path.read_text().splitlines()]


def _train_rows(workdir):
  # The last row of a run's metrics.jsonl holds its final results.
  return [r for r in _metrics(workdir / "metrics.jsonl") if "train/loss" in r]


@pytest.fixture(scope="module")
def perceiver_run(tmp_path_factory):
  """train_and_evaluate of the Perceiver, seed 0 alone."""
  workdir = tmp_path_factory.mktemp("perceiver")
  config = _config("align_perceiver")
  return config, train.train_and_evaluate(config, str(workdir)), workdir


def _check_run(config, results, workdir):
  saved = json.loads((workdir / "results.json").read_text())
  assert saved == pytest.approx(results)
  dim = config.mrl.dim
  for key in ("test/i2t/recall@1", "test/t2i/recall@10",
              f"test/mrl_{dim // 8}/i2t/recall@1",
              f"test/mrl_{dim}/t2i/recall@5", "train/final_loss",
              "reference_mean_pool_ridge/i2t/recall@1",
              "reference_planted_oracle/t2i/recall@5"):
    assert np.isfinite(results[key]), key
  assert results["train/final_ln_batch"] == pytest.approx(math.log(32))
  first = _train_rows(workdir)[0]
  for key in ("train/loss", "train/loss_full", "train/temperature",
              "train/grad_norm/latents", "train/grad_norm/query_proj",
              "train/grad_norm/rest", "train/entropy/cross_attn_0",
              "train/ln_batch", "train/learning_rate"):
    assert np.isfinite(first[key]), key
  assert 0 < first["train/entropy/cross_attn_0"] <= 1.0 + 1e-6


def _check_learned(results):
  """The head beats uniform attention (mean pool + ridge) by a wide margin
  and gets a good way towards perfect selection (the planted oracle)."""
  for way in ("i2t", "t2i"):
    got = results[f"test/{way}/recall@1"]
    pooled = results[f"reference_mean_pool_ridge/{way}/recall@1"]
    oracle = results[f"reference_planted_oracle/{way}/recall@1"]
    assert oracle > 4 * pooled, (way, oracle, pooled)  # The set separates.
    assert got > 4 * pooled and got > 0.25 * oracle, (way, got, pooled,
                                                      oracle)
  assert results["train/final_loss_full"] < 0.7 * math.log(32)


def test_perceiver_run_writes_scores_and_diagnostics(perceiver_run):
  _check_run(*perceiver_run)


def test_perceiver_beats_the_mean_pool_reference_on_planted(perceiver_run):
  _check_learned(perceiver_run[1])


def test_attention_pool_beats_the_mean_pool_reference_on_planted(tmp_path):
  config = _config("align_attention_pool")
  results = train.train_and_evaluate(config, str(tmp_path))
  _check_run(config, results, tmp_path)
  _check_learned(results)


def test_param_groups_of_a_perceiver():
  config = helpers.load_config("align_perceiver", "tiny=True")
  model = align.build_model(config)
  shapes = jax.eval_shape(model.init, jax.random.key(0),
                          np.zeros((1, 8, 8)), None, np.zeros((1, 8)))
  groups = {}
  for path, _ in jax.tree_util.tree_flatten_with_path(shapes["params"])[0]:
    groups.setdefault(diagnostics.param_group(path), []).append(
        "/".join(diagnostics._names(path)))  # pylint: disable=protected-access
  assert groups["latents"] == ["image/latents"]
  assert sorted(groups["query_proj"]) == ["image/cross_attn_0/query/bias",
                                          "image/cross_attn_0/query/kernel"]
  assert "image/cross_attn_0/key/kernel" in groups["rest"]
  assert "text_proj/kernel" in groups["rest"]
  assert "log_logit_scale" in groups["rest"]


@pytest.mark.parametrize("change, message", [
    (lambda c: c.model.update(name="mlp"),
     r"Unknown alignment head 'mlp'.*\['attention_pool', 'perceiver'\]"),
    (lambda c: c.mrl.update(prefixes=(32, 64)), r"prefixes must be dims in"),
    (lambda c: c.update(batch_size=0), r"config.batch_size must be >= 1"),
    (lambda c: c.model.update(latent_init="zeros"), "unknown latent_init"),
])
def test_validate_names_the_problem_before_anything_runs(change, message):
  config = helpers.load_config("align_perceiver", "tiny=True")
  change(config)
  with pytest.raises(ValueError, match=message):
    align.validate(config)
