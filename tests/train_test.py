"""End to end: train, resume, device-count invariance, and bad input."""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from embtrans import checkpointing
from embtrans import train
from embtrans.data import format as fmt
from embtrans.engine import loop
from tests import helpers


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """The tiny mlp8x config on the real default data (MiniLM -> TF-IDF LSA)."""
  config = helpers.load_config("mlp8x", "tiny=True")
  workdir = tmp_path_factory.mktemp("tiny")
  return config, workdir, train.train_and_evaluate(config, str(workdir))


def _losses(workdir):
  rows = [json.loads(l) for l in (workdir / "metrics.jsonl").open()]
  return [r["train/loss"] for r in rows if "train/loss" in r]


def test_tiny_run_beats_the_closed_forms_and_writes_everything(tiny_run):
  _, workdir, results = tiny_run
  saved = json.loads((workdir / "results.json").read_text())
  assert saved == pytest.approx(results)
  for key in ("test/mse", "test/cosine", "test/recall@1", "test/recall@5",
              "test/recall@10", "test/mean_rank", "baseline_lstsq/mse",
              "baseline_procrustes/recall@1"):
    assert np.isfinite(results[key]), key
  assert results["test/recall@1"] > 10 * results["test/chance_recall@1"]
  # Tied to the closed forms fitted on the same train rows (measured: MSE
  # 0.0028 vs lstsq 0.0175 and Procrustes 0.0077; Recall@1 0.742 vs
  # Procrustes 0.722 and lstsq 0.619; R^2 0.22).
  assert results["test/mse"] < min(results["baseline_lstsq/mse"],
                                   results["baseline_procrustes/mse"])
  assert results["test/recall@1"] > max(
      results["baseline_procrustes/recall@1"],
      results["baseline_lstsq/recall@1"]) - 0.05
  assert results["test/r2"] > 0
  losses = _losses(workdir)
  assert losses[-1] < 0.5 * losses[0]
  assert (workdir / "config.json").is_file()
  assert list(workdir.glob("events.out.tfevents.*"))
  assert sorted(int(p.name) for p in (workdir / "checkpoints").iterdir()
                if p.name.isdigit()) == [20, 40, 60]


def test_one_device_equals_four(tiny_run, tmp_path):
  config, _, results4 = tiny_run
  assert jax.device_count() == 4
  config1 = config.copy_and_resolve_references()
  config1.num_devices = 1
  results1 = train.train_and_evaluate(config1, str(tmp_path))
  for key in ("test/mse", "test/cosine", "test/mean_rank"):
    assert results1[key] == pytest.approx(results4[key], rel=1e-4), key
  assert abs(results1["test/recall@1"] - results4["test/recall@1"]) <= 0.011


def _main_cmd(workdir, *flags):
  return [sys.executable, "-m", "embtrans.main",
          "--config=configs/mlp8x.py:tiny=True", f"--workdir={workdir}",
          *flags]


KILL_FLAGS = ("--config.num_train_steps=400", "--config.checkpoint_every=100",
              "--config.log_every=100")


def test_kill_9_then_resume_equals_uninterrupted(tmp_path):
  # One device: resuming does not depend on the device count, and one CPU
  # device runs these steps several times faster than four fake ones.
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  run = lambda work: subprocess.Popen(  # pylint: disable=g-long-lambda
      _main_cmd(work, *KILL_FLAGS), cwd=helpers.ROOT, env=env, text=True,
      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  ref, victim, work = run(tmp_path / "ref"), run(tmp_path / "killed"), (
      tmp_path / "killed")
  deadline = time.time() + 300
  while not (work / "checkpoints" / "100").is_dir():
    assert victim.poll() is None and time.time() < deadline
    time.sleep(0.01)
  victim.send_signal(signal.SIGKILL)
  victim.communicate()
  assert not (work / "results.json").exists(), "run ended before the kill"
  assert ref.wait() == 0, ref.communicate()[1][-3000:]
  resumed = subprocess.run(_main_cmd(work, *KILL_FLAGS), cwd=helpers.ROOT,
                           env=env, capture_output=True, text=True)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  # INFO lines go to the workdir's log, not the console.
  assert "Resumed from checkpoint step" in (work / "log.txt").read_text()
  assert "Resumed from checkpoint step" not in resumed.stderr
  a = json.loads((tmp_path / "ref" / "results.json").read_text())
  b = json.loads((work / "results.json").read_text())
  assert a == pytest.approx(b, rel=1e-6, abs=1e-7)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
  config = helpers.load_config("mlp8x", "tiny=True")
  real = loop._window  # pylint: disable=protected-access

  def poisoned(step, metrics, since):
    w = real(step, metrics, since)
    first = w.step - w.steps + 1
    if first <= 26 <= w.step:  # The loss of step 26 comes back as NaN.
      w.losses[26 - first, 0] = np.nan
    return w

  monkeypatch.setattr(loop, "_window", poisoned)
  with pytest.raises(train.TrainingDivergedError,
                     match=r"nan at step 26.*last good checkpoint \(step 20"):
    train.train_and_evaluate(config, str(tmp_path))
  steps = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
  assert steps == ["20"]
  assert not (tmp_path / "results.json").exists()


def test_corrupt_checkpoint_is_reported_and_left_in_place(tiny_run, tmp_path):
  config, workdir, _ = tiny_run
  copy = tmp_path / "run"
  shutil.copytree(workdir, copy)
  damaged = [p for p in (copy / "checkpoints" / "60").rglob("*")
             if p.is_file()]
  for p in damaged:
    p.write_bytes(b"\x00garbage")
  with pytest.raises(checkpointing.CheckpointError,
                     match=r"step 60.*resume from step 40"):
    train.train_and_evaluate(config, str(copy))
  assert all(p.read_bytes() == b"\x00garbage" for p in damaged)


def test_workdir_of_another_config_is_refused(tiny_run, tmp_path):
  config, workdir, _ = tiny_run
  copy = tmp_path / "run"
  shutil.copytree(workdir, copy)
  other = config.copy_and_resolve_references()
  other.optimizer.learning_rate = 0.5
  with pytest.raises(ValueError, match="different config.*learning_rate"):
    train.train_and_evaluate(other, str(copy))


def _synthetic_config(a, b, **overrides):
  config = helpers.load_config("linear", "tiny=True")
  config.data.a, config.data.b = str(a), str(b)
  for key, value in overrides.items():
    config[key] = value
  return config


def test_unpaired_ids_fail_before_writing(tmp_path):
  helpers.random_dataset(tmp_path / "a", 50, 4, prefix="a")
  helpers.random_dataset(tmp_path / "b", 50, 4, prefix="b")
  work = tmp_path / "work"
  with pytest.raises(fmt.DatasetError, match="No ids in common"):
    train.train_and_evaluate(_synthetic_config(tmp_path / "a", tmp_path / "b"),
                             str(work))
  assert not work.exists()


def test_changed_dims_on_resume_are_reported(tmp_path):
  ids = [f"x{i}" for i in range(120)]
  helpers.random_dataset(tmp_path / "a", 0, 4, ids=ids)
  helpers.random_dataset(tmp_path / "b", 0, 3, ids=ids, seed=1)
  config = _synthetic_config(tmp_path / "a", tmp_path / "b",
                             num_train_steps=5, checkpoint_every=5,
                             log_every=5, batch_size=8)
  train.train_and_evaluate(config, str(tmp_path / "work"))
  helpers.random_dataset(tmp_path / "b", 0, 6, ids=ids, seed=1)
  with pytest.raises(ValueError, match=r"different data.*target_dim: 3 -> 6"):
    train.train_and_evaluate(config, str(tmp_path / "work"))


def test_unknown_model_name_fails_before_writing(tmp_path):
  config = helpers.load_config("linear", "tiny=True")
  config.model.name = "transformer"
  with pytest.raises(ValueError, match="Unknown model 'transformer'.*linear"):
    train.train_and_evaluate(config, str(tmp_path / "work"))
  assert not (tmp_path / "work").exists()


def test_unknown_dataset_name_fails_before_building_the_other(tmp_path):
  config = helpers.load_config("linear", "tiny=True")
  config.data.cache_dir = str(tmp_path / "cache")
  config.data.b = "minilm_statik"
  with pytest.raises(ValueError, match="'minilm_statik' is neither.*"
                     "minilm_static"):
    train.train_and_evaluate(config, str(tmp_path / "work"))
  assert not list((tmp_path / "cache").glob("*"))
  assert not (tmp_path / "work").exists()


def test_cli_reports_unknown_config_key_and_data_errors(tmp_path):
  bad_key = subprocess.run(
      _main_cmd(tmp_path / "w", "--config.optimizer.learning_rat=0.1"),
      cwd=helpers.ROOT, capture_output=True, text=True)
  assert bad_key.returncode != 0
  assert "learning_rat" in bad_key.stderr
  missing = subprocess.run(
      _main_cmd(tmp_path / "w", f"--config.data.a={tmp_path}/missing"),
      cwd=helpers.ROOT, capture_output=True, text=True)
  assert missing.returncode == 1
  assert "embtrans.main: error:" in missing.stderr
  assert "missing' is neither an embedding-dataset directory" in missing.stderr
  assert "Traceback" not in missing.stderr
  assert not pathlib.Path(tmp_path / "w").exists()
