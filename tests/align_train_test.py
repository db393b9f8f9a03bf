"""Training end to end on tiny configs: one run per head, the vmapped sweep
(checked against a separate run of one of its members) and the report."""

import json
import math

import jax
import numpy as np
import pytest

from embtrans.alignment import ablation
from embtrans.alignment import diagnostics
from embtrans.alignment import model as model_lib
from embtrans.alignment import report
from embtrans.alignment import train as align_train
from tests import helpers
from tests.align_helpers import fast_compile  # pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("fast_compile")

ABLATION = str(helpers.ROOT / "configs" / "perceiver_ablation.py")
# One cell of the tiny ablation: the lone run below is its (correct, seed 0).
CELL = "latent_init=correct,lr=0.002,latent_ln=True,batch=64"
TINY = "tiny=True,steps=4"


def _metrics(path):
  return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def perceiver_run(tmp_path_factory):
  """train_and_evaluate on the tiny Perceiver cell, seed 0 alone."""
  workdir = tmp_path_factory.mktemp("perceiver")
  config = helpers.load_config("perceiver_ablation", f"{CELL},{TINY},seeds=1")
  results = align_train.train_and_evaluate(config, str(workdir))
  return config, results, workdir


def _check_run(config, results, workdir):
  saved = json.loads((workdir / "results.json").read_text())
  assert saved == pytest.approx(results)
  dim = config.mrl.dim
  for key in ("test/i2t/recall@1", "test/t2i/recall@10",
              f"test/mrl_{dim // 8}/i2t/recall@1",
              f"test/mrl_{dim}/t2i/recall@5", "train/final_loss"):
    assert np.isfinite(results[key]), key
  assert results["train/final_ln_batch"] == pytest.approx(math.log(32))
  logged = _metrics(workdir / "metrics.jsonl")[0]
  for key in ("train/loss", "train/loss_full", "train/temperature",
              "train/grad_norm/latents", "train/grad_norm/query_proj",
              "train/grad_norm/rest", "train/entropy/cross_attn_0",
              "train/ln_batch"):
    assert np.isfinite(logged[key]), key
  assert 0 < logged["train/entropy/cross_attn_0"] <= 1.0 + 1e-6


def test_train_and_evaluate_tiny_perceiver(perceiver_run):
  _check_run(*perceiver_run)


def test_train_and_evaluate_tiny_attention_pool(tmp_path):
  config = helpers.load_config("align_attention_pool", "tiny=True,steps=3")
  config.log_every = 1
  results = align_train.train_and_evaluate(config, str(tmp_path))
  _check_run(config, results, tmp_path)


def test_vmapped_sweep_matches_a_lone_run_and_reports(perceiver_run,
                                                      tmp_path):
  lines = []
  ablation.run_sweep(ABLATION, f"{TINY},seeds=2", str(tmp_path / "w"),
                     only="perceiver-init=(correct|bug)-lr=0.002-ln=on-b=64",
                     print_fn=lines.append)
  assert lines[0].startswith("group 0: 2 cells x 2 seeds")
  cells = tmp_path / "w" / "cells"
  # Member (correct, seed 0) of the 4-member program == the lone run.
  lone = [r for r in _metrics(perceiver_run[2] / "metrics.jsonl")
          if "train/loss" in r]  # The last row holds the final results.
  member = _metrics(cells / "perceiver-init=correct-lr=0.002-ln=on-b=64" /
                    "seed_0" / "metrics.jsonl")
  assert [r["step"] for r in member] == [r["step"] for r in lone] == [1, 2,
                                                                      3, 4]
  for key in ("train/loss", "train/loss_full", "train/grad_norm/latents",
              "train/entropy/cross_attn_0", "train/temperature"):
    np.testing.assert_allclose([r[key] for r in member],
                               [r[key] for r in lone], rtol=2e-4)
  results = json.loads((cells / "perceiver-init=bug-lr=0.002-ln=on-b=64" /
                        "results.json").read_text())
  for key in ("test/i2t/recall@1", "test/i2t/recall@1/std",
              "seed_1/test/t2i/recall@5", "train/final_loss_full"):
    assert np.isfinite(results[key]), key
  # Resuming skips finished groups.
  again = []
  ablation.run_sweep(ABLATION, f"{TINY},seeds=2", str(tmp_path / "w"),
                     only="perceiver-init=(correct|bug)-lr=0.002-ln=on-b=64",
                     print_fn=again.append)
  assert again[-1].startswith("skip (done)")
  out = report.write_report(str(tmp_path / "w"), str(tmp_path / "r"))
  for name in ("README.md", "loss.png", "entropy.png", "diagnostics.png",
               "grad_latents.png"):
    assert (out / name).stat().st_size > 0
  text = (out / "README.md").read_text()
  assert text.count("| perceiver | ") == 2
  assert "## Findings" in text and "i2t R@1 @4" in text
  assert "planted_oracle" in text


def test_param_groups_of_a_perceiver():
  config = helpers.load_config("align_perceiver", "tiny=True")
  model = model_lib.build(config.model, config.mrl.dim, config.temperature)
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
