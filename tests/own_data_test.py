"""README "Your own data": a JSONL -> two embedding datasets -> a trained
translator -> a ChromaDB collection, in the README's three commands, run as
subprocesses. Cheaper settings than the README's: minilm_static in place of
minilm, tfidf_lsa at 32 dims, a tiny run."""

from __future__ import annotations

import json
import os
import pathlib
import random
import subprocess
import sys

import numpy as np
import pytest

from tests import helpers

ROOT = helpers.ROOT

# The README's commands, with {jsonl}, {work}, {db} for its paths; the
# test's substitutions are applied on top (see CHEAP).
COMMANDS = [
    "python -m embtrans.embed --config=configs/embed/files.py:path={jsonl},"
    "text_column=body,id_column=note_id,encoder=minilm+tfidf_lsa",
    "python -m embtrans.main --config=configs/mlp8x.py:a=notes/minilm,"
    "b=notes/tfidf_lsa --workdir={work}",
    "python -m embtrans.export_chroma --dataset=notes/minilm "
    "--translator={work} --db={db}",
]
CHEAP = [("encoder=minilm+tfidf_lsa", "encoder=minilm_static+tfidf_lsa,"
          "lsa_dim=32"), ("notes/minilm", "notes/minilm_static"),
         ("b=notes/tfidf_lsa", "b=notes/tfidf_lsa,tiny=True")]


def write_notes(path: pathlib.Path, n: int = 300, repeats: int = 30
                ) -> list[dict]:
  """n short notes of another domain; the last `repeats` repeat an earlier
  note's text under a new id."""
  r = random.Random(0)
  words = ("kettle garden river engine violin harbour orchard lantern "
           "bicycle meadow bread ladder").split()
  verbs = "heats waters crosses powers tunes shelters feeds lights".split()
  rows = [{"note_id": f"n{i}", "topic": r.choice(["home", "work"]),
           "body": f"The {r.choice(words)} {r.choice(verbs)} the "
                   f"{r.choice(words)} near the {r.choice(words)} ({i})."}
          for i in range(n - repeats)]
  rows += [dict(rows[k], note_id=f"dup{k}") for k in range(repeats)]
  path.write_text("".join(json.dumps(row) + "\n" for row in rows))
  return rows


def test_readme_lists_the_commands():
  readme = (ROOT / "README.md").read_text()
  for command in COMMANDS:
    shown = command.format(jsonl="notes.jsonl", work="/tmp/notes_mlp",
                           db="/tmp/chroma")
    assert shown in readme, shown


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp("own_data")
  rows = write_notes(root / "notes.jsonl")
  env = dict(os.environ, EMBTRANS_CACHE=str(root / "cache"),
             PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
  outputs = []
  for template in COMMANDS:
    for old, new in CHEAP:
      template = template.replace(old, new)
    command = template.format(jsonl=root / "notes.jsonl", work=root / "work",
                              db=root / "db").split()
    proc = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs.append(proc)
  return root, rows, outputs


def test_three_commands_give_datasets_translator_and_collection(run):
  root, rows, outputs = run
  from embtrans import data  # pylint: disable=g-import-not-at-top
  from embtrans import inference  # pylint: disable=g-import-not-at-top
  from embtrans.export import chroma  # pylint: disable=g-import-not-at-top
  os.environ["EMBTRANS_CACHE"] = str(root / "cache")
  a, b = data.load("notes/minilm_static"), data.load("notes/tfidf_lsa")
  assert len(a) == len(b) == len(rows) and (a.dim, b.dim) == (384, 32)
  assert "30 rows repeat an earlier text" in outputs[0].stdout
  results = json.loads((root / "work" / "results.json").read_text())
  assert 0 <= results["test/recall@1"] <= 1
  # A collection of every row, holding the translated vectors.
  col = chroma.client(root / "db").get_collection(
      chroma.collection_name("notes/minilm_static--to--notes/tfidf_lsa"),
      embedding_function=None)
  assert col.count() == len(rows)
  got = col.get(ids=[str(i) for i in a.ids[:5]],
                include=["embeddings", "metadatas"])
  translate = inference.load_translator(str(root / "work"))
  want = dict(zip(a.ids[:5], np.asarray(translate(a.vectors[:5]))))
  for i, vec, meta in zip(got["ids"], got["embeddings"], got["metadatas"]):
    np.testing.assert_allclose(vec, want[i], rtol=1e-4, atol=1e-5)
    assert (meta["source_model"], meta["target_model"]) == (
        "minilm_static", "tfidf_lsa")


def test_data_json_counts_test_texts_seen_in_train(run):
  """Counted independently from the JSONL and the datasets' split column."""
  root, rows, _ = run
  from embtrans import data  # pylint: disable=g-import-not-at-top
  os.environ["EMBTRANS_CACHE"] = str(root / "cache")
  ds = data.load("notes/minilm_static")
  split = dict(zip(ds.ids, ds.splits))
  train_texts = {r["body"] for r in rows if split[r["note_id"]] == "train"}
  expected = sum(r["body"] in train_texts for r in rows
                 if split[r["note_id"]] == "test")
  info = json.loads((root / "work" / "data.json").read_text())
  assert expected > 0 and info["test_texts_in_train"] == expected
