"""The ablation sweep definition and the findings logic (no training)."""

import json
import math

import numpy as np
import pytest

from embtrans.alignment import ablation
from embtrans.alignment import findings
from tests import helpers

CONFIG = str(helpers.ROOT / "configs" / "perceiver_ablation.py")


def test_sweep_lists_the_issue_grid():
  cells = ablation.collect_cells(ablation.load_config_module(CONFIG), None)
  perceivers = [c for c in cells if c.factors["head"] == "perceiver"]
  assert len(perceivers) == 3 * 2 * 2 * 2 and len(cells) == 24 + 4
  assert all(c.config.num_seeds == 3 for c in cells)
  groups = ablation.group_cells(cells)
  # One program per (head, LN on latents, batch): init, lr, seed are members.
  assert sorted(len(g) for g in groups) == [2, 2, 6, 6, 6, 6]
  bug = [c for c in cells if c.name == "perceiver-init=bug-lr=0.002-ln=off-b=64"]
  assert bug[0].config.model.latent_init == "bug"
  assert not bug[0].config.model.latent_layernorm
  assert bug[0].config.optimizer.learning_rate == 2e-3
  # Equal training pairs per cell: batch 64 runs twice the steps.
  by_batch = {c.config.batch_size: c.config.num_train_steps for c in cells}
  assert by_batch[64] == 2 * by_batch[128]


def test_plateau_and_escape_are_read_from_the_numbers():
  def cell(losses, batch=64):
    curves = {f"seed_{i}": [{"step": s, "train/loss_full": v}
                            for s, v in enumerate(seq, 1)]
              for i, seq in enumerate(losses)}
    finals = {f"seed_{i}/train/final_loss_full": seq[-1]
              for i, seq in enumerate(losses)}
    return {"curves": curves, "results": finals, "factors": {},
            "config": {"batch_size": batch, "num_train_steps": 3}}
  chance = math.log(64)
  c = cell([[chance, chance, chance], [chance, 0.5 * chance, 0.1],
            [chance, chance, 0.95 * chance]])
  assert findings.plateaued_seeds(c) == 2
  steps = findings.escape_steps(c)
  assert np.isnan(steps[0]) and steps[1] == 2 and np.isnan(steps[2])
  assert findings.escape_text(c) == "2 (2 never)"
