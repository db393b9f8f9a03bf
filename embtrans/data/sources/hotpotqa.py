"""HotPotQA (Yang et al., 2018) as a text source: questions and paragraphs.

Loaded with `datasets.load_dataset`, either from the hub

    get_source("hotpotqa", config="distractor", split="validation")
    # = datasets.load_dataset("hotpotqa/hotpot_qa", "distractor", ...)

or from local JSON / JSONL / Parquet files in the same schema (the hub's
Parquet export, or files written by `Dataset.to_json`):

    get_source("hotpotqa", data_files="/data/hotpot_dev.jsonl")

Schema per example: id, question, answer, type, level,
supporting_facts {title: [str], sent_id: [int]},
context {title: [str], sentences: [[str]]}.

Texts, in example order:
  * each question, id `hotpotqa:<qid>:question`;
  * each context paragraph the first time it appears, id
    `hotpotqa:para:<sha1(title, content)[:16]>`: a paragraph shared by several
    questions is one text with one stable id, whatever the load order.
Metadata columns: kind (question | paragraph), qid, type, level, answer,
title, supporting, supporting_titles, hf_split.

Licence: HotPotQA is CC BY-SA 4.0 (https://hotpotqa.github.io/).
"""

from __future__ import annotations

import glob
import hashlib
import pathlib
from typing import Any, Iterator, Mapping, Sequence

from embtrans.data import digests
from embtrans.data.format import DatasetError
from embtrans.data.format import fingerprint
from embtrans.data.sources import TextRecord
from embtrans.data.sources import TextSource

HUB_ID = "hotpotqa/hotpot_qa"
CONFIGS = ("distractor", "fullwiki")
INCLUDE = ("both", "questions", "paragraphs")
_VERSION = 1  # Bump when the texts or ids made from an example change.
_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}
_REQUIRED = ("id", "question", "context")


def resolve_data_files(data_files: str | Sequence[str]) -> list[pathlib.Path]:
  """Expands globs; every file must exist and have one known extension."""
  patterns = [data_files] if isinstance(data_files, str) else list(data_files)
  files: list[pathlib.Path] = []
  for pattern in patterns:
    matches = sorted(glob.glob(str(pattern)))
    if not matches:
      raise FileNotFoundError(f"HotPotQA data file {pattern!r} does not "
                              "exist (or the glob matches nothing).")
    files.extend(pathlib.Path(m) for m in matches)
  kinds = {_FORMATS.get(p.suffix.lower()) for p in files}
  if None in kinds or len(kinds) != 1:
    raise ValueError(f"HotPotQA data_files must all be JSON/JSONL or all "
                     f"Parquet (got {[p.name for p in files]}).")
  return files


def load_examples(config: str, split: str, data_files: Sequence[str] | None,
                  revision: str | None, cache_dir: str | None):
  """The examples as a `datasets.Dataset` (hub or local files)."""
  import datasets  # pylint: disable=g-import-not-at-top
  try:
    if data_files:
      files = resolve_data_files(data_files)
      kind = _FORMATS[files[0].suffix.lower()]
      # Local files: `datasets`' Arrow copy goes next to embtrans's cache.
      return datasets.load_dataset(
          kind, data_files=[str(f) for f in files], split="train",
          cache_dir=cache_dir or str(digests.default_cache_dir() /
                                     "hf_datasets"))
    return datasets.load_dataset(HUB_ID, config, split=split,
                                 revision=revision, cache_dir=cache_dir)
  except (FileNotFoundError, ValueError):
    raise
  except Exception as e:  # pylint: disable=broad-except
    raise DatasetError(
        f"Could not load HotPotQA ({HUB_ID!r}, config={config!r}, split="
        f"{split!r}) from the hub: {type(e).__name__}: {str(e)[:300]}. "
        "Without network access, download it elsewhere (e.g. the hub's "
        "Parquet files) and pass data_files=<local files>.") from e


def _columns(context: Any) -> tuple[list[str], list[list[str]]]:
  """Titles and sentence lists of `context`, as a dict of lists or a list."""
  if isinstance(context, Mapping):
    return list(context["title"]), [list(s) for s in context["sentences"]]
  pairs = [(c["title"], c["sentences"]) if isinstance(c, Mapping) else c
           for c in context]
  return [t for t, _ in pairs], [list(s) for _, s in pairs]


def _support_titles(facts: Any) -> set[str]:
  """Titles in `supporting_facts`: a dict of lists, or a list of pairs."""
  if not facts:
    return set()
  if isinstance(facts, Mapping):
    return set(facts.get("title") or [])
  return {f["title"] if isinstance(f, Mapping) else f[0] for f in facts}


def paragraph_id(title: str, content: str) -> str:
  digest = hashlib.sha1(f"{title}\x00{content}".encode("utf-8")).hexdigest()
  return f"hotpotqa:para:{digest[:16]}"


def _example_records(ex: Mapping[str, Any], hf_split: str, template: str,
                     include: str, seen: set[str]) -> Iterator[TextRecord]:
  qid = str(ex["id"])
  support = _support_titles(ex.get("supporting_facts"))
  common = {"qid": qid, "type": ex.get("type"), "level": ex.get("level"),
            "hf_split": hf_split}
  if include in ("both", "questions"):
    yield TextRecord(f"hotpotqa:{qid}:question", str(ex["question"]).strip(),
                     {**common, "kind": "question",
                      "answer": ex.get("answer"),
                      "supporting_titles": " | ".join(sorted(support))})
  if include == "questions":
    return
  for title, sentences in zip(*_columns(ex["context"])):
    content = "".join(sentences).strip()
    pid = paragraph_id(title, content)
    if pid in seen:
      continue
    seen.add(pid)
    yield TextRecord(pid, template.format(title=title, content=content),
                     {**common, "kind": "paragraph", "title": title,
                      "supporting": title in support})


def hotpotqa_records(examples, hf_split: str, template: str, include: str,
                     limit: int | None) -> list[TextRecord]:
  """Records of `examples` (any iterable of HotPotQA-schema dicts)."""
  missing = [c for c in _REQUIRED if c not in examples.column_names]
  if missing:
    raise DatasetError(
        f"The HotPotQA data has no column(s) {missing}; its columns are "
        f"{examples.column_names}. Expected the schema id, question, answer, "
        "type, level, supporting_facts, context.")
  out: list[TextRecord] = []
  seen: set[str] = set()
  for ex in examples:
    for rec in _example_records(ex, hf_split, template, include, seen):
      out.append(rec)
      if limit and len(out) >= limit:
        return out
  return out


def hotpotqa_source(config: str = "distractor", split: str = "validation",
                    data_files: str | Sequence[str] | None = None,
                    include: str = "both",
                    paragraph_template: str = "{title}: {content}",
                    revision: str | None = None,
                    cache_dir: str | None = None) -> TextSource:
  """HotPotQA questions and/or paragraphs (see the module docstring).

  Args:
    config: 'distractor' or 'fullwiki' (hub only).
    split: 'train' | 'validation' (| 'test' for fullwiki); hub only.
    data_files: local JSON/JSONL/Parquet file(s) or globs in HotPotQA's
      schema; when given, nothing is fetched from the hub.
    include: 'both', 'questions' or 'paragraphs'.
    paragraph_template: how a paragraph becomes a text; fields `title` and
      `content` (the sentences joined).
    revision: a hub commit, for an exactly reproducible download.
    cache_dir: the `datasets` cache (default: the HF default for the hub,
      `$EMBTRANS_CACHE/hf_datasets` for local files).
  """
  if config not in CONFIGS:
    raise ValueError(f"HotPotQA config must be one of {CONFIGS}, got "
                     f"{config!r}.")
  if include not in INCLUDE:
    raise ValueError(f"include must be one of {INCLUDE}, got {include!r}.")
  if isinstance(data_files, str) and "," in data_files:
    data_files = data_files.split(",")
  files = [str(f) for f in resolve_data_files(data_files)] if data_files \
      else None
  hf_split = "local" if files else split
  args = dict(config=config, split=split, data_files=files, include=include,
              paragraph_template=paragraph_template, revision=revision)

  def records(limit: int | None) -> list[TextRecord]:
    examples = load_examples(config, split, files, revision, cache_dir)
    return hotpotqa_records(examples, hf_split, paragraph_template, include,
                            limit)

  def source_fingerprint() -> str:
    data = digests.files_digest(files) if files else (HUB_ID, revision)
    return fingerprint("hotpotqa", _VERSION, {**args, "data_files": None},
                       data)

  return TextSource("hotpotqa", records, source_fingerprint, args)
