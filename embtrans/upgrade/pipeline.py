"""prepare (pair datasets, task.json) and evaluate (selection, test scores)."""

from __future__ import annotations

import json
import os
import pathlib
import time
from typing import Sequence

from embtrans import workdirs
from embtrans.data import build as build_lib
from embtrans.retrieval import summaries
from embtrans.upgrade import data
from embtrans.upgrade import evaluate as evaluate_lib
from embtrans.upgrade import spaces


def prepare(workdir: str, sizes: Sequence[int],
            data_dir: str | None = None) -> str:
  """Writes <data_dir>/fit-n<size>-<space> (default <cache>/upgrade) and
  W/task.json; -> a summary line."""
  root = pathlib.Path(workdir)
  root.mkdir(parents=True, exist_ok=True)
  out = pathlib.Path(data_dir or build_lib.default_cache_dir() / "upgrade")
  old, new = spaces.open_spaces()
  dirs = data.write_fit_datasets(out, old, new, sizes)
  parts = data.splits(old.query.ids)
  task = {"old": old.info(), "new": new.info(), "sizes": list(sizes),
          "fit_pairs": {data.size_label(k): len(
              data.fit_order(parts["fit"]))
              if k == 0 else k for k in dirs},
          "splits": {k: {"queries": len(v.queries), "docs": len(v.docs),
                         "texts": len(v.texts)} for k, v in parts.items()}}
  workdirs.write_json_atomic(root / "task.json", task)
  return (f"Wrote {len(dirs)} pair sizes to {out}; splits "
          f"{json.dumps(task['splits'])}.")


def _recovered(row: dict, refs: dict, direction: str) -> dict:
  """Adds recovered_<s> (/ re-embedded) and of_index_<s> (/ index alone)."""
  query_model, index_model = evaluate_lib.DIRECTIONS[direction]
  for s in evaluate_lib.SCORES:
    row[f"recovered_{s}"] = row[s] / max(refs[query_model][s], 1e-12)
    row[f"of_index_{s}"] = row[s] / max(refs[index_model][s], 1e-12)
  return row


FACTORS = ("direction", "arch", "pairs", "lr", "steps", "loss")
VALUES = (*evaluate_lib.SCORES, "identity_recall@1", "identity_recall@10",
          *(f"recovered_{s}" for s in evaluate_lib.SCORES),
          *(f"of_index_{s}" for s in evaluate_lib.SCORES))


def summarize(task: dict, refs: dict, val_rows: list, picked: dict,
              rows: list, seconds: float, load: tuple) -> dict:
  """summary.json: references, validation choices, test rows and means."""
  sizes = {int(k if k != "all" else 0): v
           for k, v in task["fit_pairs"].items()}
  for r in rows:
    r["pairs"] = sizes[int(r["n"])]
    _recovered(r, refs["test"], r["direction"])
  agg = summaries.aggregate(rows, FACTORS, VALUES)
  val = summaries.aggregate(
      [{**{k: v for k, v in r.items() if k != "dir"},
        "pairs": sizes[int(r["n"])]} for r in val_rows],
      FACTORS, evaluate_lib.SCORES)
  return {"task": task, "references": refs, "validation": val,
          "picked": [{"direction": k[0], "arch": k[1], "pairs": sizes[k[2]],
                      "lr": c.get("lr"), "steps": c.get("steps"),
                      "loss": c.get("loss")}
                     for k, c in sorted(picked.items())],
          "test": agg, "test_rows": rows, "seconds": seconds,
          "load_avg": list(load)}


def evaluate(workdir: str, report: str | None = None) -> str:
  """Validation choices, test scores (W/summary.json), the report."""
  t0, load0 = time.time(), os.getloadavg()[0]
  root = pathlib.Path(workdir)
  task = json.loads((root / "task.json").read_text())
  old, new = spaces.open_spaces()
  sp = {"old": old, "new": new}
  parts = data.splits(old.query.ids)
  refs = {s: evaluate_lib.references(sp, parts[s])
          for s in ("validation", "test")}
  val_rows = evaluate_lib.validation_rows(root / "sweep", sp,
                                          parts["validation"])
  if not val_rows:
    raise FileNotFoundError(f"No finished cells in {root / 'sweep'}: run the "
                            "sweep (configs/upgrade.py) first.")
  picked = evaluate_lib.pick(val_rows)
  rows = evaluate_lib.test_rows(picked, sp, parts["test"])
  summary = summarize(task, refs, val_rows, picked, rows, time.time() - t0,
                      (load0, os.getloadavg()[0]))
  workdirs.write_json_atomic(root / "summary.json", summary)
  if report:
    from embtrans.upgrade import report as report_lib  # pylint: disable=g-import-not-at-top
    report_lib.write(summary, pathlib.Path(report))
  return (f"Scored {len(rows)} picked members on the test split "
          f"({summary['seconds']:.0f} s); {root / 'summary.json'}"
          + (f", report in {report}." if report else "."))


def report_only(workdir: str, out: str | None) -> str:
  """Rewrites the report from W/summary.json (no scoring)."""
  if not out:
    raise ValueError("report needs --report=<directory>.")
  path = pathlib.Path(workdir) / "summary.json"
  if not path.is_file():
    raise FileNotFoundError(f"{path} is missing: run python -m "
                            "embtrans.upgrade evaluate first.")
  from embtrans.upgrade import report as report_lib  # pylint: disable=g-import-not-at-top
  return f"Wrote {report_lib.write(json.loads(path.read_text()), pathlib.Path(out))}."
