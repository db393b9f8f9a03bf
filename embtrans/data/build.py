"""Build (once) and cache embedding datasets: a text source x an encoder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import sys
import time
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from absl import logging
from tqdm import tqdm

from embtrans import encoders as encoders_lib
from embtrans.data import format as fmt
from embtrans.data import sources as sources_lib


def progress_interval() -> float:
  """Seconds between progress-bar refreshes: 0.1 on a terminal, else 15."""
  return 0.1 if sys.stderr.isatty() else 15.0


def default_cache_dir() -> pathlib.Path:
  """$EMBTRANS_CACHE, else ~/.cache/embtrans."""
  env = os.environ.get("EMBTRANS_CACHE")
  return pathlib.Path(env) if env else pathlib.Path.home() / ".cache/embtrans"


def _metadata_columns(records: Sequence[sources_lib.TextRecord]
                      ) -> dict[str, list[Any]]:
  keys = sorted({k for r in records for k in r.meta})
  return {k: [r.meta.get(k) for r in records] for k in keys}


def dataset_key(source: str, encoder: str, limit: int | None,
                encoder_kwargs: Mapping[str, Any]) -> str:
  """Cache directory name; changes with anything that changes the vectors."""
  src = sources_lib.get_source(source)
  fp = fmt.fingerprint(src.fingerprint(), limit or 0, encoder,
                       dict(encoder_kwargs))
  return f"{source}-{limit or 'all'}-{encoder}-{fp}"


def _encode_into(writer: fmt.DatasetWriter, enc, records, batch_size: int,
                 desc: str) -> None:
  meta = _metadata_columns(records)
  with tqdm(total=len(records), desc=desc, unit="text", smoothing=0.1,
            mininterval=progress_interval()) as bar:
    for start in range(0, len(records), batch_size):
      chunk = records[start:start + batch_size]
      vectors = enc.encode([r.text for r in chunk])
      writer.add([r.id for r in chunk], vectors, [r.text for r in chunk],
                 {k: v[start:start + batch_size] for k, v in meta.items()})
      bar.update(len(chunk))


def build_dataset(source: str, encoder: str, limit: int | None = None,
                  encoder_kwargs: Mapping[str, Any] | None = None,
                  cache_dir: os.PathLike | None = None,
                  batch_size: int = 256) -> fmt.EmbeddingDataset:
  """Returns the cached dataset of `source` x `encoder`, building it if needed.

  Args:
    source: a registered text source name (e.g. 'pydocs').
    encoder: a registered encoder name (e.g. 'minilm').
    limit: keep only the first `limit` texts of the source (None: all).
    encoder_kwargs: passed to the encoder factory; part of the cache key.
    cache_dir: where datasets live; default `default_cache_dir()`.
    batch_size: texts per encoder call.
  """
  encoder_kwargs = dict(encoder_kwargs or {})
  path = pathlib.Path(cache_dir or default_cache_dir()) / dataset_key(
      source, encoder, limit, encoder_kwargs)
  if fmt.is_complete(path):
    return fmt.open_dataset(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with build_lock(path):  # Another process may be building the same one.
    if not fmt.is_complete(path):
      _build(path, source, encoder, limit, encoder_kwargs, batch_size)
  return fmt.open_dataset(path)


@contextlib.contextmanager
def build_lock(path: pathlib.Path) -> Iterator[None]:
  """An exclusive advisory lock on `<path>.lock` (released on exit/crash)."""
  with open(path.with_name(path.name + ".lock"), "w") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def _build(path: pathlib.Path, source: str, encoder: str, limit: int | None,
           encoder_kwargs: dict, batch_size: int) -> None:
  records = sources_lib.get_source(source).records(limit)
  if not records:
    raise fmt.DatasetError(f"Text source {source!r} yielded no texts.")
  logging.info("Building embedding dataset %s (%d texts) at %s; later runs "
               "reuse it.", path.name, len(records), path)
  start = time.time()
  enc = encoders_lib.get_encoder(encoder, **encoder_kwargs)
  if enc.needs_fit:
    enc.fit([r.text for r in records if fmt.split_of(r.id) == "train"])
  extra = {
      "name": f"{source}/{encoder}", "model": encoder,
      "model_config": encoder_kwargs, "model_fingerprint": enc.fingerprint(),
      "text_source": source, "source_limit": limit,
      "source_fingerprint": sources_lib.get_source(source).fingerprint(),
      "normalized": bool(enc.normalized),
      "fingerprint": path.name.rsplit("-", 1)[-1],
  }
  with fmt.DatasetWriter(path, enc.dim, extra) as writer:
    _encode_into(writer, enc, records, batch_size, f"embed {encoder}")
  logging.info("Built %s in %.1fs.", path.name, time.time() - start)


def resolve_dataset(spec: str, source: str = "pydocs",
                    limit: int | None = None,
                    cache_dir: os.PathLike | None = None
                    ) -> fmt.EmbeddingDataset:
  """`spec` is a dataset directory, or an encoder name to build on `source`."""
  if os.sep in spec or pathlib.Path(spec).is_dir():
    return fmt.open_dataset(spec)
  if spec not in encoders_lib.known_encoders():
    raise ValueError(
        f"{spec!r} is neither an embedding-dataset directory nor a known "
        f"encoder. Known encoders: {encoders_lib.known_encoders()}.")
  return build_dataset(source, spec, limit, cache_dir=cache_dir)


def stack(ds: fmt.EmbeddingDataset) -> np.ndarray:
  """All vectors of `ds` in memory: [n, dim] float32."""
  return np.asarray(ds.vectors, dtype=np.float32)
