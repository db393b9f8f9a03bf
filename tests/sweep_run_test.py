"""The grid end to end on synthetic spaces: results, skip, kill and resume."""

import json
import math

import pytest

from embtrans import checkpointing
from embtrans.sweep import plan
from embtrans.sweep import run
from tests import sweep_helpers

# Timing and bookkeeping keys that legitimately differ between runs.
VOLATILE = {"train_seconds", "program_seconds", "resumed_from_step",
            "predict_seconds", "score_seconds",
            "final_train_loss"}


@pytest.fixture(scope="module")
def spaces(tmp_path_factory):
  return sweep_helpers.related_spaces(tmp_path_factory.mktemp("spaces"))


@pytest.fixture(scope="module")
def reference(spaces, tmp_path_factory):
  config = sweep_helpers.grid_config(spaces)
  workdir = tmp_path_factory.mktemp("grid")
  return config, workdir, run.run_sweep(config, str(workdir))


def _results(workdir):
  return {p.parent.name: json.loads(p.read_text())
          for p in sorted((workdir / "members").glob("*/results.json"))}


def test_every_member_is_scored(reference):
  config, workdir, summary = reference
  # 2 spaces of one dim: each arch is one program of both directions.
  assert [p["members"] for p in summary["programs_run"]] == [2, 2]
  results = _results(workdir)
  assert len(results) == 2 * 2 + 2 * 2   # trained + lstsq/procrustes rows
  for name, r in results.items():
    assert r["num_test"] + r["num_train"] == 160, name
    for key in ("test/mse", "test/r2", "test/recall@1", "test/mean_rank",
                "test/cka/linear_cka", "test/cka/source/linear_cka",
                "test/knn/jaccard@10", "test/knn/mutual_knn@10",
                "test/retrieval_overlap@10"):
      assert math.isfinite(r[key]), (name, key)
    if r["kind"] == "trained":
      assert r["steps"] == config.archs[r["arch"]].steps == 20
      assert r["diverged_at_step"] == -1
      losses = [json.loads(l)["train/loss"] for l in (
          workdir / "members" / name / "metrics.jsonl").open()]
      assert len(losses) == 2 and losses[1] < 0.9 * losses[0], name
    else:  # Learnable synthetic spaces: far better than chance.
      assert r["test/recall@1"] > 5 * r["test/chance_recall@1"], name
  trained = [r for r in results.values() if r["kind"] == "trained"]
  assert {r["program"] for r in trained} == {"linear-8x8", "mlp1_w1-8x8"}
  assert (workdir / "runs.jsonl").is_file()


def test_rerun_skips_finished_members(reference):
  config, workdir, _ = reference
  before = {p: p.stat().st_mtime_ns
            for p in (workdir / "members").glob("*/results.json")}
  summary = run.run_sweep(config, str(workdir))
  assert summary["programs_run"] == []
  assert sorted(summary["programs_skipped"]) == ["linear-8x8", "mlp1_w1-8x8"]
  assert before == {p: p.stat().st_mtime_ns
                    for p in (workdir / "members").glob("*/results.json")}


class _Killed(Exception):
  pass


def test_killed_sweep_resumes_to_the_same_results(reference, spaces,
                                                  tmp_path, monkeypatch):
  _, ref_dir, _ = reference
  config = sweep_helpers.grid_config(spaces, archs="linear")
  real_save, saves = checkpointing.save, []

  def save_then_die(manager, step, state):
    real_save(manager, step, state)
    manager.wait_until_finished()
    saves.append(step)
    raise _Killed()  # Killed right after the checkpoint at step 10 of 20.

  monkeypatch.setattr(checkpointing, "save", save_then_die)
  with pytest.raises(_Killed):
    run.run_sweep(config, str(tmp_path))
  monkeypatch.setattr(checkpointing, "save", real_save)
  assert saves == [10]
  half = _results(tmp_path)
  assert len(half) == 4 and all(r["kind"] == "baseline"
                                for r in half.values())
  summary = run.run_sweep(config, str(tmp_path))
  assert [p["program"] for p in summary["programs_run"]] == ["linear-8x8"]
  resumed, ref = _results(tmp_path), _results(ref_dir)
  assert len(resumed) == 6
  for key, r in resumed.items():
    if r["kind"] == "trained":
      assert r["resumed_from_step"] == 10
    for name, v in r.items():
      if name in VOLATILE:
        continue
      if isinstance(v, float):
        assert v == pytest.approx(ref[key][name], rel=1e-5, abs=1e-7), (
            key, name)
      else:
        assert v == ref[key][name], (key, name)


def test_member_config_reproduces_grid_pairing(spaces):
  config = sweep_helpers.grid_config(spaces)
  member = plan.Member(spaces[1], spaces[0], "linear")
  single = plan.member_config(config, member)
  # The reverse direction is the single trainer's b_to_a of (A, B).
  assert (single.data.a, single.data.b, single.data.direction) == (
      spaces[0], spaces[1], "b_to_a")
  assert single.num_train_steps == config.archs.linear.steps
  assert single.optimizer.learning_rate == config.archs.linear.learning_rate


def test_bad_configs_fail_before_writing(spaces, tmp_path):
  config = sweep_helpers.grid_config(spaces)
  config.archs.linear.steps = 0
  with pytest.raises(ValueError, match=r"archs.linear.steps must be >= 1"):
    run.run_sweep(config, str(tmp_path / "a"))
  assert not (tmp_path / "a").exists()
  with pytest.raises(ValueError, match="Unknown archs"):
    sweep_helpers.helpers.load_config("grid", "archs=linear+mlp9")
  config = sweep_helpers.grid_config(spaces)
  config.members = config.members + (dict(source=spaces[0], target="x",
                                          arch="linear"),)
  with pytest.raises(ValueError, match="not in config.data.spaces"):
    run.run_sweep(config, str(tmp_path / "b"))


def test_plan_groups_by_shape_and_splits_by_memory():
  config = sweep_helpers.helpers.load_config(
      "grid", "spaces=a+b+c,archs=linear+mlp1_w8")
  members = plan.trained_members(config)
  programs = plan.plan_programs(config, members, {"a": 16, "b": 16, "c": 8})
  keys = sorted(p.key for p in programs)
  assert keys == ["linear-16x16", "linear-16x8", "linear-8x16",
                  "mlp1_w8-16x16", "mlp1_w8-16x8", "mlp1_w8-8x16"]
  assert all(len(p.members) == 2 for p in programs)
  # A budget below one member's state: one member per program.
  config.max_program_gib = 1e-9
  programs = plan.plan_programs(config, members, {"a": 16, "b": 16, "c": 8})
  assert len(programs) == 12 and all(len(p.members) == 1 for p in programs)
  assert {p.part for p in programs} == {1, 2}
  # mlp 1 layer, width 8 x 16 = 128: 16*128 + 128 + 128*8 + 8 params.
  assert plan.param_count(plan.build_model(config, "mlp1_w8", 8), 16) == (
      16 * 128 + 128 + 128 * 8 + 8)


def test_big_programs_skip_checkpoints_with_the_same_results(reference,
                                                             tmp_path):
  config, ref_dir, _ = reference
  config = config.copy_and_resolve_references()
  config.max_checkpoint_gib = 0.0
  run.run_sweep(config, str(tmp_path))
  assert not (tmp_path / "programs").exists()
  ref = _results(ref_dir)
  for key, r in _results(tmp_path).items():
    assert r["test/mse"] == pytest.approx(ref[key]["test/mse"], rel=1e-6)
