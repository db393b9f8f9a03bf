"""Export a trained translator, or apply an exported one.

  python -m embtrans.translate export --workdir=W --out=DIR [--seed=S]
  python -m embtrans.translate apply --translator=DIR --input=x.npy --output=y.npy
  python -m embtrans.translate apply --translator=DIR --input=in.parquet \
      --output=out.parquet [--column=embedding]
  python -m embtrans.translate apply --translator=DIR --input=DATASET_DIR \
      --output=OUT_DIR
  python -m embtrans.translate apply --translator=DIR --db=CHROMA_DIR \
      --collection=NAME [--new_collection=NAME]

export: W is a `python -m embtrans.main` workdir, a sweep cell
(W/cells/<cell>) or member (W/cells/<cell>/seed_<s>); closed-form runs
(lstsq, procrustes) are refitted on their training split. See
embtrans/export/translator.py for the files and apply.py for the checks.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

import pathlib

from absl import app
from absl import flags

from embtrans.export import apply as apply_lib
from embtrans.export import translator as tl

PROG = "embtrans.translate"
COMMANDS = ("export", "apply")
_WORKDIR = flags.DEFINE_string("workdir", None, "export: the run, sweep cell "
                               "or sweep member directory.")
_OUT = flags.DEFINE_string("out", None, "export: the directory to write.")
_SEED = flags.DEFINE_integer("seed", None, "export: the member's seed when "
                             "the run or cell trained several.")
_TRANSLATOR = flags.DEFINE_string("translator", None, "apply: an exported "
                                  "translator directory.")
_INPUT = flags.DEFINE_string("input", None, "apply: a .npy, a .parquet or an"
                             " embedding dataset directory.")
_OUTPUT = flags.DEFINE_string("output", None, "apply: where the translation "
                              "goes (same kind as --input).")
_COLUMN = flags.DEFINE_string("column", "embedding", "apply: the vectors "
                              "column of a .parquet input.")
_DB = flags.DEFINE_string("db", None, "apply: a ChromaDB directory.")
_COLLECTION = flags.DEFINE_string("collection", None, "apply: the collection "
                                  "to translate (left untouched).")
_NEW = flags.DEFINE_string("new_collection", None, "apply: the new "
                           "collection's name (default <name>--to--<model>).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing "
                               "output (directory, file or collection).")


def export_command(workdir, out, seed=None, overwrite=False) -> str:
  path = tl.export(workdir, out, seed, overwrite)
  c = tl.load(path).config
  return (f"Wrote {path}: {c['arch']['name']} {c['source']['model']} -> "
          f"{c['target']['model']} ({c['num_train_pairs']} training pairs).")


def apply_command(translator, input_path=None, output=None, column="embedding",
                  db=None, collection=None, new_collection=None,
                  overwrite=False) -> str:
  """Dispatches on the input kind; -> the line to print."""
  if not translator:
    raise ValueError("apply needs --translator=<exported translator dir>.")
  if bool(db) == bool(input_path):
    raise ValueError("apply needs either --input (with --output) or --db "
                     "(with --collection).")
  t = tl.load(translator)
  if db:
    if not collection:
      raise ValueError("--db needs --collection=<name to translate>.")
    out = apply_lib.apply_collection(t, db, collection, new_collection,
                                     replace=overwrite)
    return (f"Wrote {out.count} records to collection {out.collection!r} "
            f"({out.metadata['source_model']} -> "
            f"{out.metadata['target_model']}); {collection!r} is unchanged.")
  if not output:
    raise ValueError("--input needs --output=<where the translation goes>.")
  path = pathlib.Path(input_path)
  if path.is_dir():
    ds = apply_lib.apply_dataset(t, path, output, overwrite=overwrite)
    return f"Wrote {len(ds)} translated rows to {ds.path} ({ds.name})."
  kinds = {".npy": apply_lib.apply_npy, ".parquet": apply_lib.apply_parquet}
  if path.suffix not in kinds:
    raise ValueError(f"{path}: --input must be a .npy, a .parquet or an "
                     "embedding dataset directory.")
  if not path.is_file():
    raise FileNotFoundError(f"{path} does not exist.")
  kw = {"column": column} if path.suffix == ".parquet" else {}
  n = kinds[path.suffix](t, path, output, overwrite=overwrite, **kw)
  return f"Wrote {n} translated vectors to {output}."


def main(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"Usage: python -m {PROG} <export|apply> [--flags]"
                         " (see --help).")
  cli.start()
  if argv[1] == "export":
    if not _WORKDIR.value or not _OUT.value:
      raise ValueError("export needs --workdir=<run or sweep member> and "
                       "--out=<directory>.")
    said = cli.on_process_zero(export_command, _WORKDIR.value, _OUT.value,
                               _SEED.value, _OVERWRITE.value)
  else:
    said = cli.on_process_zero(
        apply_command, _TRANSLATOR.value, _INPUT.value, _OUTPUT.value,
        _COLUMN.value, _DB.value, _COLLECTION.value, _NEW.value,
        _OVERWRITE.value)
  if said:  # Process 0 alone writes (and says what it wrote).
    print(said)


if __name__ == "__main__":
  cli.run(main, PROG)
