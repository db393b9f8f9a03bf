"""The ablation's report: hand-built cells whose right answers are known;
the scaled score's anchors, and sentences that follow the numbers when they
change (no training)."""

import math

import numpy as np
import pytest

from embtrans.report import ablation_faults as faults
from embtrans.report import ablation_findings as fl
from embtrans.report import ablation_readme
from embtrans.report import ablation_stats as st

ZERO, ONE = 0.02, 0.92  # mean pool + ridge, oracle (i2t R@1)


def _cell(factors, r1, ratios, steps=500, logged=None, curve=None):
  """A cell with per-seed i2t R@1 `r1` and final loss / ln(batch) `ratios`.

  `logged`: per-seed logged-loss value (flat curves); `curve`: extra keys
  logged at every step, {key: value}.
  """
  batch = factors.get("batch", 64)
  chance = math.log(batch)
  results = {"reference_mean_pool_ridge/i2t/recall@1": ZERO,
             "reference_planted_oracle/i2t/recall@1": ONE,
             "reference_mean_pool_ridge/t2i/recall@1": ZERO,
             "reference_planted_oracle/t2i/recall@1": ONE,
             "test/i2t/recall@1": float(np.mean(r1)),
             "test/chance_i2t_recall@1": 1 / 1024}
  curves = {}
  for s, (r, q) in enumerate(zip(r1, ratios)):
    results[f"seed_{s}/test/i2t/recall@1"] = r
    results[f"seed_{s}/train/final_loss_full"] = q * chance
    rows = []
    for step in range(steps // 10, steps + 1, steps // 10):
      row = {"step": step, "train/loss_full": q * chance, **(curve or {})}
      if logged is not None:
        row[faults.LOGGED] = logged[s]
      rows.append(row)
    curves[f"seed_{s}"] = rows
  name = "-".join(f"{k}={v}" for k, v in factors.items())
  return {"name": name, "factors": dict(factors), "results": results,
          "curves": curves, "data": {"num_train_items": 8192,
                                     "num_test_items": 1024},
          "config": {"batch_size": batch, "num_train_steps": steps,
                     "mrl": {"dim": 256, "prefixes": [256, 128, 64, 32],
                             "weights": None},
                     "model": {"num_latents": 64, "width": 32},
                     "temperature": {"init_temperature": 0.07,
                                     "max_logit_scale": 100.0},
                     "optimizer": {"weight_decay": 1e-4,
                                   "end_lr_fraction": 0.01,
                                   "grad_clip": 1.0}}}


def _main(correct_r1, bug_ratios=(0.5,) * 5):
  base = dict(head="perceiver", lr=2e-4, latent_ln=False, batch=64)
  return [_cell(dict(base, latent_init="bug"), [0.05, 0.04, 0.06, 0.05,
                                                 0.05], bug_ratios),
          _cell(dict(base, latent_init="correct"), correct_r1, (0.3,) * 5)]


def test_scaled_score_is_0_at_mean_pool_and_1_at_the_oracle():
  cell = _cell(dict(head="perceiver"), [ZERO, ONE, (ZERO + ONE) / 2],
               (0.5,) * 3)
  assert list(st.scaled_seeds(cell).values()) == pytest.approx([0, 1, 0.5])
  assert st.scale(ZERO, ZERO, ONE) == 0 and st.scale(ONE, ZERO, ONE) == 1


def test_interval_is_the_student_t_interval():
  mean, lo, hi, n = st.interval([1.0, 2.0, 3.0])
  # t_{0.975, 2} = 4.302653; sd = 1; half = 4.302653 / sqrt(3).
  assert (mean, n) == (2.0, 3)
  assert hi - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
  assert mean - lo == pytest.approx(hi - mean)


def test_init_sentence_follows_the_numbers():
  up = " ".join(fl.init_findings(_main([0.5, 0.45, 0.55, 0.5, 0.52])))
  assert "lr 0.0002, LN off, batch 64: N(0, 1) minus the seed's bug" in up
  assert "the interval lies above 0; N(0, 1) higher in 5 of 5" in up
  down = " ".join(fl.init_findings(_main([0.03, 0.02, 0.04, 0.03, 0.03])))
  assert "the interval lies below 0; N(0, 1) higher in 0 of 5" in down
  mixed = " ".join(fl.init_findings(_main([0.06, 0.03, 0.07, 0.04, 0.05])))
  assert "the interval includes 0; N(0, 1) higher in 2 of 5" in mixed
  # The number itself: mean of the paired scaled differences.
  diff = (np.mean([0.5, 0.45, 0.55, 0.5, 0.52]) - 0.05) / (ONE - ZERO)
  assert f"= {diff:+.2f} [" in up


def test_threshold_sentence_follows_the_numbers():
  at_92 = " ".join(fl.threshold_table(_main([0.5] * 5, (0.92,) * 5))[1])
  assert ("changes at 0.90 -> 0.95 (1 -> 0 cells: head=perceiver-lr=0.0002-"
          "latent_ln=False-batch=64-latent_init=bug leaves)") in at_92
  assert "seeds at 0.92–0.92" in at_92
  at_82 = " ".join(fl.threshold_table(_main([0.5] * 5, (0.82,) * 5))[1])
  assert "changes at 0.80 -> 0.85 (1 -> 0 cells" in at_82
  never = " ".join(fl.threshold_table(_main([0.5] * 5, (0.2,) * 5))[1])
  assert "leaves the plateaued cells unchanged (0 cells)" in never


def _fault(name, logged, r1):
  return _cell(dict(head="perceiver", latent_init="bug", lr=2e-3, batch=64,
                    steps=100, fault=name), r1, (1.0,) * 3, steps=100,
               logged=logged)


def test_fault_sentences_follow_the_numbers():
  found = [_fault("shifted_pairs+loss_bits", [6.0, 6.01, 5.99], [0.001] * 3),
           _fault("shifted_pairs", [4.16, 4.17, 4.15], [0.001] * 3)]
  text = " ".join(faults.table(found)[1])
  assert ("flat at 6.0 ± 0.25 with chance retrieval: "
          "shifted_pairs+loss_bits (second half 6.00") in text
  assert "another level: shifted_pairs (4.16)" in text
  assert "closest to the seed's 6.0: shifted_pairs+loss_bits 6.00" in text
  # The same fault learning (high R@1) no longer reproduces the symptom.
  found[0] = _fault("shifted_pairs+loss_bits", [6.0, 6.01, 5.99],
                    [0.5] * 3)
  text = " ".join(faults.table(found)[1])
  assert "No injected fault gives a flat loss at 6.0" in text


def test_fraction_and_mechanism_sentences_follow_the_numbers():
  cells = _main([0.5, 0.45, 0.55, 0.5, 0.52])
  cells[0]["curves"] = _cell({}, [0] * 5, [0.5] * 5, curve={
      fl.ENTROPY: 0.99, fl.MASS: 0.07, fl.MASS_UNIFORM: 0.07})["curves"]
  cells[1]["curves"] = _cell({}, [0] * 5, [0.3] * 5, curve={
      fl.ENTROPY: 0.5, fl.MASS: 0.35, fl.MASS_UNIFORM: 0.07})["curves"]
  text = " ".join(fl.mechanism_table(cells)[1])
  assert ("std 0.02: entropy at or above 0.95 at every logged step to 500, "
          "final mass on the signal token 1.00x uniform") in text
  assert "std 1: entropy below 0.95 from step 50" in text
  frac = " ".join(fl.fraction_table(cells)[1])
  assert "one token (LN off, lr 0.0002): mean pooling 2.0%, oracle 92.0%" in (
      frac)
  assert "bug 5.0%, correct 50.4%" in frac


def test_readme_is_written_from_the_cells():
  cells = _main([0.5, 0.45, 0.55, 0.5, 0.52]) + [
      _fault("loss_bits", [6.0] * 3, [0.9] * 3)]
  text = ablation_readme.readme(cells, {"runs": [], "figures": ("a.png",)})
  for title in ("## Paired comparisons across seeds",
                "## Plateau threshold, swept", "## Fault injection",
                "## Budget", "![a](a.png)"):
    assert title in text
  assert "| faults | 1 | 3 |" in text


def test_a_rerun_program_logged_twice_reads_once_in_step_order():
  from embtrans.report import ablation  # pylint: disable=g-import-not-at-top
  first = [{"step": s, "train/loss_full": 9.0} for s in (12, 24)]
  rerun = [{"step": s, "train/loss_full": float(s)} for s in (12, 24, 36)]
  rows = ablation._by_step(first + rerun)  # pylint: disable=protected-access
  assert [(r["step"], r["train/loss_full"]) for r in rows] == [
      (12, 12.0), (24, 24.0), (36, 36.0)]
