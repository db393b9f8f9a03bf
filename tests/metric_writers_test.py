"""metrics.jsonl keeps every row written, even if the process dies."""

import json
import os
import subprocess
import sys

from embtrans import metric_writers
from tests import helpers


def test_each_row_reaches_the_file_before_close(tmp_path):
  writer = metric_writers.JsonlWriter(str(tmp_path))
  writer.write_hparams({"lr": 0.1})
  writer.write_scalars(3, {"loss": 0.5})
  rows = [json.loads(line) for line in
          (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert rows[0] == {"hparams": {"lr": 0.1}}
  assert rows[1]["step"] == 3 and rows[1]["loss"] == 0.5
  writer.close()


def test_rows_survive_a_kill(tmp_path):
  code = ("import os, signal\n"
          "from embtrans import metric_writers\n"
          f"w = metric_writers.JsonlWriter({str(tmp_path)!r})\n"
          "for step in range(3):\n"
          "  w.write_scalars(step, {'loss': 1.0 / (step + 1)})\n"
          "os.kill(os.getpid(), signal.SIGKILL)\n")
  proc = subprocess.run([sys.executable, "-c", code], cwd=helpers.ROOT,
                        check=False, env={**os.environ, "PYTHONPATH": str(
                            helpers.ROOT)})
  assert proc.returncode == -9
  steps = [json.loads(line)["step"] for line in
           (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert steps == [0, 1, 2]


def test_a_resumed_writer_drops_the_rows_past_its_resume_step(tmp_path):
  first = metric_writers.JsonlWriter(str(tmp_path))
  first.write_hparams({"lr": 0.1})
  for step in (5, 10, 15):  # Killed after step 15; saved state at step 10.
    first.write_scalars(step, {"loss": 1.0 / step})
  first.close()
  with open(tmp_path / "metrics.jsonl", "a", encoding="utf-8") as f:
    f.write('{"step": 20, "lo')  # A row cut by the kill.
  resumed = metric_writers.JsonlWriter(str(tmp_path), keep_through=10)
  resumed.write_scalars(15, {"loss": 0.5})
  resumed.close()
  rows = [json.loads(line) for line in
          (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert rows[0] == {"hparams": {"lr": 0.1}}
  assert [r["step"] for r in rows[1:]] == [5, 10, 15]
  assert rows[-1]["loss"] == 0.5
