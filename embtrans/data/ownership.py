"""Lock files and partial builds, and cleaning up after a dead owner.

A build holds an exclusive `flock` on `<target>.lock` while it writes
`<target>.partial/`; the kernel drops the lock when the process dies, however
it dies. So:

  * `exclusive(lock)` takes the lock, records the owner (host, pid) in the
    file, and removes the file on release. A waiter that wakes up on a file
    already removed retries on the current one, so removing is safe.
  * A writer records its owner in `<target>.partial/owner.json`
    (`record_owner`).
  * `clean_stale(root)` removes the lock files nobody holds and the partial
    directories whose owner is gone: a partial is kept only while its lock is
    held, while its recorded owner still runs, or, when it holds committed
    shards a rerun would resume from (progress.json), for RESUMABLE_DAYS.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import socket
import time
from typing import IO, Iterator

OWNER = "owner.json"
PROGRESS = "progress.json"  # The resumable writer's (see format.py).
RESUMABLE_DAYS = 7


def owner_record() -> dict:
  """This process: host, pid and start time (to tell a reused pid apart)."""
  pid = os.getpid()
  return {"host": socket.gethostname(), "pid": pid,
          "started": _start_time(pid)}


def _start_time(pid: int) -> str | None:
  """The process's start time in clock ticks after boot (Linux), or None."""
  try:
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
  except OSError:
    return None
  return stat.rsplit(")", 1)[-1].split()[19]


def owner_gone(record: dict) -> bool | None:
  """True if the recorded process has ended, False if it runs, None if that
  cannot be told here (another host, or no pid)."""
  if record.get("host") != socket.gethostname() or not isinstance(
      record.get("pid"), int):
    return None
  try:
    os.kill(record["pid"], 0)
  except ProcessLookupError:
    return True
  except PermissionError:
    pass  # Runs, as another user.
  started = record.get("started")
  return bool(started) and _start_time(record["pid"]) not in (None, started)


def record_owner(directory: os.PathLike) -> None:
  """Writes this process as the owner of `directory` (atomically)."""
  path = pathlib.Path(directory) / OWNER
  tmp = path.with_name(OWNER + ".tmp")
  tmp.write_text(json.dumps(owner_record()))
  os.replace(tmp, path)


def _same_file(f: IO, path: pathlib.Path) -> bool:
  try:
    st = os.stat(path)
  except FileNotFoundError:
    return False
  own = os.fstat(f.fileno())
  return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _acquire(path: pathlib.Path, blocking: bool) -> IO | None:
  """The open lock file, locked; None if busy and not `blocking`."""
  while True:
    f = open(path, "a+", encoding="utf-8")  # pylint: disable=consider-using-with
    try:
      fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
      f.close()
      return None
    if _same_file(f, path):
      return f
    f.close()  # Removed by its last holder while we waited: retry.


@contextlib.contextmanager
def exclusive(path: os.PathLike, blocking: bool = True
              ) -> Iterator[bool]:
  """Holds an exclusive lock on `path`; yields False if busy (non-blocking).

  The owner is written into the file while it is held, and the file is
  removed on release.
  """
  path = pathlib.Path(path)
  f = _acquire(path, blocking)
  if f is None:
    yield False
    return
  try:
    f.truncate(0)
    f.write(json.dumps(owner_record()))
    f.flush()
    yield True
  finally:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(path)  # Still held: a waiter will see the file is gone.
    f.close()


def _age_days(partial: pathlib.Path) -> float:
  newest = max((p.stat().st_mtime for p in (partial, partial / PROGRESS,
                                            partial / OWNER) if p.exists()),
               default=time.time())
  return (time.time() - newest) / 86400


def _resumable(partial: pathlib.Path) -> bool:
  try:
    progress = json.loads((partial / PROGRESS).read_text())
  except (OSError, ValueError):
    return False
  return bool(progress.get("key")) and progress.get("rows_done", 0) > 0


def _stale(partial: pathlib.Path) -> bool:
  """Whether `partial` (its lock not held) can go."""
  try:
    gone = owner_gone(json.loads((partial / OWNER).read_text()))
  except (OSError, ValueError, AttributeError):
    gone = None
  if gone is False:
    return False
  if gone and not _resumable(partial):
    return True
  return _age_days(partial) > RESUMABLE_DAYS


def clean_stale(root: os.PathLike) -> list[pathlib.Path]:
  """Removes stale `*.partial` directories and `*.lock` files in `root`.

  Returns:
    The paths removed.
  """
  root = pathlib.Path(root)
  removed = []
  for partial in sorted(root.glob("*.partial")):
    lock = partial.with_name(partial.name[:-len(".partial")] + ".lock")
    had_lock = lock.exists()
    with exclusive(lock, blocking=False) as held:
      if held and partial.is_dir() and _stale(partial):
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial)
    if held and had_lock:  # Nobody held it: it went on release.
      removed.append(lock)
  for lock in sorted(root.glob("*.lock")):
    with exclusive(lock, blocking=False) as held:
      if held:  # Nobody holds it: it goes on release.
        removed.append(lock)
  return removed
