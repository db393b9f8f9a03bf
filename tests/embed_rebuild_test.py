"""A damaged dataset: the error names --rebuild, and --rebuild replaces it."""

import subprocess
import sys

import numpy as np
import pytest

from embtrans.data import build
from embtrans.data import format as fmt
from tests import helpers


@pytest.fixture
def imported(tmp_path):
  """An import config (no model to load) and its built dataset."""
  vectors = np.random.default_rng(0).standard_normal((12, 4)).astype(
      np.float32)
  np.save(tmp_path / "v.npy", vectors)
  (tmp_path / "ids.txt").write_text("".join(f"r{i}\n" for i in range(12)))
  arg = f"path={tmp_path / 'v.npy'},ids={tmp_path / 'ids.txt'}"
  config = helpers.load_config("embed/precomputed", arg)
  ds, _, _ = build.build_from_config(config, cache_dir=str(tmp_path / "c"))
  return arg, config, ds, vectors


def _corrupt_shard(ds):
  shard = ds.path / ds.manifest["shards"][0]["path"]
  data = bytearray(shard.read_bytes())
  data[-5] ^= 0xFF
  shard.write_bytes(bytes(data))


def test_rebuild_replaces_a_corrupt_shard(imported, tmp_path):
  _, config, ds, vectors = imported
  _corrupt_shard(ds)
  cache = str(tmp_path / "c")
  with pytest.raises(fmt.DatasetError, match="does not match its checksum.*"
                     "with --rebuild"):
    build.build_from_config(config, cache_dir=cache)
  with pytest.raises(fmt.DatasetError, match="checksum"):
    build.build_from_config(config, cache_dir=cache, overwrite=True)
  again, built, _ = build.build_from_config(config, cache_dir=cache,
                                            rebuild=True)
  assert built and again.path == ds.path
  np.testing.assert_array_equal(np.asarray(again.vectors), vectors)
  assert sorted(p.name for p in (tmp_path / "c").iterdir()
                if p.is_dir()) == [ds.path.name]


def test_a_corrupt_manifest_is_one_clear_error(imported, tmp_path):
  _, config, ds, vectors = imported
  (ds.path / fmt.MANIFEST).write_text('{"format": "embtrans.emb')
  with pytest.raises(fmt.DatasetError, match="manifest.json is unreadable or "
                     "corrupt.*--rebuild"):
    build.build_from_config(config, cache_dir=str(tmp_path / "c"))
  again, _, _ = build.build_from_config(config, cache_dir=str(tmp_path / "c"),
                                        rebuild=True)
  np.testing.assert_array_equal(np.asarray(again.vectors), vectors)


def test_rebuild_does_not_replace_another_dataset(imported, tmp_path):
  _, config, _, _ = imported
  out = tmp_path / "out"
  helpers.random_dataset(out, 5, 3)
  before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
  with pytest.raises(fmt.DatasetError, match="already holds another"):
    build.build_from_config(config, output=str(out), rebuild=True)
  assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_cli_names_rebuild_then_rebuilds(imported, tmp_path):
  arg, _, ds, vectors = imported
  _corrupt_shard(ds)
  cmd = [sys.executable, "-m", "embtrans.embed",
         f"--config=configs/embed/precomputed.py:{arg}",
         f"--cache_dir={tmp_path / 'c'}"]
  out = subprocess.run(cmd, cwd=helpers.ROOT, capture_output=True, text=True,
                       check=False)
  assert out.returncode == 1 and "--rebuild" in out.stderr
  assert out.stderr.strip().splitlines()[-1].startswith(
      "embtrans.embed: error: vector shard")
  out = subprocess.run(cmd + ["--rebuild"], cwd=helpers.ROOT,
                       capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr[-2000:]
  np.testing.assert_array_equal(
      np.asarray(fmt.open_dataset(ds.path).vectors), vectors)
