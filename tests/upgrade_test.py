"""The upgrade task: docstring splits, pair datasets, picks, findings, report."""

import pathlib

import numpy as np
import pytest

from embtrans.data import format as fmt
from embtrans.upgrade import data
from embtrans.upgrade import evaluate
from embtrans.upgrade import findings
from embtrans.upgrade import report


def _ids(n=300):
  out = []
  for i in range(n):
    out.append(f"pydocs:m{i % 7}.py:f{i}:summary")
    if i % 5:  # Every fifth docstring has no body.
      out.append(f"pydocs:m{i % 7}.py:f{i}:body")
  return np.array(out)


def test_docstrings_not_texts_are_split():
  ids = _ids()
  parts = data.splits(ids)
  owner = {}
  for name, split in parts.items():
    for r in split.texts:
      assert owner.setdefault(data.docstring_of(ids[r])[0], name) == name
    for q, p in zip(split.queries, split.positives):
      doc = ids[split.docs[p]]
      assert ids[q].endswith(":summary") and doc.endswith(":body")
      assert data.docstring_of(ids[q])[0] == data.docstring_of(doc)[0]
      assert split.docs[p] in split.texts
  assert all(len(parts[s].queries) for s in data.SPLITS)
  assert sum(len(p.texts) for p in parts.values()) == len(ids)


def _space(root, name, ids, fingerprint, seed):
  vectors = np.random.default_rng(seed).standard_normal((len(ids), 4))
  fmt.write_dataset(root / name, ids, vectors, manifest_extra={
      "name": name, "model": name, "model_fingerprint": fingerprint})
  ds = fmt.open_dataset(root / name)
  return data.Space(name, ds, ds)


def test_pair_datasets_hold_n_fit_pairs_and_the_validation_texts(tmp_path):
  ids = _ids()
  old = _space(tmp_path, "old", ids, "fp-old", 0)
  new = _space(tmp_path, "new", ids, "fp-new", 1)
  dirs = data.write_fit_datasets(tmp_path / "d", old, new, [10, 0])
  parts = data.splits(ids)
  order = data.fit_order(parts["fit"])
  for size, n in ((10, 10), (0, len(order))):
    a, b = (fmt.open_dataset(p) for p in dirs[size])
    assert list(a.ids[a.splits == "train"]) == list(ids[order[:n]])
    assert list(a.ids[a.splits == "test"]) == list(
        ids[parts["validation"].texts])
    np.testing.assert_array_equal(a.splits, b.splits)
    np.testing.assert_allclose(np.asarray(b.vectors),
                               np.asarray(new.query.vectors)[
                                   np.r_[order[:n], parts["validation"].texts]])
    assert b.manifest["model_fingerprint"] == "fp-new"
  with pytest.raises(ValueError, match="the fit split holds"):
    data.fit_sizes([10**6], len(order))


def test_pick_takes_the_best_mean_validation_recall():
  rows = [{"dir": pathlib.Path(f"c{lr}"), "direction": "new_to_old",
           "arch": "mlp", "n": 0, "lr": lr, "steps": 400, "seed": s,
           "recall@10": r10, "mrr": 0.1}
          for lr, r10s in ((1e-3, (0.5, 0.95)), (3e-3, (0.7, 0.71)))
          for s, r10 in enumerate(r10s)]
  assert evaluate.pick(rows)[("new_to_old", "mlp", 0)]["lr"] == 1e-3
  rows[1]["recall@10"] = 0.6
  assert evaluate.pick(rows)[("new_to_old", "mlp", 0)]["lr"] == 3e-3


def _row(direction, arch, pairs, rec, lr=None, steps=None):
  return {"direction": direction, "arch": arch, "pairs": pairs, "lr": lr,
          "steps": steps, "loss": "mse" if lr else None, "seeds": 3, "recall@1": 0.3 * rec,
          "recall@10": 0.8 * rec, "mrr": 0.5 * rec,
          "recovered_recall@10": rec, "recovered_recall@10_lo": rec - 0.01,
          "recovered_recall@10_hi": rec + 0.01, "recovered_mrr": rec,
          "of_index_recall@10": rec * 0.9, "identity_recall@1": 0.9,
          "identity_recall@10": 0.99}


def _summary():
  test = []
  for d in findings.DIRECTION:
    for pairs, scale in ((100, 0.5), (1000, 0.9), (5000, 0.96)):
      test.append(_row(d, "procrustes", pairs, scale))
      test.append(_row(d, "mlp", pairs, scale + 0.01, 1e-3, 2000))
  val = [{**r, "recall@10": r["recall@10"]} for r in test]
  refs = {"old": {"recall@1": 0.5, "recall@10": 0.8, "mrr": 0.6},
          "new": {"recall@1": 0.45, "recall@10": 0.75, "mrr": 0.55}}
  return {"task": {"splits": {s: {"queries": 10, "docs": 20, "texts": 40}
                              for s in data.SPLITS},
                   "fit_pairs": {"100": 100, "1000": 1000, "all": 5000}},
          "references": {"validation": refs, "test": refs},
          "validation": val, "test": test,
          "picked": [{"lr": r["lr"], "steps": r["steps"]} for r in test],
          "test_rows": [{**r, "seed": 0} for r in test], "seconds": 1.0,
          "load_avg": [1.0, 1.0]}


def test_sentences_follow_the_numbers():
  s = _summary()
  assert "falls 1.0 points short" in findings.best(s, "new_to_old")
  assert "5,000 pairs" in findings.best(s, "new_to_old")
  assert "does not reach the 98.0 % goal" in findings.procrustes(
      s, "new_to_old")
  assert "98.0 % by no translator" in findings.thresholds(s, "new_to_old")
  for r in s["test"]:
    if r["direction"] == "new_to_old" and r["pairs"] == 1000:
      r["recovered_recall@10"] = 0.985
  assert "reaches the 98.0 % goal from 1,000 pairs" in findings.procrustes(
      s, "new_to_old")
  assert "98.0 % with 1,000 pairs" in findings.thresholds(s, "new_to_old")
  assert "no weaker" in findings.references(s)
  s["references"]["test"]["old"]["recall@10"] = 0.5
  assert "weaker than a re-embedded" in findings.references(s)
  assert "lower bounds" in findings.grid_edges(s)
  assert "moves Recall@10 by 10.00 points" in findings.resolution(s)
  s["task"]["splits"]["test"]["queries"] = 20
  assert "moves Recall@10 by 5.00 points" in findings.resolution(s)


def test_report_writes_readme_tables_and_plot(tmp_path):
  out = report.write(_summary(), tmp_path / "r")
  text = (out / "README.md").read_text()
  for name in ("README.md", "summary.json", "test_rows.csv",
               "validation.csv", report.PLOT):
    assert (out / name).is_file()
  assert "| Procrustes | 1,000 |" in text and str(tmp_path) not in text
  assert findings.references(_summary()) in text
