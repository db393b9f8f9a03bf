"""The real task's construction: kinds from the syntax tree, splits, held-out
records, namesakes and the translator's training pairs."""

import numpy as np
import pytest

from embtrans.data import format as fmt
from embtrans.retrieval import corpus
from tests import retrieval_helpers as rh


def test_kinds_come_from_the_stdlib_syntax_tree():
  ids = ["pydocs:json/decoder.py:JSONDecoder:summary",
         "pydocs:json/decoder.py:JSONDecoder.decode:body",
         "pydocs:json/__init__.py:dumps:summary",
         "pydocs:json/__init__.py:<module>:summary",
         "pydocs:json/__init__.py:no_such_name:summary",
         "pydocs:no/such/file.py:f:summary", "other-id"]
  assert corpus.stdlib_kinds(ids).tolist() == [
      "class", "method", "function", "module", "unknown", "unknown",
      "unknown"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
  a, b = rh.pydocs_like(tmp_path_factory.mktemp("corpus"))
  return fmt.open_dataset(a), fmt.open_dataset(b)


def test_task_splits_and_held_out(datasets):
  a, _ = datasets
  task = corpus.build_task(a, tenant="acme", val_fraction=0.25)
  cat = task.catalog
  part = a.column("part")
  assert len(cat) == (part == "summary").sum()
  assert set(cat.attributes["tenant"].tolist()) == {"acme"}
  split = dict(zip(a.ids.tolist(), a.splits.tolist()))
  for q, name in ((task.test, "test"), (task.val, "train")):
    assert len(q) and all(split[i] == name for i in q.ids)
    for i, t in zip(q.ids, q.targets):  # the body's own summary
      assert cat.ids[t] == i.replace(":body", ":summary")
  assert not set(task.test.ids) & set(task.val.ids)
  bodies = [i for i in a.ids if i.endswith(":body")]
  train_bodies = [i for i in bodies if split[i] == "train"]
  assert len(task.val) < len(train_bodies)  # a carve, not all of train
  want = set(task.test.ids) | set(task.val.ids) | {
      cat.ids[t] for t in np.concatenate([task.test.targets,
                                          task.val.targets])}
  assert task.held_out == want
  # Namesakes: same name and kind in another module (NumPy reference).
  attrs = cat.attributes
  for r in range(len(cat)):
    other = ((attrs["name"] == attrs["name"][r]) &
             (attrs["kind"] == attrs["kind"][r]) &
             (attrs["module"] != attrs["module"][r]))
    assert task.namesake[r] == other.any()


def test_translator_never_sees_held_out_records(datasets):
  a, b = datasets
  task = corpus.build_task(a)
  native, info = corpus.query_vectors(a, a, task.test.ids)
  rows = [a.ids.tolist().index(i) for i in task.test.ids]
  np.testing.assert_array_equal(native, np.asarray(a.vectors[rows]))
  assert info["fit_pairs"] == 0
  moved, info = corpus.query_vectors(a, b, task.test.ids, "lstsq",
                                     task.held_out, seed=0, fit_fraction=1.0)
  eligible = [i for i, s in zip(a.ids.tolist(), a.splits.tolist())
              if s == "train" and i not in task.held_out]
  assert info["fit_pairs"] == len(eligible)
  assert moved.shape == (len(task.test), a.dim)
  with pytest.raises(ValueError, match="lacks 1 query id"):
    corpus.query_vectors(a, b, ["no-such-id"])
