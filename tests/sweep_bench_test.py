"""`python -m embtrans.bench grid --quick` runs both paths and prints ratios."""

import re

from embtrans.bench import grid as grid_bench


def test_quick_benchmark_prints_both_paths_and_ratios(capsys):
  assert grid_bench.main(["--quick"]) == 0
  out = capsys.readouterr().out
  rows = {m.group(1): m for m in re.finditer(
      r"^(\S+)\s+(\d+)\s+(\d*)\s*\|\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x \|"
      r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x$", out, re.M)}
  assert set(rows) == {"linear-48x48", "mlp1_w1-48x48", "total"}, out
  for m in rows.values():
    grid_s, seq_s, ratio = (float(m.group(k)) for k in (4, 5, 6))
    assert grid_s > 0 and seq_s > 0
    assert abs(ratio - seq_s / grid_s) < 0.01 + 0.01 * ratio
  assert int(rows["total"].group(2)) == 4   # 2 programs x 2 members
