"""A folder of image files as a source, for image encoders (clip_vision).

    get_source("images", path="/data/coco/val2017", pattern="*.jpg")

One record per file (sorted): id `<id_prefix>:<path relative to the
folder>`, text = the file's absolute path (what image encoders read), meta
`file` (the relative path). The fingerprint covers the files' bytes.
"""

from __future__ import annotations

import pathlib

from embtrans.data import digests
from embtrans.data.format import fingerprint
from embtrans.data.sources import TextRecord
from embtrans.data.sources import TextSource

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
_VERSION = 1


def images_source(path: str, pattern: str = "**/*", id_prefix: str = "image"
                  ) -> TextSource:
  """Image files under `path` matching `pattern` (known image extensions)."""
  root = pathlib.Path(path)
  if not root.is_dir():
    raise FileNotFoundError(f"Image folder {path!r} does not exist.")
  files = sorted(p for p in root.glob(pattern)
                 if p.is_file() and p.suffix.lower() in EXTENSIONS)
  if not files:
    raise FileNotFoundError(f"No image files ({', '.join(EXTENSIONS)}) "
                            f"match {pattern!r} under {path}.")
  args = dict(path=str(path), pattern=pattern, id_prefix=id_prefix)

  def records(limit: int | None) -> list[TextRecord]:
    chosen = files[:limit] if limit else files
    return [TextRecord(f"{id_prefix}:{p.relative_to(root).as_posix()}",
                       str(p.resolve()),
                       {"file": p.relative_to(root).as_posix()})
            for p in chosen]

  def source_fingerprint() -> str:
    rel = [p.relative_to(root).as_posix() for p in files]
    return fingerprint("images", _VERSION, id_prefix, rel,
                       digests.files_digest(files))

  return TextSource("images", records, source_fingerprint, args,
                    modality="image")
