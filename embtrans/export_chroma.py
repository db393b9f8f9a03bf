"""Write an embedding dataset (original or translated) into local ChromaDB.

  python -m embtrans.export_chroma --dataset=hotpotqa-local/t5 \
      --db=/data/chroma
  python -m embtrans.export_chroma --dataset=/cache/pydocs-all-minilm-... \
      --db=/data/chroma --translator=/tmp/mlp8x --split=test

--dataset is a path or a dataset name (embtrans.data.load); --translator a
`python -m embtrans.main` workdir whose source is that dataset's model. See
embtrans/export/chroma.py for the records and metadata written.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

from absl import app
from absl import flags

from embtrans.export import chroma

_DATASET = flags.DEFINE_string("dataset", None, "Dataset path or name.")
_DB = flags.DEFINE_string("db", None, "ChromaDB directory (persistent).")
_COLLECTION = flags.DEFINE_string("collection", None, "Collection name "
                                  "(default: from the dataset/translator).")
_TRANSLATOR = flags.DEFINE_string("translator", None, "Translator workdir: "
                                  "export its translation of the vectors.")
_SPLIT = flags.DEFINE_enum("split", "all", chroma.SPLITS, "Rows to export.")
_SPACE = flags.DEFINE_enum("space", "cosine", chroma.SPACES, "HNSW distance.")
_REPLACE = flags.DEFINE_bool("replace", False, "Replace an existing "
                             "collection of that name.")
_APPEND = flags.DEFINE_bool("append", False, "Add to an existing collection "
                            "of that name (same provenance only); without "
                            "--replace or --append an existing one is refused.")
flags.mark_flags_as_required(["dataset", "db"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.check_workdir(_DB.value, "--db")
  cli.start(devices=False)
  chroma.require_chromadb()
  out = cli.on_process_zero(
      chroma.export_dataset, _DATASET.value, _DB.value, _COLLECTION.value,
      _TRANSLATOR.value, _SPLIT.value, space=_SPACE.value,
      replace=_REPLACE.value, append=_APPEND.value)
  if out is None:  # Process 0 writes the collection.
    return
  print(f"Wrote {out.count} records to collection {out.collection!r} in "
        f"{out.db_path} ({out.metadata['source_model']} -> "
        f"{out.metadata['target_model']}, dim {out.metadata['dim']}).")


if __name__ == "__main__":
  cli.run(main, "embtrans.export_chroma")
