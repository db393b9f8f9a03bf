"""End to end: the work of `python -m embtrans.retrieval` (evaluate, then
the report) on tiny pydocs-like data, and
bad configs failing with one clear error before anything is written."""

import json

import pytest

from embtrans.retrieval import evaluation
from embtrans.retrieval import report
from embtrans.retrieval import summaries
from tests import helpers
from tests import retrieval_helpers as rh


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  """The entry's work (main only parses flags) on a tiny pydocs-like set."""
  root = tmp_path_factory.mktemp("two_stage")
  a, b = rh.pydocs_like(root)
  config = helpers.load_config(
      "two_stage", f"index={a},queries={a}+{b},tiny=True")
  summary = evaluation.evaluate(config, root / "work", root / "report")
  return root, summary


def test_entry_writes_results_summary_and_report(run):
  root, returned = run
  work = root / "work"
  summary = json.loads((work / "summary.json").read_text())
  assert summary["meta"]["seeds"] == returned["meta"]["seeds"] == [0, 1, 2]
  flat = json.loads((work / "results.json").read_text())
  assert flat == evaluation.flat(summary)
  for name in ("filters", "decisions", "alignment", "permission"):
    assert (work / "rows" / f"{name}.jsonl").read_text().strip()
  out = root / "report"
  for name in ("README.md", "recall_vs_selectivity_prefilter.png",
               "recall_vs_selectivity_postfilter.png",
               "recall_vs_selectivity_chroma_where.png",
               "recall_vs_overfetch.png", "decisions_vs_candidates.png",
               "tables/filters.csv", "tables/decisions.csv"):
    assert (out / name).stat().st_size > 0, name
  readme = (out / "README.md").read_text()
  assert "toy/b translated into toy/a by lstsq" in readme
  assert str(root) not in readme  # no machine paths in a report
  # The README is a function of summary.json alone.
  assert report.readme(summary) == readme


def test_entry_numbers_obey_closed_forms(run):
  root, _ = run
  s = json.loads((root / "work" / "summary.json").read_text())
  # Filter-then-exact-search is exact: recall 1 at every selectivity.
  for r in summaries.pick(s["filters"], path="prefilter"):
    assert r["recall"] == 1.0 or r["passing"] == 0, r
  # A net of one candidate decides like the embedding's top 1.
  for space in s["meta"]["spaces"]:
    top1 = summaries.one(s["decisions"], space=space, subset="all",
                         method="embedding_only")
    net1 = summaries.one(s["decisions"], space=space, subset="all",
                         method="postfilter", rule="module_kind_name", K=1)
    assert net1["accuracy"] == pytest.approx(top1["accuracy"])
  # The planted near-copies never come back, yet are the top 1 without the
  # permission filter.
  audit = {(r["path"], r["filter"]): r for r in s["permission"]}
  control = audit.pop(("control_no_permission", "none"))
  assert control["leaks"] == control["queries"] == 8
  assert all(r["leaks"] == 0 for r in audit.values())


def test_bad_config_fails_before_writing(tmp_path):
  """One clear ValueError (the entry prints it as one line: embtrans.cli)."""
  for field, value, message in (
      ("selectivities", (1.0, 0.0), r"selectivities must be in \(0, 1\]"),
      ("postfilter_sources", ("exact", "faiss"),
       r"Unknown postfilter source\(s\) \['faiss'\]"),
      ("overfetch", (1, 0), "overfetch must hold positive ints")):
    c = helpers.load_config("two_stage", "tiny=True")
    setattr(c.filters, field, value)
    with pytest.raises(ValueError, match=message):
      evaluation.evaluate(c, tmp_path / "w")
  c = helpers.load_config("two_stage", "tiny=True")
  c.translator.name = "ridge"
  with pytest.raises(ValueError, match="Unknown translator 'ridge'"):
    evaluation.evaluate(c, tmp_path / "w")
  c = helpers.load_config("two_stage", "index=no_such_space,tiny=True")
  with pytest.raises(ValueError, match="'no_such_space' is neither"):
    evaluation.evaluate(c, tmp_path / "w")
  assert not (tmp_path / "w").exists()
