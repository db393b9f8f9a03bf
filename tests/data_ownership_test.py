"""Lock files and partial builds are removed once their owner is gone."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from embtrans.data import build
from embtrans.data import format as fmt
from embtrans.data import ownership
from tests import embed_helpers
from tests import helpers

# A process that takes the build lock of <root>/ds, writes rows into
# <root>/ds.partial (resumable or not), then is SIGKILLed.
_KILLED_WRITER = """
import os, signal, sys
import numpy as np
import pytest
from embtrans.data import build, format as fmt
root, resume = sys.argv[1], sys.argv[2] == "resume"
path = __import__("pathlib").Path(root) / "ds"
with build.build_lock(path):
  w = fmt.DatasetWriter(path, 2, shard_rows=4,
                        resume_key="k" if resume else None).__enter__()
  w.add([f"r{i}" for i in range(6)], np.ones((6, 2), np.float32))
  os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
  """`killed(root, resume)` leaves in `root` what a SIGKILLed writer left:
  ds.partial (owner.json naming the dead process) and ds.lock."""
  made = {}
  for resume in (False, True):
    root = tmp_path_factory.mktemp("killed")
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(root),
         "resume" if resume else "fresh"], cwd=helpers.ROOT, check=False,
        env={**os.environ, "PYTHONPATH": str(helpers.ROOT)})
    assert proc.returncode == -9
    assert (root / "ds.partial").is_dir() and (root / "ds.lock").is_file()
    made[resume] = root

  def copy(root, resume):
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(made[resume] / "ds.partial", root / "ds.partial")
    shutil.copy2(made[resume] / "ds.lock", root / "ds.lock")

  return copy


def test_lock_file_names_its_owner_and_goes_on_release(tmp_path):
  lock = tmp_path / "x.lock"
  with ownership.exclusive(lock):
    record = json.loads(lock.read_text())
    assert record["pid"] == os.getpid()
    assert ownership.owner_gone(record) is False
    with ownership.exclusive(lock, blocking=False) as held:
      assert not held  # Busy: another open file of this process.
  assert not lock.exists()


def test_exclusive_stays_exclusive_while_files_are_removed(tmp_path):
  lock, inside, clashes = tmp_path / "x.lock", [0], []

  def work():
    for _ in range(40):
      with ownership.exclusive(lock):
        inside[0] += 1
        if inside[0] != 1:
          clashes.append(inside[0])
        time.sleep(0.0002)
        inside[0] -= 1

  threads = [threading.Thread(target=work) for _ in range(4)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert not clashes and not lock.exists()


def test_a_killed_writers_partial_and_lock_are_cleaned(tmp_path, killed):
  killed(tmp_path, resume=False)
  record = json.loads((tmp_path / "ds.partial" / ownership.OWNER).read_text())
  assert ownership.owner_gone(record) is True
  removed = ownership.clean_stale(tmp_path)
  assert set(removed) == {tmp_path / "ds.partial", tmp_path / "ds.lock"}
  assert not list(tmp_path.iterdir())


def test_a_resumable_partial_is_kept_for_a_while(tmp_path, killed):
  killed(tmp_path, resume=True)
  assert ownership.clean_stale(tmp_path) == [tmp_path / "ds.lock"]
  partial = tmp_path / "ds.partial"
  with fmt.DatasetWriter(tmp_path / "ds", 2, shard_rows=4,
                         resume_key="k") as w:
    assert w.rows_done == 4  # A rerun resumes from it...
    w.add([f"r{i}" for i in range(4, 6)], np.ones((2, 2), np.float32))
  assert not partial.exists()
  assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == [
      fmt.MANIFEST, fmt.ROWS, "vectors"]
  killed(tmp_path / "again", resume=True)
  old = time.time() - (ownership.RESUMABLE_DAYS + 1) * 86400
  for p in (tmp_path / "again" / "ds.partial").rglob("*"):
    os.utime(p, (old, old))
  os.utime(tmp_path / "again" / "ds.partial", (old, old))
  assert tmp_path / "again" / "ds.partial" in ownership.clean_stale(
      tmp_path / "again")  # ...but not forever.


def test_live_or_unknown_owners_are_left_alone(tmp_path):
  with fmt.DatasetWriter(tmp_path / "mine", 2) as w:
    w.add(["a"], np.ones((1, 2), np.float32))
    elsewhere = tmp_path / "other.partial"
    elsewhere.mkdir()
    (elsewhere / ownership.OWNER).write_text(json.dumps(
        {"host": "another-host", "pid": 1, "started": "1"}))
    assert ownership.clean_stale(tmp_path) == []
    assert (tmp_path / "mine.partial").is_dir() and elsewhere.is_dir()


def test_a_cache_build_leaves_no_lock_and_sweeps_dead_builds(tmp_path,
                                                             killed):
  cache = tmp_path / "cache"
  killed(cache, resume=False)
  path = tmp_path / "notes.jsonl"
  path.write_text('{"text": "one note"}\n{"text": "another note"}\n')
  ds = build.build_dataset("files", embed_helpers.register_hash_encoder(),
                           cache_dir=cache, source_kwargs={"path": str(path)})
  assert sorted(p.name for p in cache.iterdir()) == [ds.path.name]
