"""`python -m embtrans.bench grid --quick` runs both paths and prints ratios."""

import re
import subprocess
import sys

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
