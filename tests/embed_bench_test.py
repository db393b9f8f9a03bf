"""`python -m embtrans.bench embed open_rss | disk` on a small synthetic set."""

import re

from embtrans.bench import __main__ as bench


def test_open_rss_then_disk_report_the_dataset_they_wrote(tmp_path, capsys):
  assert bench.main(["embed", "open_rss", "--rows=5000", "--dim=16",
                     f"--dir={tmp_path}", "--read_rows=100"]) in (0, None)
  out = capsys.readouterr().out
  path = tmp_path / "synthetic-5000x16"
  size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
  assert f"{size / 2**30:.2f} GiB on disk" in out
  assert "100 random rows" in out and "a 2500-row slice" in out
  stages = [line.split(" | ") for line in out.splitlines()
            if line.split(" | ")[0] in ("start", "imports", "opened", "read",
                                       "sliced")]
  assert [s[0] for s in stages] == ["start", "imports", "opened", "read",
                                    "sliced"]
  peaks = [float(s[1]) for s in stages]
  assert peaks == sorted(peaks) and peaks[0] > 0  # A peak never falls.

  assert bench.main(["embed", "disk", f"--dataset={path}"]) in (0, None)
  out = capsys.readouterr().out
  vectors = sum(p.stat().st_size for p in (path / "vectors").glob("*.npy"))
  row = re.search(r"^vectors/\*\.npy \| ([\d,]+) \| ([\d,]+)$", out, re.M)
  assert row, out
  assert int(row.group(1).replace(",", "")) == vectors
  assert int(row.group(2).replace(",", "")) == round(vectors * 1000 / 5000)
  assert "5000 rows x 16 float32" in out
