"""The one sweep runner end to end on synthetic spaces: scores, learning,
skip, a real SIGKILL and resume, dry run, a cell alone = its sweep member."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from embtrans import sweeps
from embtrans import train
from embtrans.report import io as report_io
from tests import helpers
from tests import sweep_helpers

GRID = str(helpers.ROOT / "configs" / "grid.py")
# Timing and bookkeeping keys that legitimately differ between runs.
VOLATILE = {"train_seconds", "program_seconds", "eval_seconds",
            "resumed_from_step"}


def _arg(spaces, archs="linear+mlp1_w1", scale=25):
  return f"spaces={'+'.join(spaces)},archs={archs},tiny=True,steps_scale={scale}"


@pytest.fixture(scope="module")
def spaces(tmp_path_factory):
  return sweep_helpers.related_spaces(tmp_path_factory.mktemp("spaces"))


@pytest.fixture(scope="module")
def reference(spaces, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("grid")
  return workdir, sweeps.run(GRID, _arg(spaces), str(workdir))


def _results(workdir):
  return {p.parent.name: json.loads(p.read_text())
          for p in sorted((workdir / "cells").glob("*/results.json"))}


def test_every_cell_is_scored_and_trained_members_learn(reference):
  workdir, summary = reference
  # 2 spaces of one dim: each arch is one program of both directions.
  trained = [r for r in summary["ran"] if "train_seconds" in r]
  assert sorted(r["members"] for r in trained) == [2, 2]
  results = _results(workdir)
  assert len(results) == 2 * 2 + 2 * 2   # trained + lstsq/procrustes cells
  for name, r in results.items():
    for key in ("test/mse", "test/r2", "test/recall@1", "test/mean_rank",
                "test/cka/linear_cka", "test/cka/source/linear_cka",
                "test/knn/jaccard@10", "test/retrieval_overlap@10"):
      assert r[key] is not None, (name, key)
  for name, r in results.items():
    if r["kind"] != "trained":
      continue
    assert r["steps"] == 500 and r["diverged_members"] == 0
    lstsq = results[name.split("~")[0] + "~lstsq"]
    # Learning thresholds tied to the closed-form reference of the pair
    # (measured: within 1.07x of its MSE and 0.17 of its Recall@1).
    assert r["test/mse"] < 1.2 * lstsq["test/mse"], name
    assert r["test/recall@1"] > lstsq["test/recall@1"] - 0.25, name
    assert r["test/recall@1"] > 10 * r["test/chance_recall@1"], name
    steps, losses = zip(*[(row["step"], row["train/loss"]) for row in map(
        json.loads, (workdir / "cells" / name / "seed_0" /
                     "metrics.jsonl").open())])
    assert steps[-1] == 500 and losses[-1] < 0.5 * losses[0], name


def test_rerun_skips_finished_cells(reference, spaces):
  workdir, _ = reference
  before = {p: p.stat().st_mtime_ns
            for p in (workdir / "cells").glob("*/results.json")}
  summary = sweeps.run(GRID, _arg(spaces), str(workdir))
  assert summary["ran"] == [] and len(summary["skipped"]) == 6
  assert before == {p: p.stat().st_mtime_ns
                    for p in (workdir / "cells").glob("*/results.json")}


def test_dry_run_plans_programs_and_writes_nothing(spaces, tmp_path):
  lines = []
  sweeps.run(GRID, _arg(spaces), str(tmp_path / "w"), dry_run=True,
             print_fn=lines.append)
  text = "\n".join(lines)
  assert "2 programs, 4 trained members, 2,000 member-steps; 4 closed-form" \
      in text, text
  assert "2 members x 72 params, 500 steps at batch 32" in text  # 8*8+8
  assert not (tmp_path / "w").exists()


def test_real_sigkill_of_the_sweep_then_rerun_equals_uninterrupted(
    reference, spaces, tmp_path):
  ref_dir, _ = reference
  work = tmp_path / "killed"
  cmd = [sys.executable, "-m", "embtrans.sweep",
         f"--config={GRID}:{_arg(spaces)}", f"--workdir={work}"]
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  proc = subprocess.Popen(cmd, cwd=helpers.ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  deadline = time.time() + 300
  # A committed checkpoint (Orbax renames its temporary dir to the step).
  while not [p for p in work.glob("programs/*/checkpoints/*")
             if p.name.isdigit()]:
    assert proc.poll() is None and time.time() < deadline, "no checkpoint"
    time.sleep(0.1)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert len(_results(work)) < 8   # Killed partway.
  rerun = subprocess.run(cmd, cwd=helpers.ROOT, env=env, capture_output=True,
                         text=True)
  assert rerun.returncode == 0, rerun.stderr[-2000:]
  resumed, ref = _results(work), _results(ref_dir)
  assert sorted(resumed) == sorted(ref) and len(ref) == 8
  assert any((r.get("resumed_from_step") or 0) > 0 for r in resumed.values())
  for key, r in resumed.items():
    for name, v in r.items():
      if name in VOLATILE:
        continue
      if isinstance(v, float):
        assert v == pytest.approx(ref[key][name], rel=1e-5, abs=1e-7), (
            key, name)
      else:
        assert v == ref[key][name], (key, name)
  # The killed invocation left its "started" line; only the rerun finished.
  events = [json.loads(line)["event"] for line in (work / "sweep.jsonl").open()]
  assert events == ["started", "started", "finished"], events
  assert len(report_io.sweep_runs(work)) == 1
  for log in work.glob("cells/*/seed_*/metrics.jsonl"):  # One row per step.
    steps = [json.loads(line)["step"] for line in log.open()
             if '"step"' in line]
    assert len(steps) == len(set(steps)) and steps == sorted(steps), log


def test_a_cell_alone_equals_its_member_in_the_sweep(reference, spaces,
                                                     tmp_path):
  workdir, _ = reference
  cell = [c for c in sweeps.collect_cells(sweeps.load_config_module(GRID),
                                          _arg(spaces))
          if c.name == "space1->space0~mlp1_w1"][0]
  alone = train.train_and_evaluate(cell.config, str(tmp_path / "alone"))
  swept = _results(workdir)[cell.name]
  for key in ("test/mse", "test/cosine", "test/r2", "test/mean_rank"):
    assert alone[key] == pytest.approx(swept[key], rel=1e-4), key


def test_unknown_arch_fails_before_writing(spaces, tmp_path):
  with pytest.raises(ValueError, match="Unknown archs"):
    sweeps.run(GRID, _arg(spaces, archs="linear+mlp9"), str(tmp_path / "a"))
  assert not (tmp_path / "a").exists()
  with pytest.raises(ValueError, match="single-run config"):
    sweeps.run(str(helpers.ROOT / "configs" / "linear.py"), None,
               str(tmp_path / "b"))
