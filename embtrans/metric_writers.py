"""Metric writers: JSON lines + TensorBoard event files + the absl log.

The interface follows clu's MetricWriter (write_scalars / write_hparams /
flush / close). clu's own writers import TensorFlow at package import, so the
TensorBoard backend here writes event files with the `tensorboard` package
alone; `tensorboard --logdir <workdir>` reads them.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from typing import Any, Mapping, Sequence

from absl import logging


class JsonlWriter:
  """Appends one JSON object per write to `<dir>/metrics.jsonl`.

  Each write is flushed to the OS at once, so a killed run keeps every row
  it wrote (a few small writes per log interval cost nothing measurable).
  A run resumed from step s passes `keep_through=s`: rows an interrupted
  run wrote past s (its state was not saved) are dropped before the
  resumed run writes them again, so each step has one row.
  """

  def __init__(self, logdir: str, keep_through: int | None = None):
    self._path = pathlib.Path(logdir) / "metrics.jsonl"
    self._keep_through = keep_through
    self._f = None  # Opened on the first write: a run refused before it
    # trains (say, an unreadable checkpoint) leaves no file behind.

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    row = {"step": int(step), "time": time.time(),
           **{k: float(v) for k, v in scalars.items()}}
    self._write(json.dumps(row))

  def write_hparams(self, hparams: Mapping[str, Any]) -> None:
    self._write(json.dumps({"hparams": dict(hparams)}, default=str))

  def _write(self, line: str) -> None:
    if self._f is None:
      self._path.parent.mkdir(parents=True, exist_ok=True)
      if self._keep_through is not None and self._path.exists():
        _truncate(self._path, self._keep_through)
      self._f = open(self._path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
    self._f.write(line + "\n")
    self._f.flush()

  def flush(self) -> None:
    if self._f is not None:
      self._f.flush()

  def close(self) -> None:
    if self._f is not None:
      self._f.close()


def _truncate(path: pathlib.Path, keep_through: int) -> None:
  """Rewrites `path` without its step rows past `keep_through` (atomic)."""
  lines = path.read_text(encoding="utf-8").splitlines()
  kept = []
  for line in lines:
    try:
      row = json.loads(line)
    except json.JSONDecodeError:  # A line cut by a kill: drop it.
      continue
    if int(row.get("step", -1)) <= keep_through:
      kept.append(line)
  if len(kept) == len(lines):
    return
  tmp = path.with_suffix(".jsonl.tmp")
  tmp.write_text("".join(f"{k}\n" for k in kept), encoding="utf-8")
  os.replace(tmp, path)


class TensorBoardWriter:
  """Scalar summaries in TensorBoard event files under `logdir`."""

  def __init__(self, logdir: str):
    self._logdir = str(logdir)
    self._writer = None  # The event file is made on the first write.

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2  # pylint: disable=g-import-not-at-top
    if self._writer is None:
      from tensorboard.summary.writer.event_file_writer import EventFileWriter  # pylint: disable=g-import-not-at-top
      self._writer = EventFileWriter(self._logdir)
    values = [summary_pb2.Summary.Value(tag=k, simple_value=float(v))
              for k, v in scalars.items()]
    self._writer.add_event(event_pb2.Event(
        wall_time=time.time(), step=int(step),
        summary=summary_pb2.Summary(value=values)))

  def write_hparams(self, hparams: Mapping[str, Any]) -> None:
    del hparams  # Kept in config.json and metrics.jsonl.

  def flush(self) -> None:
    if self._writer is not None:
      self._writer.flush()

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()


class LoggingWriter:

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    text = ", ".join(f"{k}={float(v):.6g}" for k, v in sorted(scalars.items()))
    logging.info("[%d] %s", step, text)

  def write_hparams(self, hparams: Mapping[str, Any]) -> None:
    logging.info("hparams: %s", dict(hparams))

  def flush(self) -> None:
    pass

  def close(self) -> None:
    pass


class MultiWriter:

  def __init__(self, writers: Sequence[Any]):
    self._writers = list(writers)

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    for w in self._writers:
      w.write_scalars(step, scalars)

  def write_hparams(self, hparams: Mapping[str, Any]) -> None:
    for w in self._writers:
      w.write_hparams(hparams)

  def flush(self) -> None:
    for w in self._writers:
      w.flush()

  def close(self) -> None:
    for w in self._writers:
      w.close()


def create_default_writer(logdir: str, just_logging: bool = False,
                          keep_through: int | None = None) -> MultiWriter:
  """JSONL + TensorBoard + log on the main process; only the log elsewhere.

  `keep_through`: the step a run resumes from (see `JsonlWriter`).
  """
  if just_logging:
    return MultiWriter([LoggingWriter()])
  return MultiWriter([JsonlWriter(logdir, keep_through),
                      TensorBoardWriter(logdir), LoggingWriter()])
