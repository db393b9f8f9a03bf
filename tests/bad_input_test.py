"""Bad input x every `python -m embtrans.*` entry, as real subprocesses.

Each case asserts what a user sees: exactly one line on stderr, naming the
problem (the regex), a non-zero exit status, and nothing changed on disk:
each case gets its own directory (workdirs, a copy of a finished run, the
embedding cache), snapshot before and after; the shared datasets are
snapshot before and after all cases. One tiny prepared set of datasets
serves every case. The cases run as parallel subprocesses (most fail in a
second, before jax is imported; the rest pay for importing it).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from tests import helpers

ROOT = helpers.ROOT
N, DIM_A, DIM_B = 120, 8, 6


def _corrupt_copy(src: pathlib.Path, dst: pathlib.Path) -> None:
  shutil.copytree(src, dst)
  shard = sorted((dst / "vectors").glob("*.npy"))[0]
  shard.write_bytes(shard.read_bytes()[:-16])  # Truncated: SHA-256 differs.


def _trained_run(root: pathlib.Path, config_arg: str) -> pathlib.Path:
  """A finished tiny run with one checkpoint, then its checkpoint truncated."""
  from embtrans import train  # pylint: disable=g-import-not-at-top
  config = helpers.load_config("linear", config_arg)
  config.checkpoint_every = config.num_train_steps = 4
  config.log_every = 2
  workdir = root / "truncated_run"
  train.train_and_evaluate(config, str(workdir))
  files = sorted((p for p in (workdir / "checkpoints").rglob("*")
                  if p.is_file() and p.stat().st_size > 64),
                 key=lambda p: -p.stat().st_size)
  for f in files[:3]:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])
  return workdir


@pytest.fixture(scope="module")
def world(tmp_path_factory):
  """Shared read-only data: datasets A/B (ids shared), a corrupt copy, a
  JSONL, a shadowed chromadb; and a template case directory: a file, an
  empty directory and a run whose checkpoint is truncated."""
  root = tmp_path_factory.mktemp("bad_input")
  data, template = root / "data", root / "template"
  ids = [f"r{i}" for i in range(N)]
  helpers.random_dataset(data / "a", N, DIM_A, seed=0, ids=ids)
  helpers.random_dataset(data / "b", N, DIM_B, seed=1, ids=ids)
  _corrupt_copy(data / "a", data / "a_corrupt")
  (data / "notes.jsonl").write_text("".join(
      json.dumps({"note_id": f"n{i}", "body": f"note number {i} about tea"})
      + "\n" for i in range(40)))
  shadow = data / "shadow" / "chromadb"
  shadow.mkdir(parents=True)
  (shadow / "__init__.py").write_text(
      "raise ModuleNotFoundError(\"No module named 'chromadb'\", "
      "name='chromadb')\n")
  template.mkdir()
  (template / "a_file").write_text("not a directory\n")
  (template / "empty_dir").mkdir()
  (template / "cache").mkdir()
  arg = f"a={data / 'a'},b={data / 'b'},tiny=True"
  _trained_run(template, arg)
  return {"root": root, "data": data, "template": template, "arg": arg}


def snapshot(root: pathlib.Path) -> dict[str, tuple]:
  """Every path under root: (kind, size, mtime) -- equal means untouched.

  Directories count by existence (their mtime moves when a file is made and
  removed again). The cache's digests.json (a memo of input-file hashes
  keyed by path, size and mtime) is left out: reading a source to validate
  it may fill it.
  """
  out = {}
  for p in root.rglob("*"):
    if p.name == "digests.json" or "__pycache__" in p.parts:
      continue
    st = p.lstat()
    out[str(p.relative_to(root))] = (
        ("dir",) if p.is_dir() else ("file", st.st_size, st.st_mtime_ns))
  return out


# (id, module, args, stderr regex[, options]). {data}: the shared datasets;
# {root}: the case's own directory (a_file, empty_dir, cache, w); {arg}: the
# tiny A/B translator arg; {run}: the case's copy of the truncated run. The
# cwd is the repository root.
CASES = [
    # -- python -m embtrans.main
    ("main-override-typo", "embtrans.main",
     ["--config=configs/linear.py:{arg}", "--config.batch_sise=8",
      "--workdir={root}/w"], r"no field batch_sise\. Did you mean "
     r"--config\.batch_size\?"),
    ("main-nested-override-typo", "embtrans.main",
     ["--config=configs/linear.py:{arg}",
      "--config.optimizer.learnin_rate=1", "--workdir={root}/w"],
     r"Did you mean --config\.optimizer\.learning_rate\?"),
    ("main-unknown-config-file", "embtrans.main",
     ["--config=configs/linaer.py", "--workdir={root}/w"],
     r"no config file configs/linaer\.py\. Did you mean configs/linear\.py"),
    ("main-get-config-value-error", "embtrans.main",
     ["--config=configs/mlp32x.py:layers=3", "--workdir={root}/w"],
     r"layers must be 1 or 2, got 3"),
    ("main-unknown-config-arg", "embtrans.main",
     ["--config=configs/linear.py:lr=3", "--workdir={root}/w"],
     r"Unknown config arg 'lr=3'\. This config takes: a="),
    ("main-bad-override-value", "embtrans.main",
     ["--config=configs/linear.py:{arg}", "--config.batch_size=lots",
      "--workdir={root}/w"], r"batch_size.*lots"),
    ("main-missing-workdir", "embtrans.main",
     ["--config=configs/linear.py:{arg}"], r"--workdir"),
    ("main-workdir-is-a-file", "embtrans.main",
     ["--config=configs/linear.py:{arg}", "--workdir={root}/a_file"],
     r"--workdir=.*a_file is a file"),
    ("main-batch-larger-than-train", "embtrans.main",
     ["--config=configs/linear.py:{arg}", "--config.batch_size=100000",
      "--workdir={root}/w"], r"batch_size=100000 is larger than the \d+ "
     r"training pairs"),
    ("main-unknown-model", "embtrans.main",
     ["--config=configs/linear.py:{arg}", "--config.model.name=mpl",
      "--workdir={root}/w"], r"Unknown model 'mpl'.*Known models: .*'mlp'"),
    ("main-unknown-loss", "embtrans.main",
     ["--config=configs/linear.py:{arg}", "--config.loss.name=hinge",
      "--workdir={root}/w"], r"hinge.*mse"),
    ("main-unknown-encoder", "embtrans.main",
     ["--config=configs/linear.py:a=minlm,b={data}/b,tiny=True",
      "--workdir={root}/w"], r"'minlm' is neither .* Did you mean 'minilm'"),
    ("main-corrupt-shard", "embtrans.main",
     ["--config=configs/linear.py:a={data}/a_corrupt,b={data}/b,tiny=True",
      "--workdir={root}/w"], r"--rebuild"),
    ("main-truncated-checkpoint", "embtrans.main",
     ["--config=configs/linear.py:{arg}", "--config.checkpoint_every=4",
      "--config.num_train_steps=4", "--config.log_every=2",
      "--workdir={run}"], r"checkpoint"),
    # -- python -m embtrans.sweep
    ("sweep-unknown-config-file", "embtrans.sweep",
     ["--config=configs/gird.py", "--workdir={root}/w"],
     r"no config file configs/gird\.py\. Did you mean configs/grid\.py"),
    ("sweep-get-config-value-error", "embtrans.sweep",
     ["--config=configs/grid.py:sizes=9", "--workdir={root}/w"],
     r"Unknown config arg 'sizes=9'"),
    ("sweep-single-run-config", "embtrans.sweep",
     ["--config=configs/linear.py", "--workdir={root}/w"],
     r"no sweep\(add, arg\).*embtrans\.main"),
    ("sweep-workdir-is-a-file", "embtrans.sweep",
     ["--config=configs/grid.py:tiny=True", "--workdir={root}/a_file"],
     r"is a file"),
    ("sweep-no-workdir", "embtrans.sweep", ["--config=configs/grid.py"],
     r"--workdir is required \(or pass --dry_run\)"),
    # -- python -m embtrans.embed
    ("embed-override-typo", "embtrans.embed",
     ["--config=configs/embed/files.py:path={data}/notes.jsonl",
      "--config.sorce.limit=3"], r"Did you mean --config\.source\?"),
    ("embed-unknown-encoder", "embtrans.embed",
     ["--config=configs/embed/files.py:path={data}/notes.jsonl,"
      "text_column=body,encoder=tfidf_lsa+minlm"],
     r"minlm.*tfidf_lsa"),
    ("embed-unknown-source", "embtrans.embed",
     ["--config=configs/embed/minilm_pydocs.py", "--config.source.name=fils"],
     r"fils.*files"),
    ("embed-missing-file", "embtrans.embed",
     ["--config=configs/embed/files.py:path={data}/nope.jsonl"],
     r"nope\.jsonl"),
    ("embed-output-is-a-file", "embtrans.embed",
     ["--config=configs/embed/files.py:path={data}/notes.jsonl,"
      "text_column=body", "--output={root}/a_file"], r"--output=.* is a file"),
    ("embed-get-config-value-error", "embtrans.embed",
     ["--config=configs/embed/files.py:path={data}/notes.jsonl,"
      "encoder=minilm+tfidf_lsa,name=mine"], r"name= names one dataset"),
    # -- python -m embtrans.report
    ("report-no-workdir", "embtrans.report", [], r"Usage: python -m "
     r"embtrans\.report <workdir>"),
    ("report-workdir-is-a-file", "embtrans.report", ["{root}/a_file"],
     r"a_file is not a directory"),
    ("report-empty-workdir", "embtrans.report", ["{root}/empty_dir"],
     r"neither a finished run"),
    # -- python -m embtrans.retrieval
    ("retrieval-override-typo", "embtrans.retrieval",
     ["--config=configs/two_stage.py:tiny=True",
      "--config.filters.selectivitis=0.5", "--workdir={root}/w"],
     r"Did you mean --config\.filters\.selectivities\?"),
    ("retrieval-workdir-is-a-file", "embtrans.retrieval",
     ["--config=configs/two_stage.py:tiny=True",
      "--workdir={root}/a_file"], r"is a file"),
    ("retrieval-no-chromadb", "embtrans.retrieval",
     ["--config=configs/two_stage.py:index={data}/a,queries={data}/a,"
      "tiny=True", "--workdir={root}/w"],
     r"ChromaDB is not installed.*pip install", {"shadow": True}),
    # -- python -m embtrans.export_chroma
    ("export-no-chromadb", "embtrans.export_chroma",
     ["--dataset={data}/a", "--db={root}/db"],
     r"ChromaDB is not installed.*pip install", {"shadow": True}),
    ("export-db-is-a-file", "embtrans.export_chroma",
     ["--dataset={data}/a", "--db={root}/a_file"], r"--db=.* is a file"),
    ("export-unknown-dataset", "embtrans.export_chroma",
     ["--dataset=nosuch/minilm", "--db={root}/db"], r"nosuch/minilm"),
    ("export-corrupt-shard", "embtrans.export_chroma",
     ["--dataset={data}/a_corrupt", "--db={root}/db"], r"--rebuild"),
    ("export-truncated-checkpoint", "embtrans.export_chroma",
     ["--dataset={data}/a", "--db={root}/db", "--translator={run}"],
     r"checkpoint"),
    # -- python -m embtrans.bench
    ("bench-unknown-benchmark", "embtrans.bench", ["metrix"],
     r"Unknown benchmark 'metrix'.*known benchmarks: .*metrics"),
    ("bench-bad-flag-value", "embtrans.bench", ["train", "--steps=abc"],
     r"--steps=abc: invalid literal"),
    ("bench-unknown-flag", "embtrans.bench", ["align", "--quikc"],
     r"unknown flag '--quikc'.*--quick"),
]


def _run_case(world, case) -> tuple:
  """Runs one case in its own directory -> (process, before, after)."""
  name, module, args, _, *rest = case
  options = rest[0] if rest else {}
  root = world["root"] / "cases" / name
  shutil.copytree(world["template"], root)
  fill = {"root": root, "data": world["data"], "arg": world["arg"],
          "run": root / "truncated_run"}
  env = dict(os.environ, EMBTRANS_CACHE=str(root / "cache"),
             JAX_PLATFORMS="cpu", PYTHONWARNINGS="ignore")
  env.pop("EMBTRANS_TRACEBACK", None)
  paths = [str(ROOT)] + ([str(world["data"] / "shadow")]
                         if options.get("shadow") else [])
  env["PYTHONPATH"] = os.pathsep.join(paths[::-1])
  before = snapshot(root)
  proc = subprocess.run(
      [sys.executable, "-m", module, *(a.format(**fill) for a in args)],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
      check=False)
  return proc, before, snapshot(root)


@pytest.fixture(scope="module")
def outcomes(world):
  """Every case, run 4 at a time; the shared data checked untouched."""
  shared = snapshot(world["data"])
  with concurrent.futures.ThreadPoolExecutor(4) as pool:
    runs = dict(zip([c[0] for c in CASES],
                    pool.map(lambda c: _run_case(world, c), CASES)))
  return runs, shared == snapshot(world["data"])


def test_shared_data_untouched(outcomes):
  assert outcomes[1]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(outcomes, case):
  proc, before, after = outcomes[0][case[0]]
  lines = proc.stderr.strip().splitlines()
  assert proc.returncode != 0, proc.stdout + proc.stderr
  assert len(lines) == 1, proc.stderr
  prog = case[1].removesuffix(".__main__")
  assert lines[0].startswith(f"{prog}: error: "), lines[0]
  assert re.search(case[3], lines[0]), lines[0]
  assert after == before, lines[0]
