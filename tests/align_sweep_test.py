"""The ablation through the one sweep runner: its cells and programs, a
member of a mixed program (other inits, lrs, seeds) equal to a lone run, the
resume, and the report written from the sweep workdir."""

import json

import numpy as np
import pytest

from embtrans import sweeps
from embtrans import train
from embtrans.report import ablation
from embtrans.report import dispatch
from tests import helpers
from tests.align_helpers import fast_compile  # pylint: disable=unused-import

CONFIG = str(helpers.ROOT / "configs" / "perceiver_ablation.py")
TINY = "tiny=True,steps=4"
# Two cells of one program: they differ in latent init AND learning rate.
CORRECT = "perceiver-init=correct-lr=0.002-ln=on-b=64"
BUG = "perceiver-init=bug-lr=0.0002-ln=on-b=64"


def _metrics(path):
  return [json.loads(line) for line in path.read_text().splitlines()]


def test_sweep_lists_the_issue_grid():
  cells = sweeps.collect_cells(sweeps.load_config_module(CONFIG), None)
  names = [c.name for c in cells]
  main = [c for c in cells if set(c.factors) == {
      "head", "latent_init", "lr", "latent_ln", "batch", "seeds"} or set(
          c.factors) == {"head", "latent_init", "latent_init_std", "lr",
                         "latent_ln", "batch", "seeds"}]
  # Latent std {0.02, 0.1, 0.3, 1.0} x lr x LN on latents at batch 64.
  assert len(main) == 4 * 2 * 2
  stds = {(c.config.model.latent_init, c.config.model.latent_init_std)
          for c in main}
  assert {("std", 0.1), ("std", 0.3)} < stds
  # >= 5 seeds where LN is off at lr 2e-4, 3 elsewhere.
  assert {c.config.num_seeds for c in main
          if not c.config.model.latent_layernorm and
          c.config.optimizer.learning_rate == 2e-4} == {5}
  assert all(c.config.num_seeds >= 3 and c.config.task == "align"
             for c in cells)
  faults = [c for c in cells if "fault" in c.factors]
  assert {c.config.fault for c in faults} >= {
      "none", "shifted_pairs", "stop_gradient", "gather_labels",
      "mrl_sum_logged", "collapsed_temperature", "frozen_temperature"}
  assert all(c.config.get("fault", "none") == "none" for c in main)
  uniform = [c for c in cells if c.factors.get("uniform")]
  assert uniform and all(c.config.model.uniform_attention for c in uniform)
  fractions = {c.config.data.get("signal_fraction") for c in cells
               if "fraction" in c.factors}
  assert fractions == {0.25, 0.5, 1.0}
  # Batch 128 at the same examples and at the same updates as batch 64.
  b128 = {c.config.num_train_steps for c in cells
          if c.config.batch_size == 128}
  b64 = {c.config.num_train_steps for c in main}
  assert b64 == {500} and b128 == {250, 500}
  groups = sweeps.plan(cells, memo={})
  # Init, init std, lr and seed are members of one program.
  assert max(len(g.cells) for g in groups) == 8
  assert len(set(names)) == len(names)
  bug = [c for c in cells
         if c.name == "perceiver-init=bug-lr=0.002-ln=off-b=64"]
  assert bug[0].config.model.latent_init == "bug"
  assert not bug[0].config.model.latent_layernorm


@pytest.mark.usefixtures("fast_compile")
def test_mixed_program_member_equals_a_lone_run_then_reports(tmp_path):
  lone_dir = tmp_path / "lone"
  config = helpers.load_config("perceiver_ablation",
                               f"latent_init=correct,lr=0.002,{TINY},seeds=1")
  lone = train.train_and_evaluate(config, str(lone_dir))
  lines = []
  summary = sweeps.run(CONFIG, TINY, str(tmp_path / "w"),
                       only=f"^({CORRECT}|{BUG})$", print_fn=lines.append)
  assert [r["members"] for r in summary["ran"]] == [6]  # 2 cells x 3 seeds
  cells = tmp_path / "w" / "cells"
  # Member (correct, lr 2e-3, seed 0) of the 6-member program == lone run.
  alone = [r for r in _metrics(lone_dir / "metrics.jsonl")
           if "train/loss" in r]  # The last row holds the final results.
  member = _metrics(cells / CORRECT / "seed_0" / "metrics.jsonl")
  assert [r["step"] for r in member] == [r["step"] for r in alone] == [
      1, 2, 3, 4]
  for key in ("train/loss", "train/loss_full", "train/grad_norm/latents",
              "train/entropy/cross_attn_0", "train/temperature",
              "train/learning_rate"):
    np.testing.assert_allclose([r[key] for r in member],
                               [r[key] for r in alone], rtol=2e-4,
                               err_msg=key)
  results = json.loads((cells / CORRECT / "results.json").read_text())
  for key in ("test/i2t/recall@1", "test/t2i/recall@5"):  # 64 test items
    assert results[f"seed_0/{key}"] == pytest.approx(lone[key], abs=1 / 64)
  assert results["seed_0/test/i2t/mean_rank"] == pytest.approx(
      lone["test/i2t/mean_rank"], rel=2e-2)
  other = json.loads((cells / BUG / "results.json").read_text())
  assert other["seed_0/train/final_learning_rate"] == pytest.approx(
      results["seed_0/train/final_learning_rate"] / 10)
  assert other["reference_planted_oracle/i2t/recall@1"] == (
      lone["reference_planted_oracle/i2t/recall@1"])
  # Rerunning skips the finished program.
  again = sweeps.run(CONFIG, TINY, str(tmp_path / "w"),
                     only=f"^({CORRECT}|{BUG})$", print_fn=lines.append)
  assert again["ran"] == [] and len(again["skipped"]) == 1
  assert dispatch.kind(tmp_path / "w") == "ablation"
  out = ablation.write_report(tmp_path / "w", str(tmp_path / "r"))
  for name in ("README.md",) + ablation.FIGURES:
    assert (out / name).stat().st_size > 0
  text = (out / "README.md").read_text()
  assert text.count("| perceiver | ") == 2
  assert "## Paired comparisons across seeds" in text
  assert "| one signal token |" in text and str(tmp_path) not in text
  assert "--only='" in text and ":tiny=True,steps=4" in text
