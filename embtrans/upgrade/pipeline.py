"""prepare (pair datasets, task.json) and evaluate (selection, test scores)."""

from __future__ import annotations

import json
import pathlib
from typing import Sequence

from embtrans import workdirs
from embtrans.upgrade import data
from embtrans.upgrade import spaces


def prepare(workdir: str, sizes: Sequence[int]) -> str:
  """Writes W/data/fit-n<size>-<space> and W/task.json; -> a summary line."""
  root = pathlib.Path(workdir)
  root.mkdir(parents=True, exist_ok=True)
  old, new = spaces.open_spaces()
  dirs = data.write_fit_datasets(root / "data", old, new, sizes)
  parts = data.splits(old.query.ids)
  task = {"old": old.info(), "new": new.info(), "sizes": list(sizes),
          "fit_pairs": {data.size_label(k): len(
              data.fit_order(parts["fit"]))
              if k == 0 else k for k in dirs},
          "splits": {k: {"queries": len(v.queries), "docs": len(v.docs),
                         "texts": len(v.texts)} for k, v in parts.items()}}
  workdirs.write_json_atomic(root / "task.json", task)
  return (f"Wrote {len(dirs)} pair sizes to {root / 'data'}; splits "
          f"{json.dumps(task['splits'])}.")
