"""Launch scripts: valid bash, and the commands they would run."""

import os
import subprocess

import pytest

from tests import helpers

SCRIPTS = sorted((helpers.ROOT / "launch").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_is_valid_bash_and_executable(script):
  subprocess.run(["bash", "-n", str(script)], check=True)
  assert os.access(script, os.X_OK)


def _dry_run(args, **env):
  return subprocess.run(
      args, cwd=helpers.ROOT, capture_output=True, text=True, check=True,
      env={**os.environ, "EMBTRANS_DRY_RUN": "1", **env}).stdout


def test_gpu_hosts_gives_each_host_its_process_id():
  out = _dry_run(["launch/gpu_hosts.sh", "embtrans.main",
                  "--config=configs/mlp32x.py:layers=2", "--workdir=/s/r 1"],
                 HOSTS="g0 g1 g2", EMBTRANS_PORT="4321")
  lines = out.strip().splitlines()
  assert len(lines) == 3
  for i, line in enumerate(lines):
    assert line.startswith(f"ssh g{i} ")
    assert "EMBTRANS_COORDINATOR=g0:4321" in line
    assert f"EMBTRANS_PROCESS_ID={i}" in line
    assert "EMBTRANS_NUM_PROCESSES=3" in line
    assert "configs/mlp32x.py:layers=2" in line


def test_tpu_vm_runs_the_module_on_every_worker():
  out = _dry_run(["launch/tpu_vm.sh", "tpu1", "zone-a", "run",
                  "embtrans.sweep", "--config=configs/grid.py"])
  assert "--worker=all" in out
  assert "EMBTRANS_DISTRIBUTED=1 python -m embtrans.sweep" in out
  bad = subprocess.run(["launch/tpu_vm.sh", "tpu1", "zone-a", "deploy"],
                       cwd=helpers.ROOT, capture_output=True, text=True)
  assert bad.returncode == 2 and "usage" in bad.stderr


def test_slurm_runs_the_module_under_srun():
  out = _dry_run(["launch/slurm.sh", "embtrans.sweep",
                  "--config=configs/grid.py", "--workdir=/s/g 1"])
  assert out.startswith("srun --kill-on-bad-exit=1 python -m embtrans.sweep ")
  assert "--workdir=/s/g\\ 1" in out
  bad = subprocess.run(["launch/slurm.sh"], cwd=helpers.ROOT,
                       capture_output=True, text=True)
  assert bad.returncode != 0 and "usage" in bad.stderr

