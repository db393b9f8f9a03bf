"""`python -m embtrans.report W` on a tiny sweep writes every file."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from embtrans import sweeps
from embtrans.report import findings
from embtrans.report import searches
from embtrans.report import tables
from tests import helpers
from tests import sweep_helpers


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
  spaces = sweep_helpers.related_spaces(tmp_path_factory.mktemp("spaces"))
  workdir = tmp_path_factory.mktemp("grid")
  sweeps.run(str(helpers.ROOT / "configs" / "grid.py"),
             f"spaces={'+'.join(spaces)},archs=linear,tiny=True", str(workdir))
  return workdir


def test_report_command_writes_every_file(swept, tmp_path):
  out = tmp_path / "report"
  proc = subprocess.run(
      [sys.executable, "-m", "embtrans.report", str(swept), f"--out={out}"],
      cwd=helpers.ROOT, capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr[-3000:]
  # The files the README links to, listed here (not read from the code).
  for name in ("results.csv", "README.md", "mse_vs_width.png",
               "recall1_vs_width.png", "loss_curves.png", "umap.png",
               "umap.html", "kernels.png"):
    path = out / name
    assert path.is_file() and path.stat().st_size > 0, name
    if name.endswith(".png"):
      assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
  with open(out / "results.csv", newline="") as f:
    rows = list(csv.DictReader(f))
  members = sorted(p.parent.name for p in swept.glob("cells/*/results.json"))
  assert len(rows) == len(members) == 2 + 4   # linear x 2 + closed-form
  for column in ("source", "target", "arch", "layers", "width", "params",
                 "steps", "train_seconds", "test/mse", "test/recall@1",
                 "test/cka/linear_cka", "test/knn/mutual_knn@10",
                 "test/retrieval_overlap@10", "val/recall@1", "val/r2",
                 "test/platonic/cknna@10", "test/svcca/svcca@8"):
    assert column in rows[0], column
  by_member = {r["member"]: r for r in rows}
  for key in members:
    saved = json.loads((swept / "cells" / key / "results.json").read_text())
    row = by_member[key]
    assert float(row["test/mse"]) == pytest.approx(saved["test/mse"])
  readme = (out / "README.md").read_text()
  for text in ("Grid wall time", "## Answers", "Test MSE", "Recall@1",
               "mutual-kNN@10", "CKA", "Retrieval overlap@10",
               "## Example searches", "**Search 3.**", "(umap.png)",
               "### CKNNA@10", "### SVCCA@8", "validation split",
               "chosen on val"):
    assert text in readme, text
  assert "/tmp" not in readme and str(swept) not in readme
  for name in ("mse_vs_width.png", "recall1_vs_width.png", "loss_curves.png",
               "kernels.png"):
    assert f"({name})" in readme, name
  page = (out / "umap.html").read_text()  # Interactive, texts on hover.
  assert "scattergl" in page and "translated (" in page
  assert "(umap.html)" in readme


def test_example_searches_match_a_numpy_reference():
  rng = np.random.default_rng(0)
  target = rng.standard_normal((30, 4))
  translated = target + 0.8 * rng.standard_normal((30, 4))
  overlap, true_top, trans_top = searches.per_query_overlap(translated,
                                                            target, 5)
  unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
  for i in range(30):
    ref_true = np.argsort(-(unit(target) @ unit(target)[i]))[:5]
    ref_trans = np.argsort(-(unit(target) @ unit(translated[i:i + 1])[0]))[:5]
    np.testing.assert_array_equal(true_top[i], ref_true)
    np.testing.assert_array_equal(trans_top[i], ref_trans)
    assert overlap[i] == len(set(ref_true) & set(ref_trans)) / 5
    assert true_top[i, 0] == i  # A document is its own best match.
  picked = searches.pick_examples(translated, target, k=5)
  assert [p.overlap for p in picked] == sorted(
      [p.overlap for p in picked], reverse=True)


def test_pivot_marks_the_best_cell_and_keeps_missing_cells():
  rows = [dict(source="a", target="b", arch="linear", **{"test/mse": 2.0}),
          dict(source="a", target="b", arch="lstsq", **{"test/mse": 1.0}),
          dict(source="b", target="a", arch="linear", **{"test/mse": 3.0})]
  table = tables.pivot(rows, "test/mse", ".1f", best="min")
  assert "| a → b | 2.0 | **1.0** |" in table
  assert "| b → a | **3.0** | — |" in table


def _row(source, target, arch, kind="trained", steps=150, lr=1e-2, **scores):
  """A grid row; scores: key (with '/' written as '__') -> seed values."""
  row = dict(source=source, target=target, arch=arch, kind=kind,
             steps=steps, batch_size=256, num_train=1000,
             learning_rate=lr, key=f"{source}->{target}~{arch}")
  for key, values in scores.items():
    key = key.replace("__", "/")
    row[key] = float(np.mean(values))
    if kind == "trained":
      row.update({f"seed_{s}/{key}": v for s, v in enumerate(values)})
  return row


def _pair_rows(val_linear, test_linear, val_mlp, test_mlp):
  return [
      _row("a", "b", "linear", val__recall_at_1=val_linear,
           test__recall_at_1=test_linear),
      _row("a", "b", "mlp1_w1", val__recall_at_1=val_mlp,
           test__recall_at_1=test_mlp)]


def _fix(rows):
  for r in rows:  # '@' cannot be in a keyword argument.
    for k in list(r):
      if "_at_" in k:
        r[k.replace("_at_", "@")] = r.pop(k)
  return rows


def test_t_interval_matches_the_closed_form():
  # n = 3, mean 2, s = 1: half-width t(0.975, 2) / sqrt(3), t = 4.302653.
  m, hw = tables.t_interval([1.0, 2.0, 3.0])
  assert m == pytest.approx(2.0)
  assert hw == pytest.approx(4.302652729911275 / np.sqrt(3), rel=1e-9)
  assert np.isnan(tables.t_interval([1.0])[1])
  row = _fix([_row("a", "b", "linear", test__recall_at_1=[0.5, 0.6, 0.7])])[0]
  assert tables.interval(row, "test/recall@1") == pytest.approx(
      (0.6, 0.1 * 4.302652729911275 / np.sqrt(3)))


def test_the_member_is_chosen_on_val_even_when_test_disagrees():
  # Validation prefers linear, test prefers the MLP: the choice is linear.
  rows = _fix(_pair_rows([0.9, 0.91, 0.92], [0.50, 0.50, 0.51],
                         [0.80, 0.80, 0.81], [0.70, 0.71, 0.70]))
  assert findings.chosen(rows) == {("a", "b"): "linear"}
  table = findings.chosen_table(rows)
  assert "| a → b | linear | 0.910 ± 0.025 | 0.503 ± 0.014 |" in table
  assert "| 1L 1× |" in table  # the arch test would have picked
  summary = findings.choice_summary(rows)[0]
  assert "on 0/1 pairs" in summary and "0.2000 below" in summary
  # Swap the validation scores: the choice and the sentence follow.
  rows = _fix(_pair_rows([0.80, 0.80, 0.81], [0.50, 0.50, 0.51],
                         [0.9, 0.91, 0.92], [0.70, 0.71, 0.70]))
  assert findings.chosen(rows) == {("a", "b"): "mlp1_w1"}
  assert "on 1/1 pairs." in findings.choice_summary(rows)[0]


def _directions(val_ab, test_ab, val_ba, test_ba):
  return [_row(s, t, "linear", val__r2=v, test__r2=te,
               val__recall_at_1=[0.5] * 3, test__recall_at_1=[0.5] * 3)
          for s, t, v, te in (("a", "b", val_ab, test_ab),
                              ("b", "a", val_ba, test_ba))]


def test_the_easier_direction_is_decided_on_val():
  rows = _fix(_directions([0.60, 0.61, 0.62], [0.40, 0.41, 0.40],
                          [0.50, 0.50, 0.51], [0.55, 0.56, 0.55]))
  lines = findings.direction(rows)
  assert "agree on the direction with the higher R² for 0/1" in lines[0]
  assert lines[1].startswith("- a → b is easier than b → a by validation R²"
                             " (0.610 vs 0.503")
  assert "the other order, intervals apart" in lines[1]
  rows = _fix(_directions([0.40, 0.41, 0.42], [0.40, 0.41, 0.40],
                          [0.50, 0.50, 0.51], [0.55, 0.56, 0.55]))
  lines = findings.direction(rows)
  assert "for 1/1" in lines[0]
  assert lines[1].startswith("- b → a is easier than a → b")
  assert "the same order, intervals apart" in lines[1]


def test_arch_comparisons_follow_the_numbers_and_budgets():
  def rows(mlp_r2, steps=150):
    return _fix([
        _row("a", "b", "mlp1_w1", test__r2=[0.30, 0.31, 0.32],
             test__recall_at_1=[0.5] * 3),
        _row("a", "b", "mlp1_w8", steps=steps, lr=3e-3, test__r2=mlp_r2,
             test__recall_at_1=[0.5] * 3)])
  line = findings.width(rows([0.35, 0.36, 0.37]))[0]
  assert "equal budgets (150 steps at batch 256, 38.4 epochs each)" in line
  assert "peak lr 0.01 vs 0.003" in line
  assert "test R² +0.0500 (higher on 1, lower on 0, interval across 0 on 0)" \
      in line
  line = findings.width(rows([0.20, 0.21, 0.22]))[0]
  assert "test R² -0.1000 (higher on 0, lower on 1," in line
  line = findings.width(rows([0.20, 0.40, 0.30], steps=50))[0]
  assert "unequal budgets (38.4 vs 12.8 epochs" in line
  assert "interval across 0 on 1" in line
