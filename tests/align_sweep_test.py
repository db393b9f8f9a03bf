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
  perceivers = [c for c in cells if c.factors["head"] == "perceiver"]
  assert len(perceivers) == 3 * 2 * 2 * 2 and len(cells) == 24 + 4
  assert all(c.config.num_seeds == 3 and c.config.task == "align"
             for c in cells)
  groups = sweeps.plan(cells, memo={})
  # One program per (head, LN on latents, batch): init, lr, seed are members.
  assert sorted(len(g.cells) for g in groups) == [2, 2, 6, 6, 6, 6]
  bug = [c for c in cells
         if c.name == "perceiver-init=bug-lr=0.002-ln=off-b=64"]
  assert bug[0].config.model.latent_init == "bug"
  assert not bug[0].config.model.latent_layernorm
  assert bug[0].config.optimizer.learning_rate == 2e-3
  # Equal training pairs per cell: batch 64 runs twice the steps.
  by_batch = {c.config.batch_size: c.config.num_train_steps for c in cells}
  assert by_batch[64] == 2 * by_batch[128]


@pytest.mark.usefixtures("fast_compile")
def test_mixed_program_member_equals_a_lone_run_then_reports(tmp_path):
  lone_dir = tmp_path / "lone"
  config = helpers.load_config("perceiver_ablation",
                               f"latent_init=correct,lr=0.002,{TINY},seeds=1")
  lone = train.train_and_evaluate(config, str(lone_dir))
  lines = []
  summary = sweeps.run(CONFIG, f"{TINY},seeds=2", str(tmp_path / "w"),
                       only=f"{CORRECT}|{BUG}", print_fn=lines.append)
  assert [r["members"] for r in summary["ran"]] == [4]
  cells = tmp_path / "w" / "cells"
  # Member (correct, lr 2e-3, seed 0) of the 4-member program == lone run.
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
  again = sweeps.run(CONFIG, f"{TINY},seeds=2", str(tmp_path / "w"),
                     only=f"{CORRECT}|{BUG}", print_fn=lines.append)
  assert again["ran"] == [] and len(again["skipped"]) == 1
  assert dispatch.kind(tmp_path / "w") == "ablation"
  out = ablation.write_report(tmp_path / "w", str(tmp_path / "r"))
  for name in ("README.md",) + ablation.FIGURES:
    assert (out / name).stat().st_size > 0
  text = (out / "README.md").read_text()
  assert text.count("| perceiver | ") == 2
  assert "## Findings" in text and "i2t R@1 @4" in text
  assert "| planted_oracle |" in text and str(tmp_path) not in text
  assert "--only='" in text and ":tiny=True,steps=4,seeds=2" in text
