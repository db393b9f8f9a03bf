"""One member of a sweep program diverges (its learning rate forced to
1e30): it is recorded as diverged, and the other members of the same
program finish and are scored exactly as in a run without it."""

import json

import numpy as np
import pytest

from embtrans import sweeps
from embtrans.tasks import translate
from tests import helpers
from tests import sweep_helpers

GRID = str(helpers.ROOT / "configs" / "grid.py")


@pytest.fixture(scope="module")
def spaces(tmp_path_factory):
  return sweep_helpers.related_spaces(tmp_path_factory.mktemp("spaces"))


def _arg(spaces):
  return f"spaces={'+'.join(spaces)},archs=linear,tiny=True,steps_scale=2"


def _results(workdir):
  return {p.parent.name: json.loads(p.read_text())
          for p in sorted((workdir / "cells").glob("*/results.json"))}


def test_a_diverged_member_leaves_the_others_finished_and_scored(
    spaces, tmp_path, monkeypatch):
  clean = sweeps.run(GRID, _arg(spaces), str(tmp_path / "clean"))
  real = translate.build

  def poisoned(configs, datas, names, mesh):
    prog = real(configs, datas, names, mesh)
    prog.lrs = [1e30 if i == 1 else lr for i, lr in enumerate(prog.lrs)]
    return prog

  monkeypatch.setattr(translate, "build", poisoned)
  summary = sweeps.run(GRID, _arg(spaces), str(tmp_path / "poisoned"))
  assert [r["members"] for r in clean["ran"] if "train_seconds" in r] == [2]
  assert len(summary["ran"]) == len(clean["ran"])
  ref, got = _results(tmp_path / "clean"), _results(tmp_path / "poisoned")
  assert sorted(got) == sorted(ref)
  trained = {k: r for k, r in got.items() if r["kind"] == "trained"}
  bad = [k for k, r in trained.items() if r["diverged_members"]]
  assert len(trained) == 2 and len(bad) == 1
  (good,) = set(trained) - set(bad)
  r = got[bad[0]]
  assert r["diverged_members"] == 1 and 1 <= r["train/diverged_at_step"] <= 40
  assert r.get("test/mse") is None and "NaN" in r["error"]
  # The healthy member of the same program: scored, and unaffected.
  assert got[good]["diverged_members"] == 0
  for key in ("test/mse", "test/r2", "test/recall@1", "test/mean_rank",
              "val/recall@1", "train/final_loss"):
    assert np.isfinite(got[good][key]), key
    assert got[good][key] == pytest.approx(ref[good][key], rel=1e-5), key
  # Closed-form cells of the pair are there and untouched by training.
  for key in got:
    if got[key]["kind"] == "closed_form":
      assert got[key]["test/mse"] == ref[key]["test/mse"], key
