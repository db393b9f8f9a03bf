"""The run directory: config.json on start, results.json at the end."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Mapping

import jax
import ml_collections

# Keys that may change between a run and its resumption.
_RESUMABLE_KEYS = frozenset({"log_every"})
# data.json keys added later: a run written before them still resumes.
_ADDED_DATA_KEYS = frozenset({"test_texts_in_train"})


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  out = {}
  for k, v in d.items():
    if isinstance(v, Mapping):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def write_json_atomic(path: pathlib.Path, obj: Any) -> None:
  """Writes JSON to `path` via a temporary file and a rename."""
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
  os.replace(tmp, path)


def _check_same(path: pathlib.Path, new: Mapping[str, Any], what: str,
                ignore: frozenset = frozenset(),
                added: frozenset = frozenset()) -> None:
  old, flat = _flatten(json.loads(path.read_text())), _flatten(new)
  diff = sorted(k for k in old.keys() | flat.keys()
                if old.get(k) != flat.get(k) and k not in ignore
                and not (k in added and k not in old))
  if diff:
    changes = ", ".join(f"{k}: {old.get(k)!r} -> {flat.get(k)!r}"
                        for k in diff[:6])
    raise ValueError(
        f"{path.parent} already holds a run with a different {what} "
        f"({changes}). Use a new --workdir, or delete {path.parent} to start"
        " over.")


def prepare(config: ml_collections.ConfigDict, workdir: str,
            data_info: Mapping[str, Any]) -> pathlib.Path:
  """Creates `workdir` with config.json and data.json, or checks them.

  Resuming needs the same config and the same data (sources, dims, sizes).

  Raises:
    ValueError: the workdir holds another run; nothing in it is changed.
  """
  path = pathlib.Path(workdir)
  path.mkdir(parents=True, exist_ok=True)
  new = json.loads(config.to_json_best_effort(sort_keys=True))
  for name, obj, what, ignore, added in (
      ("config.json", new, "config", _RESUMABLE_KEYS, frozenset()),
      ("data.json", dict(data_info), "data", frozenset(), _ADDED_DATA_KEYS)):
    if (path / name).is_file():
      _check_same(path / name, obj, what, ignore, added)
    elif jax.process_index() == 0:
      write_json_atomic(path / name, obj)
  return path


def write_results(workdir: pathlib.Path, results: Mapping[str, float]) -> None:
  if jax.process_index() == 0:
    write_json_atomic(workdir / "results.json", dict(results))
