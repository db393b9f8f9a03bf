"""`python -m embtrans.bench grid --quick` runs both paths and prints ratios."""

import re
import subprocess
import sys

import pytest

from tests import helpers


def test_quick_grid_benchmark_prints_both_paths_and_consistent_ratios():
  proc = subprocess.run([sys.executable, "-m", "embtrans.bench", "grid",
                         "--quick"], cwd=helpers.ROOT, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  rows = {m.group(1): m for m in re.finditer(
      r"^(\S+)\s+(\d+)\s+(\d*)\s*\|\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x \|"
      r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x$", proc.stdout, re.M)}
  assert len(rows) == 3 and "total" in rows, proc.stdout
  for m in rows.values():
    grid_s, seq_s, ratio = (float(m.group(k)) for k in (4, 5, 6))
    assert grid_s > 0 and seq_s > 0
    # Seconds print with 2 decimals: allow their rounding (+-0.005 each)
    # and the ratio's own (+-0.005).
    slack = 0.005 + ratio * 0.005 * (1 / grid_s + 1 / seq_s) * 1.01
    assert abs(ratio - seq_s / grid_s) <= slack, (ratio, seq_s, grid_s)
  assert int(rows["total"].group(2)) == 4   # 2 programs x 2 members


def test_steady_mode_times_the_stacked_chunk_and_each_member_alone(tmp_path):
  from embtrans import sharding  # pylint: disable=g-import-not-at-top
  from embtrans.bench import grid  # pylint: disable=g-import-not-at-top
  spaces = "+".join(grid.synthetic_spaces(tmp_path, n=400, dim=16))
  groups = grid._groups("linear", spaces, 20)  # pylint: disable=protected-access
  assert [len(g.cells) for g in groups] == [2]   # 0->1 and 1->0, one shape
  stacked, alone = grid.steady_group(groups[0], sharding.make_mesh(1))
  assert stacked > 0 and alone > 0
  text = grid.steady_table([("p", 2, stacked, alone), ("q", 3, 2.0, 3.0)])
  last = text.splitlines()[-1].split()
  assert last[:2] == ["total", "5"], text
  assert float(last[-1].rstrip("x")) == pytest.approx(
      (alone + 3.0) / (stacked + 2.0), abs=0.006)
