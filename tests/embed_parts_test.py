"""A dataset built by several processes equals the one-process build.

The processes are threads here (a threading.Barrier stands in for
jax.distributed's); tests/multihost_test.py runs the real processes.
"""

import json
import pathlib
import threading

import chex
import numpy as np
import pytest

from embtrans.data import build
from embtrans.data import format as fmt


@pytest.mark.parametrize("count", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [0, 1, 5, 10, 11])
def test_rows_are_contiguous_blocks_that_cover_every_row_once(n, count):
  blocks = [build.Processes(i, count).rows(n) for i in range(count)]
  assert blocks[0][0] == 0 and blocks[-1][1] == n
  for (_, stop), (start, _) in zip(blocks, blocks[1:]):
    assert stop == start
  sizes = [stop - start for start, stop in blocks]
  assert max(sizes) - min(sizes) <= 1


def _notes(path: pathlib.Path, n: int = 90) -> pathlib.Path:
  rows = [{"id": f"n{i}", "text": f"note {i} about the river and {i % 7}"}
          for i in range(n)]
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))
  return path


def _build(output, notes, processes=build.SINGLE_PROCESS):
  return build.build_dataset(
      "files", "minilm_static", source_kwargs={"path": str(notes)},
      output=output, batch_size=8, shard_rows=16, processes=processes)


def _in_threads(count, fn):
  barrier = threading.Barrier(count, timeout=120)
  out, errors = [None] * count, []

  def work(i):
    try:
      out[i] = fn(build.Processes(i, count, lambda name: barrier.wait()))
    except BaseException as e:  # pylint: disable=broad-except
      errors.append(e)
      barrier.abort()

  threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  if errors:
    raise errors[0]
  return out


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
  root = tmp_path_factory.mktemp("parts")
  notes = _notes(root / "notes.jsonl")
  return root, notes, _build(root / "one", notes)


@pytest.mark.parametrize("count", [2, 3])
def test_processes_build_the_one_process_dataset(one_process, count):
  root, notes, want = one_process
  out = root / f"in{count}"
  got = _in_threads(count, lambda p: _build(out, notes, p))
  for ds in got:  # Every process opens the finished dataset.
    assert list(ds.ids) == list(want.ids)
  ds = got[0]
  chex.assert_trees_all_close(np.asarray(ds.vectors), np.asarray(want.vectors),
                              rtol=1e-6, atol=1e-6)
  assert list(ds.column("text")) == list(want.column("text"))
  assert list(ds.splits) == list(want.splits)
  manifest = json.loads((out / fmt.MANIFEST).read_text())
  assert manifest["count"] == len(want.ids) == 90
  assert manifest["build"]["processes"] == count
  sizes = [b - a for a, b in manifest["build"]["rows_per_process"]]
  assert sum(sizes) == 90 and max(sizes) - min(sizes) <= 1
  assert manifest["fingerprint"] == want.manifest["fingerprint"]
  assert not list(root.glob(f"in{count}.part*")), "parts left behind"


def test_a_damaged_part_is_refused_with_a_rerun_hint(tmp_path):
  part = tmp_path / "p"
  with fmt.DatasetWriter(part, 4, shard_rows=2, part=True,
                         resume_key="k") as w:
    w.add(["a", "b", "c"], np.ones((3, 4), np.float32))
  npy = sorted((tmp_path / "p.partial" / fmt.VECTOR_DIR).glob("*.npy"))[0]
  npy.write_bytes(npy.read_bytes()[:-4])
  with fmt.DatasetWriter(tmp_path / "final", 4) as final:
    with pytest.raises(fmt.DatasetError, match="rerun the build"):
      final.adopt(part)
    final.add(["z"], np.zeros((1, 4), np.float32))
