"""Content digests of input files (text sources, model weights, imports).

A cache fingerprint must change when a file's content changes, not when it is
copied or touched, so it is built from SHA-256 digests. Hashing a large file
costs one read; `file_sha256` remembers each digest under
`$EMBTRANS_CACHE/digests.json`, keyed by the file's absolute path, size and
mtime, so a second run over the same files is instant.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Iterable

from embtrans.data import format as fmt
from embtrans.data import ownership

_MEMO = "digests.json"


def default_cache_dir() -> pathlib.Path:
  """$EMBTRANS_CACHE, else ~/.cache/embtrans."""
  env = os.environ.get("EMBTRANS_CACHE")
  return pathlib.Path(env) if env else pathlib.Path.home() / ".cache/embtrans"


def _memo_key(path: pathlib.Path) -> str:
  st = path.stat()
  return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _update_memo(memo_path: pathlib.Path, key: str, digest: str) -> None:
  """Adds one entry to the memo under a lock; a failure only costs speed."""
  try:
    memo_path.parent.mkdir(parents=True, exist_ok=True)
    with ownership.exclusive(memo_path.with_name(_MEMO + ".lock")):
      memo = _read_memo(memo_path)
      memo[key] = digest
      tmp = memo_path.with_name(f"{_MEMO}.{os.getpid()}.tmp")
      tmp.write_text(json.dumps(memo))
      os.replace(tmp, memo_path)
  except OSError:
    pass


def _read_memo(memo_path: pathlib.Path) -> dict[str, str]:
  try:
    return json.loads(memo_path.read_text())
  except (OSError, ValueError):
    return {}


def file_sha256(path: os.PathLike) -> str:
  """SHA-256 of a file's bytes, remembered across runs.

  Raises:
    FileNotFoundError: `path` is not a file.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"No such file: {path}")
  memo_path = default_cache_dir() / _MEMO
  key = _memo_key(path)
  digest = _read_memo(memo_path).get(key)
  if digest is None:
    digest = fmt.sha256_file(path)
    _update_memo(memo_path, key, digest)
  return digest


def files_digest(paths: Iterable[os.PathLike]) -> str:
  """One fingerprint over several files' contents (not names), in order."""
  return fmt.fingerprint([file_sha256(p) for p in paths])


def directory_digest(path: os.PathLike, patterns: Iterable[str]) -> str:
  """Fingerprint of the files in `path` matching `patterns` (names + bytes)."""
  path = pathlib.Path(path)
  files = sorted({p for pat in patterns for p in path.glob(pat)
                  if p.is_file()})
  return fmt.fingerprint([(p.relative_to(path).as_posix(), file_sha256(p))
                          for p in files])
