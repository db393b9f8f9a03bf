"""The autoencode task on the engine: main and sweep end to end (tiny), the
lstsq populations, the loss-weight choice and the README following the
numbers."""

import json

import chex
import numpy as np
import pytest

from embtrans import sweeps
from embtrans import bench as bench_lib
from embtrans import tasks
from embtrans import train
from embtrans.data import populations
from embtrans.report import ae3d as report
from tests import helpers

CONFIG = str(helpers.ROOT / "configs" / "ae3d.py")
TINY = "tiny=True,data=lexical,limit=300"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
  """A tiny sweep: the plain AE fitted on A, B and both (one program of three
  members) and PCA(3) fitted on each (closed form)."""
  workdir = tmp_path_factory.mktemp("ae3d_sweep")
  summary = sweeps.run(CONFIG, TINY + ",seeds=1", str(workdir),
                       only="method=ae-loss=recon|method=pca3-seed=0")
  return workdir, summary


def _results(workdir):
  return {p.parent.name: json.loads(p.read_text())
          for p in sorted((workdir / "cells").glob("*/results.json"))}


def test_sweep_trains_one_program_and_scores_every_cell(swept):
  workdir, summary = swept
  trained = [r for r in summary["ran"] if "train_seconds" in r]
  assert [r["members"] for r in trained] == [3]  # a, b, both: one program
  results = _results(workdir)
  assert len(results) == 6
  for name, r in results.items():
    for key in ("test/a/trust@10", "test/b/cont@10", "test/both/spearman",
                "test/proj/a2b/recall@10", "test/gap/proj"):
      assert r[key] is not None and 0 <= r[key] <= 10, (name, key)
  cell = workdir / "cells" / "train=a-method=ae-loss=recon-lam=0"
  info = json.loads((cell / "data.json").read_text())
  chex.assert_shape(np.load(cell / "seed_0" / "codes_b.npy"),
                    (info["num_eval_b"], 3))
  # The reconstruction loss fell while training.
  rows = [json.loads(l) for l in (
      workdir / "cells" / "train=both-method=ae-loss=recon-lam=0" /
      "seed_0" / "metrics.jsonl").read_text().splitlines()]
  losses = [r["train/recon"] for r in rows if "train/recon" in r]
  assert losses[-1] < 0.9 * losses[0]


def test_main_alone_gives_its_sweep_cell(swept, tmp_path):
  workdir, _ = swept
  config = helpers.load_config("ae3d", TINY + ",seeds=1,train=both")
  alone = train.train_and_evaluate(config, str(tmp_path))
  cell = _results(workdir)["train=both-method=ae-loss=recon-lam=0"]
  for key in ("test/both/trust@10", "test/a/spearman", "test/gap/proj"):
    np.testing.assert_allclose(alone[key], cell[key], rtol=2e-3, atol=2e-3)
  pca = _results(workdir)["train=b-method=pca3-seed=0"]
  alone = train.train_and_evaluate(helpers.load_config(
      "ae3d", TINY + ",seeds=1,train=b,method=pca3"), str(tmp_path / "pca"))
  assert alone["test/b/trust@10"] == pytest.approx(pca["test/b/trust@10"])


def test_report_of_the_sweep(swept, tmp_path):
  workdir, _ = swept
  out, files = report.write_report(workdir, str(tmp_path / "r"))
  text = (out / "README.md").read_text()
  assert "Does an A-only autoencoder distort B?**" in text
  assert "| a | recon | ae | 1 |" in text
  for name in files:
    assert (out / name).is_file(), name
  assert {"ae-recon-both.html", "pca3-none-both.html"} <= set(files)
  assert "ae-recon-a.html" not in files  # pages only for fits on both


def test_bad_configs_fail_with_one_line():
  task = tasks.get("autoencode")
  cfg = helpers.load_config("ae3d", TINY + ",loss=pairs,train=a")
  with pytest.raises(ValueError, match="pair_weight > 0 needs both"):
    task.validate(cfg)
  cfg = helpers.load_config("ae3d", TINY)
  cfg.data.train = "c"
  with pytest.raises(ValueError, match=r"config.data.train='c'; choose one"):
    task.validate(cfg)
  with pytest.raises(ValueError, match="method='tsne'; choose one of"):
    helpers.load_config("ae3d", "method=tsne")


def test_translated_population_is_the_lstsq_map():
  rng = np.random.default_rng(0)
  n, d_a, d_b = 60, 5, 4
  x_a = rng.standard_normal((n, d_a)).astype(np.float32)
  w, bias = rng.standard_normal((d_a, d_b)), rng.standard_normal(d_b)
  x_b = (x_a @ w + bias + 0.01 * rng.standard_normal((n, d_b))).astype(
      np.float32)
  ids = np.array([f"d{i}" for i in range(n)])
  split = np.array(["train"] * 40 + ["test"] * 20)
  pairs = np.stack([np.arange(n), np.arange(n)], 1)
  pops = populations.Populations(x_a, x_b, pairs, ids, ids, ids, ids, split,
                                 split, ("a", "b"))
  got, facts = populations.translated(pops)
  design = np.concatenate([x_a[:40], np.ones((40, 1))], 1).astype(np.float64)
  ref = np.linalg.lstsq(design, x_b[:40].astype(np.float64), rcond=None)[0]
  want = np.concatenate([x_a, np.ones((n, 1))], 1) @ ref
  np.testing.assert_allclose(got.x_a, want, rtol=1e-4, atol=1e-4)
  assert got.x_a.shape == (n, d_b) and facts["lstsq_train_pairs"] == 40
  assert facts["lstsq_train_r2"] > 0.99 and facts["lstsq_test_cosine"] > 0.99
  np.testing.assert_array_equal(got.x_b, x_b)


def _val_rows(mse_small=0.5, mse_big=0.6):
  rows = []
  for lam, score in ((0.3, mse_small), (3.0, mse_big)):
    rows.append({"loss": "recon+mse", "lam": lam, "both/trust@10": score,
                 "both/spearman": score + 0.1})
  rows.append({"loss": "recon", "lam": 0.0, "both/trust@10": 0.9,
               "both/spearman": 0.9})
  return rows


def test_choose_picks_the_best_validation_score():
  chosen = report.choose(_val_rows())
  assert set(chosen) == {"mse"}
  assert chosen["mse"]["lam"] == 3.0
  assert chosen["mse"]["scores"]["0.3"] == pytest.approx(0.55)
  assert report.choose(_val_rows(0.7, 0.6))["mse"]["lam"] == 0.3


def _final_rows(b_trust_a_only):
  rows = []
  means = {("a", "recon", "ae"): b_trust_a_only,
           ("b", "recon", "ae"): 0.80, ("both", "recon", "ae"): 0.75,
           ("both", "recon+mse", "ae"): 0.76, ("both", "-", "pca3"): 0.7,
           ("both", "-", "umap3"): 0.85}
  for (tr, loss, method), m in means.items():
    for s in range(3):
      e = 0.005 * (s - 1)
      rows.append({"train": tr, "loss": loss, "method": method, "seed": s,
                   "b/trust@10": m + e, "a/trust@10": 0.8 + e,
                   "both/trust@10": m + e, "both/spearman": m / 2 + e,
                   "both/cont@10": 0.8 + e, "proj/a2b/recall@10": 0.1,
                   "gap/orig": 0.4, "gap/proj": 1.0 + e})
  return rows


def test_readme_sentences_follow_the_numbers():
  data = {"populations": ["summary (e5)", "body (e5)"], "num_a": 10,
          "num_b": 8, "num_pairs": 5, "num_train_a": 6, "num_train_b": 5,
          "eval_split": "test", "num_eval_a": 2, "num_eval_b": 2,
          "num_eval_pairs": 1}
  text = report.final_readme(_final_rows(0.60), data, ["- setup"], "T", [])
  assert "distort B?** yes" in text
  assert "0.600 vs 0.800, Δ -0.200" in text
  assert "recovers 75 % of the distance" in text
  changed = report.final_readme(_final_rows(0.90), data, ["- setup"], "T",
                                [])
  assert "distort B?** no" in changed
  assert "0.900 vs 0.800, Δ +0.100" in changed
  assert "≥ 3 per row" in text


def test_bench_ae_stops_when_the_loss_stops_falling():
  from embtrans.bench import ae3d as bench  # pylint: disable=g-import-not-at-top
  config = helpers.load_config("ae3d", TINY + ",seeds=1,steps=40")
  x = np.random.default_rng(0).standard_normal((200, 12)).astype(np.float32)
  quick = bench.time_ae(x, config, chunk=10, tol=10.0, max_steps=40)
  assert quick["steps"] == 20  # the second chunk's check stops it
  full = bench.time_ae(x, config, chunk=10, tol=-1.0, max_steps=40)
  assert full["steps"] == 40 and np.isfinite(full["loss"])
  assert "ae3d" in bench_lib.known_benchmarks()


def test_readme_says_n_a_for_a_missing_cell():
  rows = [r for r in _final_rows(0.6) if r["method"] != "pca3"]
  text = "\n".join(report.findings.answers(rows))
  assert "Does PCA(50) → AE help (fitted on both)?** Against the " \
         "autoencoder on the raw vectors, trustworthiness@10 on A ∪ B: n/a" \
         in text
