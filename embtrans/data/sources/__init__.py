"""Text sources: named, deterministic lists of (id, text, metadata).

    src = get_source("hotpotqa", data_files="dev.jsonl")
    records = src.records(limit=None)      # [TextRecord(id, text, meta)]
    src.fingerprint()                      # changes when the texts would

Built in:
  pydocs    the offline default: standard-library docstrings (pydocs.py).
  hotpotqa  HotPotQA questions and context paragraphs, from the hub through
            `datasets.load_dataset`, or from local files in its schema.
  files     any local JSONL / JSON / CSV / TSV / Parquet file with a text
            column and an optional id column.
  images    a folder of image files, for image encoders (clip_vision); the
            record's text is the file's path.

A source is a factory: `get_source(name, **kwargs)` builds it; its
`fingerprint()` covers the kwargs and the content it reads, so a cached
embedding dataset is reused only for the same texts.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
from typing import Any, Callable, Sequence

from embtrans.data.format import DatasetError


@dataclasses.dataclass(frozen=True)
class TextRecord:
  id: str
  text: str
  meta: dict


@dataclasses.dataclass(frozen=True)
class TextSource:
  """A named text source; `records(limit)` returns up to `limit` records.

  Attributes:
    name: the registry name.
    records: `limit -> [TextRecord]`, deterministic, ids unique.
    fingerprint: a short hash of everything that determines the records.
    config: the JSON-able arguments it was built with (for manifests).
    modality: 'text', or 'image' when each record's text is an image path.
  """

  name: str
  records: Callable[[int | None], list[TextRecord]]
  fingerprint: Callable[[], str]
  config: dict = dataclasses.field(default_factory=dict)
  modality: str = "text"


# name -> (module, factory attribute); modules import lazily.
_FACTORIES: dict[str, tuple[str, str]] = {
    "pydocs": ("embtrans.data.sources.pydocs", "pydocs_source"),
    "hotpotqa": ("embtrans.data.sources.hotpotqa", "hotpotqa_source"),
    "files": ("embtrans.data.sources.files", "files_source"),
    "images": ("embtrans.data.sources.images", "images_source"),
}
_INSTANCES: dict[str, TextSource] = {}


def register_source(source: TextSource) -> None:
  """Registers a ready-made source (takes no arguments)."""
  _INSTANCES[source.name] = source


def register_source_factory(name: str, module: str, attribute: str) -> None:
  """Registers `module.attribute(**kwargs) -> TextSource` as `name`."""
  _FACTORIES[name] = (module, attribute)


def known_sources() -> list[str]:
  return sorted(set(_FACTORIES) | set(_INSTANCES))


def get_source(name: str, **kwargs: Any) -> TextSource:
  """Builds the source registered as `name` with `kwargs`.

  Raises:
    ValueError: unknown name (the known ones are listed) or bad arguments.
  """
  if name in _INSTANCES:
    if kwargs:
      raise ValueError(f"Text source {name!r} takes no arguments; got "
                       f"{sorted(kwargs)}.")
    return _INSTANCES[name]
  if name not in _FACTORIES:
    raise ValueError(f"Unknown text source {name!r}. Known sources: "
                     f"{known_sources()}.")
  module, attribute = _FACTORIES[name]
  factory = getattr(importlib.import_module(module), attribute)
  try:
    return factory(**kwargs)
  except TypeError as e:
    raise ValueError(f"Bad arguments for text source {name!r}: {e}.") from e


def check_records(records: Sequence[TextRecord], where: str) -> None:
  """Fails on empty texts or duplicate ids, naming a few of them.

  Raises:
    DatasetError: what is wrong, how many, examples, and what to do.
  """
  empty = [r.id for r in records if not r.text or not r.text.strip()]
  if empty:
    raise DatasetError(
        f"{where}: {len(empty)} empty text(s), e.g. ids {empty[:3]}. Remove "
        "them from the input (or, for the 'files' source, pass "
        "skip_empty=True).")
  counts = collections.Counter(r.id for r in records)
  dups = [i for i, c in counts.items() if c > 1]
  if dups:
    raise DatasetError(
        f"{where}: {len(dups)} duplicate id(s), e.g. {dups[:3]}. Ids must be "
        "unique: fix the id column or leave it out to number the rows.")


def pydocs_records(limit: int | None = None) -> list[TextRecord]:
  """The default corpus (see pydocs.py); kept here for existing callers."""
  return get_source("pydocs").records(limit)
