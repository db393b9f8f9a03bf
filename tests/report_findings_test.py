"""The grid's and the ae3d report's conclusions: hand-built rows whose right
answers are worked out by hand, and the committed grid report's answers and
tables regenerated from its committed results.csv (no training).

(The ablation's findings are tested in align_report_test.py.)"""

import csv
import math

import numpy as np
import pytest

from embtrans.report import ae3d_findings
from embtrans.report import findings
from embtrans.report import readme
from tests import helpers

T975_2 = 4.302652729911275   # Student t(0.975) at 2 degrees of freedom


def _row(source, target, arch, **scores):
  """A grid row. scores: key -> seed values (trained) or one value
  (closed-form); keys may hold '/' and '@' (passed as **{...})."""
  closed = arch in findings.CLOSED
  row = dict(source=source, target=target, arch=arch,
             kind="baseline" if closed else "trained", steps=0 if closed
             else 200, batch_size=64, num_train=800, learning_rate=1e-2,
             key=f"{source}->{target}~{arch}")
  for key, values in scores.items():
    if closed:
      row[key] = float(values)
      continue
    row[key] = float(np.mean(values))
    row.update({f"seed_{s}/{key}": float(v) for s, v in enumerate(values)})
  return row


def _pair(source, target, member_mse, member_r1, lstsq, procrustes,
          decoy_r1=0.99):
  """A pair's rows: 'linear' wins on val; 'mlp1_w1' has a higher test
  Recall@1 (decoy_r1) but loses on val, so it must never be reported.
  lstsq / procrustes: (test MSE, test Recall@1)."""
  return [
      _row(source, target, "linear", **{
          "val/recall@1": [0.9, 0.9, 0.9], "test/mse": member_mse,
          "test/recall@1": member_r1}),
      _row(source, target, "mlp1_w1", **{
          "val/recall@1": [0.1, 0.1, 0.1], "test/mse": [9.0] * 3,
          "test/recall@1": [decoy_r1] * 3}),
      _row(source, target, "lstsq", **{"test/mse": lstsq[0],
                                        "test/recall@1": lstsq[1]}),
      _row(source, target, "procrustes", **{"test/mse": procrustes[0],
                                             "test/recall@1": procrustes[1]}),
  ]


def test_closed_form_ratio_gap_and_position_of_the_val_chosen_member():
  # a->b: member MSE 0.6, R@1 0.52 +- t*0.02/sqrt(3) = [0.470, 0.570];
  # lstsq (0.5, 0.60) lies above that interval, Procrustes (0.8, 0.40)
  # below it. b->a: member MSE 1.0, R@1 0.30 +- 0.050; lstsq (0.5, 0.31)
  # inside, Procrustes (2.0, 0.10) below.
  rows = (_pair("a", "b", [0.6] * 3, [0.50, 0.52, 0.54], (0.5, 0.60),
                (0.8, 0.40)) +
          _pair("b", "a", [1.0] * 3, [0.28, 0.30, 0.32], (0.5, 0.31),
                (2.0, 0.10)))
  lstsq, procrustes = findings.closed_form(rows)
  assert lstsq == (
      "- Chosen member vs lstsq: test MSE ratio 1.600 on average (range "
      "1.200–2.000); test Recall@1 -0.045 on average; lstsq's Recall@1 lies"
      " below the member's seed interval on 0/2 pairs, above it on 1, "
      "inside on 1.")
  assert procrustes == (
      "- Chosen member vs Procrustes: test MSE ratio 0.625 on average (range"
      " 0.500–0.750); test Recall@1 +0.160 on average; Procrustes's "
      "Recall@1 lies below the member's seed interval on 2/2 pairs, above "
      "it on 0, inside on 0.")


def test_procrustes_vs_lstsq_counts_the_pairs_each_way():
  # MSE change (0.4-0.5)/0.5 = -20 %, (1.1-1.0)/1.0 = +10 %: mean -5.0 %,
  # lower on 1/2; Recall@1 +0.10 and -0.02: mean +0.040, higher on 1/2.
  rows = (_pair("a", "b", [0.6] * 3, [0.5] * 3, (0.5, 0.50), (0.4, 0.60)) +
          _pair("b", "a", [0.6] * 3, [0.5] * 3, (1.0, 0.30), (1.1, 0.28)))
  assert findings.procrustes_vs_lstsq(rows) == [
      "- Procrustes vs lstsq (deterministic fits, no seeds): test MSE -5.0 %"
      " on average (lower on 1/2), test Recall@1 +0.040 (higher on 1/2)."]
  rows = (_pair("a", "b", [0.6] * 3, [0.5] * 3, (0.4, 0.60), (0.5, 0.50)) +
          _pair("b", "a", [0.6] * 3, [0.5] * 3, (1.1, 0.28), (1.0, 0.30)))
  line = findings.procrustes_vs_lstsq(rows)[0]
  # (0.5-0.4)/0.4 = +25 %, (1.0-1.1)/1.1 = -9.09 %: mean +7.95 %.
  assert "test MSE +8.0 % on average (lower on 1/2)" in line
  assert "test Recall@1 -0.040 (higher on 1/2)" in line


def test_depth_says_a_hidden_layer_lowers_r2_when_the_seeds_agree():
  def rows(mlp_r2):
    return [_row("a", "b", "linear", **{"test/r2": [0.50, 0.52, 0.54],
                                        "test/recall@1": [0.5] * 3}),
            _row("a", "b", "mlp1_w1", **{"test/r2": mlp_r2,
                                         "test/recall@1": [0.4] * 3})]
  # Paired differences -0.10, -0.10, -0.10: the interval is 0 wide.
  line = findings.depth(rows([0.40, 0.42, 0.44]))[0]
  assert line.startswith("- linear → 1L 1×, at equal budgets (200 steps at "
                         "batch 64, 16.0 epochs each), the same peak lr 0.01")
  assert "test R² -0.1000 (higher on 0, lower on 1, interval across 0 on 0)" \
      in line
  assert "test Recall@1 -0.100 (higher on 0, lower on 1," in line
  # Differences +0.02, -0.06, +0.10: mean +0.02, the interval spans 0.
  line = findings.depth(rows([0.52, 0.46, 0.64]))[0]
  assert "test R² +0.0200 (higher on 0, lower on 0, interval across 0 on 1)" \
      in line


def _similar(recall):
  """Three directed pairs; raw-space scores fall from a/b to b/c; the
  chosen member's test Recall@1 per pair is `recall`."""
  raw = {("a", "b"): 0.9, ("a", "c"): 0.5, ("b", "c"): 0.2}
  rows = []
  for (s, t), r1 in zip(raw, recall):
    scores = {"val/recall@1": [0.9] * 3, "test/recall@1": [r1] * 3,
              "test/platonic/cknna@10": [raw[(s, t)] + 0.05] * 3,
              "test/svcca/svcca@10": [0.7] * 3}
    rows.append(_row(s, t, "linear", **scores))
    rows.append(_row(s, t, "lstsq", **{
        "test/recall@1": 0.3, "test/cka/source/linear_cka": raw[(s, t)],
        "test/platonic/source/cknna@10": raw[(s, t)] / 2,
        "test/svcca/source/svcca@10": 1 - raw[(s, t)]}))
  return rows


def test_similarity_lists_raw_scores_and_their_rank_correlation():
  lines = findings.similarity(_similar([0.8, 0.6, 0.4]))
  assert lines[0] == (
      "- Raw spaces on the test split (CKA / CKNNA@10 / SVCCA@10): a / b "
      "0.900 / 0.450 / 0.100; a / c 0.500 / 0.250 / 0.500; b / c 0.200 / "
      "0.100 / 0.800.")
  # Recall falls with CKA and CKNNA and rises with 1 - CKA (SVCCA here).
  assert lines[1].endswith("Recall@1: CKA +1.00, CKNNA@10 +1.00, SVCCA@10 "
                           "-1.00.")
  assert "over the 3 directed pairs" in lines[1]
  # Mean raw CKNNA (0.45+0.25+0.10)/3 = 0.267 -> translated 0.583; SVCCA
  # (0.1+0.5+0.8)/3 = 0.467 -> 0.700.
  assert lines[2].endswith("CKNNA@10 0.267 → 0.583, SVCCA@10 0.467 → "
                           "0.700.")
  flipped = findings.similarity(_similar([0.4, 0.6, 0.8]))[1]
  assert flipped.endswith("CKA -1.00, CKNNA@10 -1.00, SVCCA@10 +1.00.")


def test_focus_ranks_the_pair_among_all_directed_pairs():
  rows = _similar([0.8, 0.6, 0.4])
  (line,) = findings.focus(rows, "a", "c")  # c -> a is not in the grid
  # Equal seeds: half-widths 0; no R² in these rows.
  assert line.startswith("- a → c: linear (chosen on val), test Recall@1 "
                         "0.600 ± 0.000, R² —, CKNNA@10 0.550 ± 0.000, SVCCA "
                         "0.700 ± 0.000; rank 2 of 3 directed pairs by test "
                         "Recall@1")
  assert line.endswith("test Recall@1 of lstsq 0.300, Procrustes —.")
  assert "rank 3 of 3" in findings.focus(_similar([0.5, 0.9, 0.6]), "a",
                                         "b")[0]


# --- The committed grid report, regenerated from its committed CSV. ---


def _parse(cell: str):
  if cell == "":
    return None
  for kind in (int, float):
    try:
      return kind(cell)
    except ValueError:
      pass
  return cell


@pytest.fixture(scope="module")
def committed_grid():
  root = helpers.ROOT / "docs" / "results" / "grid"
  with open(root / "results.csv", newline="", encoding="utf-8") as f:
    rows = [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(f)]
  return rows, (root / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("section", ["_answers", "_budget", "_tables"])
def test_committed_grid_readme_sections_follow_from_its_results_csv(
    committed_grid, section):
  rows, text = committed_grid
  inputs = readme.Inputs(rows=rows, curves={}, showcase=rows[0],
                         search_md="", runs=[], data={}, label_column="")
  lines = getattr(readme, section)(inputs)
  regenerated = "\n".join(lines)
  assert len(regenerated) > 500
  assert regenerated in text, section


def test_committed_grid_answers_change_when_a_csv_number_changes(
    committed_grid):
  rows, text = committed_grid
  rows = [dict(r) for r in rows]
  lstsq = [r for r in rows if r["arch"] == "lstsq"]
  for r in lstsq:
    r["test/recall@1"] = 1.0
  inputs = readme.Inputs(rows=rows, curves={}, showcase=rows[0],
                         search_md="", runs=[], data={}, label_column="")
  regenerated = "\n".join(readme._answers(inputs))  # pylint: disable=protected-access
  assert regenerated not in text
  assert (f"lstsq's Recall@1 lies below the member's seed interval on 0/"
          f"{len(lstsq)} pairs, above it on {len(lstsq)}") in regenerated


# --- ae3d: the verdict words follow the seeds. ---


def _ae_rows(means, seeds=3, spread=0.01):
  """(train, loss, method) -> (a/trust@10, b/trust@10, both/trust@10,
  both/spearman); seed s adds spread * (s - 1)."""
  rows = []
  for (train, loss, method), values in means.items():
    for s in range(seeds):
      e = spread * (s - (seeds - 1) / 2)
      a, b, both, sp = (v + e for v in values)
      rows.append({"train": train, "loss": loss, "method": method, "seed": s,
                   "a/trust@10": a, "b/trust@10": b, "both/trust@10": both,
                   "both/spearman": sp, "gap/orig": 2.0,
                   "gap/proj": 0.5 + e})
  return rows


def _ae_means(both_b=0.85, pca_ae=(0.90, 0.60)):
  return {("a", "recon", "ae"): (0.90, 0.70, 0.80, 0.50),
          ("b", "recon", "ae"): (0.75, 0.90, 0.82, 0.50),
          ("both", "recon", "ae"): (0.87, both_b, 0.86, 0.55),
          ("both", "recon", "pca50_ae"): (0.0, 0.0, *pca_ae)}


def test_both_fixes_verb_and_recovered_share_follow_the_numbers():
  line = ae3d_findings.both_fixes(_ae_rows(_ae_means(both_b=0.85)))
  # (0.85 - 0.70) / (0.90 - 0.70) = 75 % of the distance recovered.
  assert "It raises trustworthiness@10 on B: both vs A-only 0.850 vs 0.700," \
      in line
  assert "recovers 75 % of the distance" in line
  assert "On A itself (trustworthiness@10 on A): 0.870 vs 0.900, Δ -0.030" \
      in line
  line = ae3d_findings.both_fixes(_ae_rows(_ae_means(both_b=0.60)))
  assert "It lowers trustworthiness@10 on B" in line
  assert "recovers -50 % of the distance" in line
  line = ae3d_findings.both_fixes(_ae_rows(_ae_means(both_b=0.70)))
  assert "It does not measurably change trustworthiness@10 on B" in line
  assert "recovers 0 % of the distance" in line


def test_pca_first_verdicts_per_metric():
  # Welch: both cells +-0.01 over 3 seeds, se = sqrt(2 * 1e-4 / 3), df 4,
  # half-width t(0.975, 4) * se = 0.0227.
  line = ae3d_findings.pca_first(_ae_rows(_ae_means(pca_ae=(0.90, 0.40))))
  assert line == (
      "- **Does PCA(50) → AE help (fitted on both)?** Against the autoencoder"
      " on the raw vectors, trustworthiness@10 on A ∪ B is higher: 0.900 vs "
      "0.860, Δ +0.040 [95 % CI +0.017, +0.063], 3 vs 3 seeds; Spearman ρ on"
      " A ∪ B is lower: 0.400 vs 0.550, Δ -0.150 [95 % CI -0.173, -0.127], 3"
      " vs 3 seeds.")


def test_gaps_report_the_mean_and_interval_of_each_method():
  line = ae3d_findings.gaps(_ae_rows(_ae_means()))
  half = T975_2 * 0.01 / math.sqrt(3)   # seeds 0.49, 0.50, 0.51
  assert f"{half:.2f}" == "0.02"
  assert line == (
      "- **Population gap** (distance of the means over the pooled spread; "
      "fitted on both): 2.00 in the original space; in 3-D autoencoder 0.50 "
      "± 0.02, PCA(50) → AE 0.50 ± 0.02.")
