"""`python -m embtrans.report W` on a tiny sweep writes every file."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from embtrans import sweeps
from embtrans.report import grid
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
  for name in ("results.csv", "README.md") + grid.FIGURES:
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
                 "test/retrieval_overlap@10"):
    assert column in rows[0], column
  by_member = {r["member"]: r for r in rows}
  for key in members:
    saved = json.loads((swept / "cells" / key / "results.json").read_text())
    row = by_member[key]
    assert float(row["test/mse"]) == pytest.approx(saved["test/mse"])
  readme = (out / "README.md").read_text()
  for text in ("Grid wall time", "## Answers", "Test MSE", "Recall@1",
               "mutual-kNN@10", "CKA", "Retrieval overlap@10",
               "## Example searches", "**Search 3.**", "(umap.png)"):
    assert text in readme, text


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
