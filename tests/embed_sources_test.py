"""Text sources: HotPotQA through `datasets` (local files), local files."""

import json

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from embtrans.data import format as fmt
from embtrans.data import sources
from tests import embed_helpers


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory):
  return str(tmp_path_factory.mktemp("hf_datasets"))


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_hotpotqa_from_local_files_in_the_hub_schema(tmp_path, hf_cache,
                                                     suffix):
  path = embed_helpers.write_hotpotqa(tmp_path / f"dev{suffix}")
  src = sources.get_source("hotpotqa", data_files=str(path),
                           cache_dir=hf_cache)
  records = src.records(None)
  examples = embed_helpers.hotpotqa_examples()
  questions = [r for r in records if r.meta["kind"] == "question"]
  paragraphs = [r for r in records if r.meta["kind"] == "paragraph"]
  assert [r.id for r in questions] == [
      f"hotpotqa:{e['id']}:question" for e in examples]
  assert [r.text for r in questions] == [e["question"] for e in examples]
  # Paragraphs shared by several questions are kept once.
  assert len(paragraphs) == embed_helpers.num_hotpotqa_paragraphs()
  assert len({r.id for r in records}) == len(records)
  first = examples[0]
  q0 = questions[0].meta
  assert (q0["type"], q0["level"], q0["answer"]) == (
      first["type"], first["level"], first["answer"])
  title = first["context"]["title"][0]
  para = next(r for r in paragraphs if r.meta["title"] == title)
  content = "".join(first["context"]["sentences"][0]).strip()
  assert para.text == f"{title}: {content}"
  assert para.id == sources.hotpotqa.paragraph_id(title, content)
  assert para.meta["supporting"] is (title in first["supporting_facts"][
      "title"])
  # Questions come first in their example's order; the limit is a prefix.
  assert [r.id for r in src.records(3)] == [r.id for r in records[:3]]


def test_hotpotqa_ids_do_not_depend_on_order(tmp_path, hf_cache):
  fwd = embed_helpers.write_hotpotqa(tmp_path / "a.jsonl")
  lines = fwd.read_text().splitlines()
  rev = tmp_path / "b.jsonl"
  rev.write_text("\n".join(reversed(lines)) + "\n")
  ids = [{r.id for r in sources.get_source(
      "hotpotqa", data_files=str(p), cache_dir=hf_cache).records(None)}
         for p in (fwd, rev)]
  assert ids[0] == ids[1]
  fp = [sources.get_source("hotpotqa", data_files=str(p)).fingerprint()
        for p in (fwd, rev)]
  assert fp[0] != fp[1]  # Different bytes, different fingerprint.


def test_hotpotqa_questions_only_and_schema_errors(tmp_path, hf_cache):
  path = embed_helpers.write_hotpotqa(tmp_path / "dev.jsonl")
  recs = sources.get_source("hotpotqa", data_files=str(path),
                            include="questions", cache_dir=hf_cache).records(
                                None)
  assert {r.meta["kind"] for r in recs} == {"question"}
  bad = tmp_path / "bad.jsonl"
  bad.write_text(json.dumps({"id": "x", "question": "q?"}) + "\n")
  with pytest.raises(fmt.DatasetError, match="no column.*context"):
    sources.get_source("hotpotqa", data_files=str(bad),
                       cache_dir=hf_cache).records(None)
  with pytest.raises(FileNotFoundError, match="does not exist"):
    sources.get_source("hotpotqa", data_files=str(tmp_path / "nope.jsonl"))


def test_hotpotqa_hub_path_fails_clearly_offline(monkeypatch, tmp_path):
  # The real hub call; this machine (and the test session) is offline.
  monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
  monkeypatch.setenv("HF_HUB_OFFLINE", "1")
  src = sources.get_source("hotpotqa", split="validation",
                           cache_dir=str(tmp_path))
  with pytest.raises(fmt.DatasetError, match="data_files=<local files>"):
    src.records(10)


def _write_table(path, table):
  if path.suffix == ".parquet":
    pq.write_table(table, path)
  elif path.suffix == ".csv":
    pyarrow.csv.write_csv(table, path)
  else:
    path.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_files_source_reads_texts_ids_and_metadata(tmp_path, suffix):
  table = pa.table({"doc": ["k1", "k2", "k3"],
                    "body": ["first text", "second text", "third text"],
                    "label": [3, 1, 2], "split": ["a", "b", "c"]})
  path = tmp_path / f"notes{suffix}"
  _write_table(path, table)
  src = sources.get_source("files", path=str(path), text_column="body",
                           id_column="doc")
  recs = src.records(None)
  assert [r.id for r in recs] == ["k1", "k2", "k3"]
  assert [r.text for r in recs] == table.column("body").to_pylist()
  assert [r.meta["label"] for r in recs] == [3, 1, 2]
  assert recs[0].meta["split"] == "a"  # Stored as source_split on build.
  numbered = sources.get_source("files", path=str(path), text_column="body")
  assert [r.id for r in numbered.records(2)] == ["notes:0", "notes:1"]


def test_files_source_bad_input(tmp_path):
  path = tmp_path / "t.jsonl"
  _write_table(path, pa.table({"id": ["a", "a", "b"],
                               "text": ["x", "y", "  "]}))
  src = sources.get_source("files", path=str(path), id_column="id")
  with pytest.raises(fmt.DatasetError, match="1 empty text"):
    sources.check_records(src.records(None), "t")
  kept = sources.get_source("files", path=str(path), id_column="id",
                            skip_empty=True).records(None)
  with pytest.raises(fmt.DatasetError, match="duplicate id.*'a'"):
    sources.check_records(kept, "t")
  with pytest.raises(fmt.DatasetError, match="no column 'body'"):
    sources.get_source("files", path=str(path), text_column="body").records(
        None)
  with pytest.raises(FileNotFoundError, match="does not exist"):
    sources.get_source("files", path=str(tmp_path / "missing.csv"))


def test_unknown_source_and_bad_arguments():
  with pytest.raises(ValueError, match="Known sources: .*files.*hotpotqa"):
    sources.get_source("wikipedia")
  with pytest.raises(ValueError, match="takes no arguments|Bad arguments"):
    sources.get_source("pydocs", path="x")
