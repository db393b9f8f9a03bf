"""Build (once) and cache embedding datasets: a text source x an encoder.

    ds = build_dataset("pydocs", "minilm")                        # cached
    ds = build_dataset("hotpotqa", "t5", source_kwargs={"data_files": f},
                       encoder_kwargs={"path": "/models/t5-small"})

A dataset's fingerprint covers the source (its arguments and content), the
limit, and the model: for encoders with an `identity` (hf, t5, clip_*,
sentence_transformer, precomputed) a digest of the weight / input files plus
pooling, max length and the other arguments that change the vectors; for the
core encoders their name and kwargs. It names the cache directory
(`<source>-<limit>-<encoder>-<fingerprint>`), so a second run opens the
finished dataset without loading the model.

Builds are resumable: rows are committed a shard at a time, and a rerun after
a crash or a kill continues after the last committed shard of a partial build
with the same fingerprint (see format.DatasetWriter).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import json
import os
import pathlib
import shutil
import sys
import time
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from absl import logging
from tqdm import tqdm

from embtrans import encoders as encoders_lib
from embtrans.data import format as fmt
from embtrans.data import ownership
from embtrans.data import sources as sources_lib
from embtrans.data.digests import default_cache_dir

# Row columns the format itself writes; metadata keys with these names are
# stored as `source_<name>`.
RESERVED_COLUMNS = ("id", "split", "text")
UNIT_NORM_ATOL = 1e-3


@dataclasses.dataclass(frozen=True)
class Processes:
  """This process's share of a build run by several processes (the embed
  entry under jax.distributed): rows split in contiguous blocks by index,
  each process writes its own shards, process 0 the dataset and manifest.

  barrier(name): returns once every process has called it with `name`.
  """

  index: int = 0
  count: int = 1
  barrier: Callable[[str], None] = lambda name: None

  def rows(self, n: int) -> tuple[int, int]:
    """[start, stop) of this process's rows of `n`: sizes differ by <= 1."""
    base, extra = divmod(n, self.count)
    start = self.index * base + min(self.index, extra)
    return start, start + base + (self.index < extra)


SINGLE_PROCESS = Processes()


def part_path(path: pathlib.Path, index: int, count: int) -> pathlib.Path:
  """Where process `index` of `count` writes its rows of `path`."""
  return path.with_name(f"{path.name}.part{index}of{count}")


def progress_interval() -> float:
  """Seconds between progress-bar refreshes: 0.1 on a terminal, else 15."""
  return 0.1 if sys.stderr.isatty() else 15.0


def _metadata_columns(records: Sequence[sources_lib.TextRecord]
                      ) -> dict[str, list[Any]]:
  keys = sorted({k for r in records for k in r.meta})
  return {(f"source_{k}" if k in RESERVED_COLUMNS else k):
          [r.meta.get(k) for r in records] for k in keys}


def dataset_key(source: str | None, encoder: str, limit: int | None,
                encoder_kwargs: Mapping[str, Any],
                source_kwargs: Mapping[str, Any] | None = None,
                drop_duplicate_texts: bool = False) -> str:
  """Cache directory name; changes with anything that changes the rows.

  Raises:
    ValueError / FileNotFoundError: unknown names, missing model or data
      files (checked here, before anything is built).
  """
  src = sources_lib.get_source(source, **dict(source_kwargs or {})) if (
      source) else None
  src_fp = src.fingerprint() if src else "no-source"
  identity = encoders_lib.encoder_identity(encoder, **dict(encoder_kwargs))
  model = dict(encoder_kwargs) if identity is None else identity
  parts = [src_fp, limit or 0, encoder, model]
  if drop_duplicate_texts:  # Other rows; keys without it stay as they were.
    parts.append("drop_duplicate_texts")
  fp = fmt.fingerprint(*parts)
  return f"{source or 'import'}-{limit or 'all'}-{encoder}-{fp}"


def build_dataset(source: str | None, encoder: str, limit: int | None = None,
                  encoder_kwargs: Mapping[str, Any] | None = None,
                  cache_dir: os.PathLike | None = None,
                  batch_size: int = 256, *,
                  source_kwargs: Mapping[str, Any] | None = None,
                  output: os.PathLike | None = None,
                  shard_rows: int | None = None, name: str | None = None,
                  overwrite: bool = False, rebuild: bool = False,
                  drop_duplicate_texts: bool = False,
                  processes: Processes = SINGLE_PROCESS
                  ) -> fmt.EmbeddingDataset:
  """Returns the dataset of `source` x `encoder`, building it if needed.

  Args:
    source: a registered text source name (e.g. 'pydocs'); None only for
      encoder 'precomputed' (an import without texts).
    encoder: a registered encoder name (e.g. 'minilm').
    limit: keep only the first `limit` texts of the source (None: all).
    encoder_kwargs: passed to the encoder factory.
    cache_dir: where datasets live; default `default_cache_dir()`.
    batch_size: texts per encoder call (rows per chunk for imports).
    source_kwargs: passed to the source factory.
    output: build into this directory instead of the cache.
    shard_rows: rows per vector shard (the resume granularity); default
      about 64 MiB of vectors, rounded up to a multiple of `batch_size`.
    name: the dataset's name in its manifest; default '<source>/<encoder>'.
    overwrite: replace a different dataset already at `output`.
    rebuild: build from scratch even where this dataset is complete (to
      replace a damaged one); a *different* dataset at `output` still needs
      `overwrite`. The old one stays until the new one is complete.
    drop_duplicate_texts: keep only the first row of each text that occurs
      under several ids. Repeats are counted, logged and recorded in the
      manifest (`duplicate_texts`) either way.
    processes: this process's share when several build one dataset
      together (every process calls this with the same arguments).

  Raises:
    fmt.DatasetError: bad input (empty texts, duplicate ids, NaN, a dim
      that differs from an existing dataset's manifest, ...); nothing that
      was already built is changed.
  """
  encoder_kwargs = dict(encoder_kwargs or {})
  source_kwargs = dict(source_kwargs or {})
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
  if drop_duplicate_texts and encoders_lib.encoder_modality(encoder) != "text":
    raise ValueError(f"drop_duplicate_texts applies to text encoders; "
                     f"{encoder!r} reads {encoders_lib.encoder_modality(encoder)}"
                     ".")
  key = dataset_key(source, encoder, limit, encoder_kwargs, source_kwargs,
                    drop_duplicate_texts)
  fingerprint = key.rsplit("-", 1)[-1]
  path = pathlib.Path(output) if output else pathlib.Path(
      cache_dir or default_cache_dir()) / key
  reuse = functools.partial(_reusable, path, fingerprint, bool(output),
                            overwrite, rebuild)
  if not output:  # Leftovers of dead builds in the cache (ownership.py).
    ownership.clean_stale(path.parent)
  if reuse():
    return fmt.open_dataset(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  job = _Job(source, source_kwargs, encoder, encoder_kwargs, limit,
             batch_size, shard_rows, name, fingerprint, rebuild,
             drop_duplicate_texts)
  if processes.count > 1:
    _build_in_parts(path, job, processes)
  else:
    with build_lock(path):  # Another process may be building the same one.
      if not reuse():
        _build(path, job)
  return fmt.open_dataset(path)


def _manifest_or_none(path: pathlib.Path) -> dict | None:
  """The manifest of a complete dataset at `path`; None if it is unreadable."""
  try:
    manifest = json.loads((path / fmt.MANIFEST).read_text(encoding="utf-8"))
  except (OSError, ValueError):
    return None
  return manifest if isinstance(manifest, dict) else None


def _reusable(path: pathlib.Path, fingerprint: str, explicit: bool,
              overwrite: bool, rebuild: bool = False) -> bool:
  """True if `path` holds this very dataset; False if it must be built."""
  if not fmt.is_complete(path):
    return False
  manifest = _manifest_or_none(path)
  if manifest is None:  # Damaged: only an explicit request replaces it.
    if rebuild or overwrite:
      return False
    raise fmt.DatasetError(f"{path / fmt.MANIFEST} is unreadable or corrupt. "
                           f"{fmt.REBUILD}")
  same = manifest.get("fingerprint") == fingerprint or not explicit
  if same:  # Cache entries are named by their fingerprint.
    return not rebuild
  if not overwrite:
    raise fmt.DatasetError(
        f"{path} already holds another embedding dataset ("
        f"{manifest.get('name')}, model {manifest.get('model')}, dim "
        f"{manifest.get('dim')}, fingerprint {manifest.get('fingerprint')}; "
        f"this build's is {fingerprint}). It was left as it is: choose "
        "another output, or pass --overwrite to replace it.")
  return False


@contextlib.contextmanager
def build_lock(path: pathlib.Path) -> Iterator[None]:
  """An exclusive lock on `<path>.lock`, released (and the file removed) on
  exit; the kernel releases it if the process dies (see ownership.py)."""
  with ownership.exclusive(path.with_name(path.name + ".lock")):
    yield


@dataclasses.dataclass(frozen=True)
class _Job:
  """The arguments of one build (see build_dataset)."""

  source: str | None
  source_kwargs: dict
  encoder: str
  encoder_kwargs: dict
  limit: int | None
  batch_size: int
  shard_rows: int | None
  name: str | None
  fingerprint: str
  rebuild: bool = False
  drop_duplicate_texts: bool = False

  def shard_rows_for(self, dim: int) -> int:
    rows = self.shard_rows or fmt.default_shard_rows(dim)
    return -(-rows // self.batch_size) * self.batch_size


def _read_records(job: _Job, modality: str
                  ) -> list[sources_lib.TextRecord] | None:
  """The source's records, checked; None for an import without a source."""
  if not job.source:
    if modality != "ids":
      raise ValueError(f"Encoder {job.encoder!r} needs a source; only "
                       "'precomputed' imports run without one.")
    return None
  src = sources_lib.get_source(job.source, **job.source_kwargs)
  if modality != "ids" and src.modality != modality:
    raise ValueError(f"Encoder {job.encoder!r} reads {modality}s but source "
                     f"{job.source!r} gives {src.modality}s.")
  records = src.records(job.limit)
  if not records:
    raise fmt.DatasetError(f"Text source {job.source!r} yielded no texts.")
  sources_lib.check_records(records, f"text source {job.source!r}")
  return records


def duplicate_texts(records: Sequence[sources_lib.TextRecord],
                    examples: int = 3) -> dict[str, Any]:
  """Texts that occur under more than one id.

  Returns:
    {"rows": rows whose text occurs earlier under another id, "texts":
    distinct texts that repeat, "examples": [{"text", "ids"}] for the first
    `examples` of them (text cut to 80 characters, at most 3 ids)}.
  """
  ids_of: dict[str, list[str]] = {}
  for r in records:
    ids_of.setdefault(r.text, []).append(r.id)
  repeated = [(t, ids) for t, ids in ids_of.items() if len(ids) > 1]
  return {"rows": sum(len(ids) - 1 for _, ids in repeated),
          "texts": len(repeated),
          "examples": [{"text": t[:80], "ids": ids[:3]}
                       for t, ids in repeated[:examples]]}


def _without_repeats(records: Sequence[sources_lib.TextRecord]
                     ) -> list[sources_lib.TextRecord]:
  """The first record of each text, in order."""
  seen: set[str] = set()
  out = []
  for r in records:
    if r.text not in seen:
      seen.add(r.text)
      out.append(r)
  return out


def _handle_duplicates(job: _Job, records) -> tuple[list, dict[str, Any]]:
  """Reports repeated texts; drops the repeats if the job asks to."""
  if records is None:
    return records, {}
  found = duplicate_texts(records)
  found["dropped"] = bool(job.drop_duplicate_texts and found["rows"])
  if found["rows"]:
    e = found["examples"][0]
    logging.warning(
        "%d of %d texts repeat an earlier text under another id (%d distinct "
        "texts), e.g. ids %s: %r. %s", found["rows"], len(records),
        found["texts"], e["ids"], e["text"],
        "Dropped: only the first of each is kept." if found["dropped"] else
        "Kept: a repeat can land in train and test; drop them with "
        "drop_duplicate_texts=True.")
  if found["dropped"]:
    records = _without_repeats(records)
  return records, found


def _check_dim(path: pathlib.Path, dim: int) -> None:
  """An existing dataset at `path` keeps its dim: no silent replacement."""
  manifest = _manifest_or_none(path) if fmt.is_complete(path) else None
  if manifest is not None:
    old = manifest.get("dim")
    if old != dim:
      raise fmt.DatasetError(
          f"{path} holds {old}-d vectors (its manifest says dim={old}); this "
          f"build makes {dim}-d ones. It was left as it is: build into "
          "another output, or delete it first.")


def _manifest_extra(job: _Job, enc, records) -> dict[str, Any]:
  src = sources_lib.get_source(job.source, **job.source_kwargs) if (
      job.source) else None
  return {
      "name": job.name or f"{job.source or 'import'}/{job.encoder}",
      "model": job.encoder,
      # Every argument, defaults included (e.g. e5_small's mode).
      "model_config": encoders_lib.encoder_arguments(job.encoder,
                                                     **job.encoder_kwargs),
      "model_fingerprint": enc.fingerprint(),
      "text_source": job.source, "source_config": src.config if src else {},
      "source_limit": job.limit,
      "source_fingerprint": src.fingerprint() if src else None,
      "normalized": bool(enc.normalized), "fingerprint": job.fingerprint,
      "num_source_texts": len(records) if records is not None else None,
  }


def _prepare(path: pathlib.Path, job: _Job) -> tuple[Any, list | None, dict]:
  """(the encoder, fitted on train texts if it needs it; the records; the
  manifest's entries)."""
  modality = encoders_lib.encoder_modality(job.encoder)
  records, duplicates = _handle_duplicates(job, _read_records(job, modality))
  enc = encoders_lib.get_encoder(job.encoder, **job.encoder_kwargs)
  _check_dim(path, enc.dim)
  logging.info("Building embedding dataset %s at %s with %s (dim %d); later "
               "runs reuse it.", path.name, path, job.encoder, enc.dim)
  if enc.needs_fit:
    enc.fit([r.text for r in records if fmt.split_of(r.id) == "train"])
  extra = {**_manifest_extra(job, enc, records),
           "duplicate_texts": duplicates or None}
  return enc, records, extra


def _build_in_parts(path: pathlib.Path, job: _Job, procs: Processes) -> None:
  """Each process encodes its block of rows into its own part; process 0
  then adopts the parts in order and writes the dataset and its manifest.

  The row order, ids and vectors are those of a one-process build; only
  the shard boundaries differ. A killed run resumes every part.
  """
  enc, records, extra = _prepare(path, job)
  if records is None:
    raise ValueError("An import ('precomputed') runs in one process; start "
                     "it without the multi-process launcher.")
  start, stop = procs.rows(len(records))
  part = part_path(path, procs.index, procs.count)
  if job.rebuild:
    shutil.rmtree(part.with_name(part.name + ".partial"), ignore_errors=True)
  began = time.time()
  with build_lock(part), fmt.DatasetWriter(
      part, enc.dim, None, job.shard_rows_for(enc.dim), part=True,
      resume_key=f"{job.fingerprint}:{procs.index}/{procs.count}") as writer:
    _encode_into(writer, enc, records[start:stop], job.batch_size,
                 f"embed {job.encoder} [{procs.index}/{procs.count}]")
  procs.barrier(f"embed parts written {job.fingerprint}")
  if procs.index == 0:
    extra["build"] = {"processes": procs.count,
                      "rows_per_process": [Processes(i, procs.count).rows(
                          len(records)) for i in range(procs.count)],
                      "process0_rows_per_second": round(
                          (stop - start) / max(time.time() - began, 1e-9), 2),
                      "device": str(getattr(enc, "device", "cpu"))}
    parts = [part_path(path, i, procs.count) for i in range(procs.count)]
    with build_lock(path), fmt.DatasetWriter(
        path, enc.dim, extra, job.shard_rows_for(enc.dim)) as final:
      for p in parts:
        final.adopt(p)
    for p in parts:
      shutil.rmtree(p.with_name(p.name + ".partial"), ignore_errors=True)
  procs.barrier(f"embed dataset written {job.fingerprint}")


def _build(path: pathlib.Path, job: _Job) -> None:
  start = time.time()
  enc, records, extra = _prepare(path, job)
  modality = encoders_lib.encoder_modality(job.encoder)
  partial = path.with_name(path.name + ".partial")
  if job.rebuild and partial.exists():  # From scratch: no resume either.
    shutil.rmtree(partial)
  with fmt.DatasetWriter(path, enc.dim, extra, job.shard_rows_for(enc.dim),
                         resume_key=job.fingerprint) as writer:
    resumed_at, encode_start = writer.rows_done, time.time()
    if modality == "ids":
      _import_into(writer, enc, records, job.batch_size)
    else:
      _encode_into(writer, enc, records, job.batch_size, f"embed {job.encoder}")
    seconds = time.time() - encode_start
    rows = writer.rows_done + writer.pending_rows - resumed_at
    writer.extra["build"] = {
        "resumed_at_row": resumed_at, "rows_this_run": rows,
        "encode_seconds": round(seconds, 3),
        "rows_per_second": round(rows / max(seconds, 1e-9), 2),
        "device": str(getattr(enc, "device", "cpu"))}
  logging.info("Built %s in %.1fs.", path.name, time.time() - start)


def _encode_into(writer: fmt.DatasetWriter, enc, records, batch_size: int,
                 desc: str) -> None:
  """Encodes `records` after the writer's committed rows, batch by batch."""
  done = writer.rows_done
  todo = records[done:]
  meta = _metadata_columns(todo)
  with tqdm(total=len(records), initial=done, desc=desc, unit="text",
            smoothing=0.1, mininterval=progress_interval()) as bar:
    for start in range(0, len(todo), batch_size):
      chunk = todo[start:start + batch_size]
      vectors = enc.encode([r.text for r in chunk])
      writer.add([r.id for r in chunk], vectors, [r.text for r in chunk],
                 {k: v[start:start + batch_size] for k, v in meta.items()})
      bar.update(len(chunk))


def _unit_norm(vectors: np.ndarray) -> bool:
  norms = np.linalg.norm(np.asarray(vectors, np.float64), axis=1)
  return bool(np.all(np.abs(norms - 1.0) <= UNIT_NORM_ATOL))


def _import_into(writer: fmt.DatasetWriter, enc, records, batch_size: int
                 ) -> None:
  """Copies validated precomputed vectors, with texts from `records`."""
  by_id = {r.id: r for r in records} if records is not None else None
  unit = all(_unit_norm(v) for v in writer.committed_vectors())
  found = writer.rows_done
  with tqdm(desc=f"import {enc.model}", unit="vector", initial=found,
            mininterval=progress_interval()) as bar:
    for ids, vectors in enc.iter_batches(batch_size, start=found):
      unit = unit and _unit_norm(vectors)
      if by_id is None:
        writer.add(ids, vectors)
      else:
        chunk = _matching_records(ids, by_id, enc.path)
        writer.add(ids, vectors, [r.text for r in chunk],
                   _metadata_columns(chunk))
      found += len(ids)
      bar.update(len(ids))
  writer.extra["normalized"] = bool(enc.normalized or unit)
  if by_id is not None and found < len(by_id):
    logging.warning("%d texts of the source have no precomputed vector; "
                    "pairing by id will drop them.", len(by_id) - found)


def _matching_records(ids: Sequence[str], by_id: Mapping[str, Any],
                      where: pathlib.Path) -> list[Any]:
  missing = [i for i in ids if i not in by_id]
  if missing:
    raise fmt.DatasetError(
        f"{where}: {len(missing)} id(s) in this chunk are not texts of the "
        f"source, e.g. {missing[:3]}. Import against the source the vectors "
        "were made from, or without a source.")
  return [by_id[i] for i in ids]


def build_from_config(config, output: str | None = None,
                      cache_dir: str | None = None, overwrite: bool = False,
                      rebuild: bool = False,
                      processes: Processes = SINGLE_PROCESS
                      ) -> tuple[fmt.EmbeddingDataset, bool, float]:
  """Builds (or reuses) the dataset of an embed config (configs/embed/*.py).

  `config` has name, source {name, limit, kwargs}, encoder {name, kwargs},
  batch_size, shard_rows, output, cache_dir; the arguments override the last
  two. `overwrite`, `rebuild` and `processes`: see build_dataset.

  Returns:
    (dataset, built: False when it was already complete, seconds taken).
  """
  output = output or config.get("output") or None
  cache_dir = cache_dir or config.get("cache_dir") or None
  start = time.time()
  source = config.source.name or None
  args = (source, config.encoder.name, config.source.limit or None,
          config.encoder.kwargs.to_dict())
  drop = bool(config.get("drop_duplicate_texts", False))
  key = dataset_key(*args, config.source.kwargs.to_dict(), drop)
  target = pathlib.Path(output or pathlib.Path(
      cache_dir or default_cache_dir()) / key)
  manifest = _manifest_or_none(target) if fmt.is_complete(target) else None
  existed = not rebuild and (manifest or {}).get(
      "fingerprint") == key.rsplit("-", 1)[-1]
  ds = build_dataset(*args, cache_dir, config.batch_size,
                     source_kwargs=config.source.kwargs.to_dict(),
                     output=output, shard_rows=config.shard_rows or None,
                     name=config.name or None, overwrite=overwrite,
                     rebuild=rebuild, drop_duplicate_texts=drop,
                     processes=processes)
  return ds, not existed, time.time() - start


def summary(ds: fmt.EmbeddingDataset, built: bool, seconds: float) -> str:
  """A few lines about `ds` for the command line."""
  m = ds.manifest
  b = m.get("build") or {}
  rate = (f"{b['processes']} processes, process 0 at "
          f"{b.get('process0_rows_per_second')} rows/s" if b.get("processes")
          else f"{b.get('rows_per_second')} rows/s")
  how = (f"built in {seconds:.1f}s (encoding: {rate})" if built
         else f"already built: opened in {seconds:.2f}s")
  lines = []
  dup = m.get("duplicate_texts") or {}
  if dup.get("rows"):
    e = dup["examples"][0]
    lines.append(
        f"  duplicates   {dup['rows']} rows repeat an earlier text under "
        f"another id ({dup['texts']} texts; e.g. ids {e['ids']}): "
        + ("dropped" if dup.get("dropped") else
           "kept (drop_duplicate_texts=True drops them)"))
  return "\n".join([
      f"{ds.path}", f"  name         {ds.name}",
      f"  model        {m.get('model')} {m.get('model_config') or ''}",
      f"  source       {m.get('text_source')} {m.get('source_config') or ''}",
      f"  rows         {len(ds)} ({m.get('num_train')} train, "
      f"{m.get('num_test')} test), dim {ds.dim}, normalized "
      f"{m.get('normalized')}",
      *lines, f"  fingerprint  {m.get('fingerprint')}", f"  {how}"])


def find_dataset(spec: str, cache_dir: os.PathLike | None = None
                 ) -> fmt.EmbeddingDataset | None:
  """Opens `spec` as a path, a cache key, or a unique manifest name.

  Returns None when nothing matches.

  Raises:
    fmt.DatasetError: the name matches several datasets (they are listed).
  """
  path = pathlib.Path(spec).expanduser()
  if path.is_dir():
    return fmt.open_dataset(path)
  root = pathlib.Path(cache_dir or default_cache_dir())
  if (root / spec).is_dir() and "/" not in spec:
    return fmt.open_dataset(root / spec)
  matches = [p for p in named_datasets(root) if p[0] == spec]
  if len(matches) > 1:
    raise fmt.DatasetError(
        f"{len(matches)} datasets in {root} are named {spec!r}: "
        f"{[str(p) for _, p in matches]}. Open one by its path.")
  return fmt.open_dataset(matches[0][1]) if matches else None


def named_datasets(root: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
  """(manifest name, directory) of every complete dataset under `root`."""
  out = []
  for manifest in sorted(root.glob(f"*/{fmt.MANIFEST}")):
    try:
      out.append((json.loads(manifest.read_text()).get("name"),
                  manifest.parent))
    except (OSError, ValueError):
      continue
  return out


def resolve_dataset(spec: str, source: str = "pydocs",
                    limit: int | None = None,
                    cache_dir: os.PathLike | None = None
                    ) -> fmt.EmbeddingDataset:
  """`spec`: a dataset directory, an encoder name to build on `source`, or
  the name of a dataset in the cache."""
  if pathlib.Path(spec).is_dir():
    return fmt.open_dataset(spec)
  if spec in encoders_lib.known_encoders():
    return build_dataset(source, spec, limit, cache_dir=cache_dir)
  found = find_dataset(spec, cache_dir)
  if found is None and os.sep in spec:
    return fmt.open_dataset(spec)  # A path: says clearly what is missing.
  if found is None:
    raise _unknown_spec(spec, cache_dir)
  return found


def check_dataset_spec(spec: str, cache_dir: os.PathLike | None = None
                       ) -> None:
  """Raises resolve_dataset's error for a `spec` that names nothing, before
  anything is built (so a typo in one side does not cost the other's build).
  """
  if pathlib.Path(spec).is_dir() or spec in encoders_lib.known_encoders():
    return
  if find_dataset(spec, cache_dir) is None:
    raise _unknown_spec(spec, cache_dir)


def _unknown_spec(spec: str, cache_dir: os.PathLike | None) -> ValueError:
  root = pathlib.Path(cache_dir or default_cache_dir())
  names = sorted({n for n, _ in named_datasets(root) if n})
  close = difflib.get_close_matches(
      spec, encoders_lib.known_encoders() + names, n=1)
  return ValueError(
      f"{spec!r} is neither an embedding-dataset directory, nor a known "
      f"encoder, nor a dataset name in {root}." +
      (f" Did you mean {close[0]!r}?" if close else "") +
      f" Known encoders: {encoders_lib.known_encoders()}; datasets: "
      f"{names}.")


def stack(ds: fmt.EmbeddingDataset) -> np.ndarray:
  """All vectors of `ds` in memory: [n, dim] float32."""
  return np.asarray(ds.vectors, dtype=np.float32)
