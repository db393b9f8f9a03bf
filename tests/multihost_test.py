"""Real processes on loopback: 2 processes x 2 fake CPU devices vs 1 x 4.

Each multi-process run goes through launch/local_multiprocess.sh (or its
environment, for the kill test): jax.distributed over 127.0.0.1, gloo CPU
collectives, one global 4-device mesh. The reference runs in this test
process, which has 4 fake devices (conftest.py).
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from embtrans import sharding
from embtrans import sweeps
from embtrans import train
from embtrans.data import build
from embtrans.data import format as fmt
from tests import helpers

MAIN_ARG = "tiny=True,a=minilm_static,b=tfidf_lsa"
SWEEP_ARG = "tiny=True,spaces=minilm_static+tfidf_lsa,archs=linear"
VOLATILE = ("seconds", "per_sec", "time", "load")


def _env(devices: int, **extra) -> dict[str, str]:
  return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHON": sys.executable,
          **extra,
          "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}


def _launch(module: str, args: list[str]) -> subprocess.CompletedProcess:
  proc = subprocess.run(
      ["launch/local_multiprocess.sh", "2", module, *args], cwd=helpers.ROOT,
      env=_env(2), capture_output=True, text=True, timeout=900)
  assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
  return proc


def _assert_same_scores(got: dict, want: dict, where: str) -> None:
  keys = [k for k, v in want.items() if isinstance(v, float)
          and not any(s in k for s in VOLATILE)]
  assert keys, where
  for k in keys:
    assert got[k] == pytest.approx(want[k], rel=1e-5, abs=1e-6), (where, k)


def _main_config():
  return helpers.load_config("mlp8x", MAIN_ARG)


@pytest.fixture(scope="module")
def main_reference(tmp_path_factory):
  """The tiny default translator run in one process on 4 devices."""
  work = tmp_path_factory.mktemp("one_process_main")
  return train.train_and_evaluate(_main_config(), str(work))


def test_distributed_mode_is_off_for_a_plain_run():
  assert sharding.distributed_mode({}) is None
  assert sharding.distributed_mode({"SLURM_PROCID": "0",
                                    "SLURM_NTASKS": "1"}) is None
  assert sharding.distributed_mode({"SLURM_PROCID": "1",
                                    "SLURM_NTASKS": "4"}) == "auto"
  assert sharding.distributed_mode({"EMBTRANS_DISTRIBUTED": "1"}) == "auto"
  assert sharding.distributed_mode(
      {"EMBTRANS_COORDINATOR": "h:1"}) == "explicit"


def test_two_processes_train_what_one_process_trains(main_reference,
                                                     tmp_path):
  proc = _launch("embtrans.main", [f"--config=configs/mlp8x.py:{MAIN_ARG}",
                                   f"--workdir={tmp_path}"])
  got = json.loads((tmp_path / "results.json").read_text())
  _assert_same_scores(got, main_reference, "main")
  # Process 0 alone reports and writes.
  assert "[p0] Wrote" in proc.stdout and "[p1] Wrote" not in proc.stdout
  assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
  # The report and the export of that run: process 0 writes, the other
  # waits for it; both end together.
  out = tmp_path / "report"
  proc = _launch("embtrans.report", [str(tmp_path), f"--out={out}",
                                     "--noumap"])
  assert "[p0] Wrote" in proc.stdout and "[p1] Wrote" not in proc.stdout
  assert (out / "README.md").is_file()
  proc = _launch("embtrans.translate", [
      "export", f"--workdir={tmp_path}", f"--out={tmp_path / 'exported'}"])
  assert "[p0] Wrote" in proc.stdout and "[p1] Wrote" not in proc.stdout
  assert (tmp_path / "exported").is_dir()


def test_two_processes_sweep_what_one_process_sweeps(tmp_path):
  config = str(helpers.ROOT / "configs" / "grid.py")
  sweeps.run(config, SWEEP_ARG, str(tmp_path / "one"), print_fn=lambda s: None)
  _launch("embtrans.sweep", [f"--config=configs/grid.py:{SWEEP_ARG}",
                             f"--workdir={tmp_path / 'two'}"])
  cells = sorted(p.name for p in (tmp_path / "one" / "cells").iterdir())
  assert cells == sorted(p.name for p in (tmp_path / "two" / "cells").iterdir())
  assert len(cells) == 6  # 2 directions x (linear, lstsq, procrustes).
  for cell in cells:
    read = lambda w: json.loads(  # pylint: disable=g-long-lambda
        (tmp_path / w / "cells" / cell / "results.json").read_text())
    _assert_same_scores(read("two"), read("one"), cell)
  for log in (tmp_path / "two" / "cells").glob("*/seed_0"):
    assert len(list(log.glob("events.out.tfevents.*"))) <= 1, log


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _committed_checkpoint(work: pathlib.Path) -> bool:
  return any(p.name.isdigit() for p in work.glob("checkpoints/*"))


def test_a_killed_process_stops_the_other_and_a_rerun_resumes(
    main_reference, tmp_path):
  work = tmp_path / "run"
  args = [sys.executable, "-m", "embtrans.main",
          f"--config=configs/mlp8x.py:{MAIN_ARG}", f"--workdir={work}"]
  port = _free_port()
  procs = [subprocess.Popen(
      args, cwd=helpers.ROOT, stdout=subprocess.DEVNULL,
      stderr=subprocess.PIPE, text=True, env=_env(
          2, EMBTRANS_COORDINATOR=f"127.0.0.1:{port}",
          EMBTRANS_NUM_PROCESSES="2", EMBTRANS_PROCESS_ID=str(i),
          EMBTRANS_HEARTBEAT_TIMEOUT_S="5")) for i in range(2)]
  deadline = time.time() + 600
  while not _committed_checkpoint(work):  # The first of 3 (steps 20/40/60).
    assert procs[0].poll() is None and time.time() < deadline, "no checkpoint"
    time.sleep(0.05)
  procs[1].kill()
  killed = time.time()
  _, err = procs[0].communicate(timeout=300)
  waited = time.time() - killed
  procs[1].wait()
  assert procs[0].returncode != 0
  assert "another task died" in err, err[-2000:]
  assert waited < 120, waited  # Bounded by the heartbeat timeout, no hang.
  assert not (work / "results.json").exists()  # Killed partway.
  _launch("embtrans.main", args[3:])
  assert "Resumed from checkpoint step" in (work / "log.txt").read_text()
  _assert_same_scores(json.loads((work / "results.json").read_text()),
                      main_reference, "resumed")


def test_two_processes_embed_what_one_process_embeds(tmp_path):
  words = ("harbour kettle garden river engine violin orchard lantern "
           "bicycle meadow bread ladder copper willow signal marble").split()
  rows = [{"id": f"n{i}", "text": f"the {words[i % 16]} by the "
                                  f"{words[i // 16]} and a {words[i * 7 % 16]}"}
          for i in range(120)]
  notes = tmp_path / "notes.jsonl"
  notes.write_text("".join(json.dumps(r) + "\n" for r in rows))
  arg = f"path={notes},encoder=tfidf_lsa,lsa_dim=16,batch_size=16,shard_rows=32"
  one = build.build_dataset(
      "files", "tfidf_lsa", source_kwargs={"path": str(notes)},
      encoder_kwargs={"dim": 16}, output=tmp_path / "one", batch_size=16,
      shard_rows=32)
  proc = _launch("embtrans.embed", [f"--config=configs/embed/files.py:{arg}",
                                    f"--output={tmp_path / 'two'}"])
  two = fmt.open_dataset(tmp_path / "two")
  assert list(two.ids) == list(one.ids)
  np.testing.assert_allclose(np.asarray(two.vectors), np.asarray(one.vectors),
                             rtol=1e-6, atol=1e-6)
  assert list(two.column("text")) == list(one.column("text"))
  assert two.manifest["build"]["processes"] == 2
  assert two.manifest["build"]["rows_per_process"] == [[0, 60], [60, 120]]
  # Process 0 alone printed the summary.
  assert "[p0]   rows         120 (" in proc.stdout, proc.stdout[-2000:]
  assert "[p1]   rows" not in proc.stdout
  assert "2 processes" in proc.stdout
  assert not list(tmp_path.glob("two.part*"))
