"""The benchmark entry point: dispatch, and `metrics --quick` end to end."""

from embtrans.bench import __main__ as bench_main
from embtrans.bench import known_benchmarks


def test_unknown_benchmark_lists_known_ones(capsys):
  assert bench_main.main(["no_such_bench"]) == 2
  err = capsys.readouterr().err
  assert "Unknown benchmark 'no_such_bench'" in err and "metrics" in err
  assert bench_main.main([]) == 2
  assert "metrics" in known_benchmarks()


def test_metrics_quick_end_to_end(capsys):
  assert bench_main.main(["metrics", "--quick"]) == 0
  out = capsys.readouterr().out
  rows = [line for line in out.splitlines() if line.startswith("| ")]
  kernels = [row.split(" | ")[0][2:] for row in rows]
  for name in ["linear_cka", "rbf_cka", "streaming_linear_cka (host input)",
               "cknna k=10", "svcca cca_dim=10", "knn_indices k=10",
               "knn_edit_distance k=10", "knn_edit_similarity k=10",
               "lcs_knn k=10", "cycle_knn k=10", "recall_at_k (1,5,10)",
               "alignment_accuracy pool=200", "recall_at_k (block 256)",
               "knn_indices k=10 (block 512)", "cknna k=10 (block 512)"]:
    assert name in kernels, name
  # Every timing row has a positive speedup and matmul time.
  timing = rows[1:kernels.index("kernel", 1)]
  assert len(timing) == 19
  for row in timing:
    cells = row.strip("| ").split(" | ")
    assert float(cells[8].rstrip("x").replace(",", "")) > 0, row
    assert float(cells[9].replace(",", "")) > 0, row
  assert "Peak memory" in out


def test_metrics_only_selects_rows(capsys):
  assert bench_main.main(["metrics", "--quick", "--skip_memory",
                          "--only=lcs,rank"]) == 0
  rows = [line for line in capsys.readouterr().out.splitlines()
          if line.startswith("| ")]
  assert [row.split(" | ")[0][2:] for row in rows[1:]] == [
      "knn_rank_agreement k=10", "lcs_knn k=10"]
