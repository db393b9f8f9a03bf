"""The offline default text source, `pydocs`.

The docstrings of the Python standard library, read from its source files with
`ast` (nothing is imported or executed). Each docstring gives up to two texts, its summary (first paragraph) and its body
(the rest); exact duplicates are kept once, under their first id. Provenance
and licence: third_party/pydocs/README.md.
"""

from __future__ import annotations

import ast
import pathlib
import sys
import sysconfig
from typing import Iterator

from embtrans.data.format import fingerprint
from embtrans.data.sources import TextRecord
from embtrans.data.sources import TextSource

# Folders of the standard library that hold tests or vendored third-party code.
_SKIP_PARTS = frozenset({"site-packages", "dist-packages", "test", "tests",
                         "idle_test", "__pycache__", "lib2to3", "ensurepip"})
MIN_SUMMARY_CHARS = 40
MIN_BODY_CHARS = 80


def _docstrings(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, str]]:
  """Yields (qualname, docstring) for the module and nested defs, in order."""
  if isinstance(tree, ast.Module):
    doc = ast.get_docstring(tree)
    if doc:
      yield "<module>", doc
  for node in ast.iter_child_nodes(tree):
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
      qual = f"{prefix}{node.name}"
      doc = ast.get_docstring(node)
      if doc:
        yield qual, doc
      yield from _docstrings(node, qual + ".")


def _stdlib_files() -> list[pathlib.Path]:
  root = pathlib.Path(sysconfig.get_paths()["stdlib"])
  return sorted(p for p in root.rglob("*.py")
                if not _SKIP_PARTS.intersection(p.relative_to(root).parts))


def _doc_records(rel: str, qual: str, doc: str) -> Iterator[TextRecord]:
  package = rel.split("/")[0].removesuffix(".py")
  summary, _, body = doc.partition("\n\n")
  summary, body = " ".join(summary.split()), body.strip()
  base = {"module": rel.removesuffix(".py").replace("/", "."),
          "package": package, "qualname": qual}
  if len(summary) >= MIN_SUMMARY_CHARS:
    yield TextRecord(f"pydocs:{rel}:{qual}:summary", summary,
                     {**base, "part": "summary"})
  if len(body) >= MIN_BODY_CHARS:
    yield TextRecord(f"pydocs:{rel}:{qual}:body", body,
                     {**base, "part": "body"})


def pydocs_records(limit: int | None = None) -> list[TextRecord]:
  """Standard-library docstrings, in sorted file order, deduplicated."""
  root = pathlib.Path(sysconfig.get_paths()["stdlib"])
  seen_ids, seen_texts, out = set(), set(), []
  for path in _stdlib_files():
    rel = path.relative_to(root).as_posix()
    try:
      tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
      continue
    for qual, doc in _docstrings(tree):
      for rec in _doc_records(rel, qual, doc):
        if rec.text in seen_texts or rec.id in seen_ids:
          continue
        seen_ids.add(rec.id)
        seen_texts.add(rec.text)
        out.append(rec)
        if limit and len(out) >= limit:
          return out
  return out


def _pydocs_fingerprint() -> str:
  return fingerprint("pydocs", 1, sys.version_info[:3], MIN_SUMMARY_CHARS,
                     MIN_BODY_CHARS, sorted(_SKIP_PARTS))


def pydocs_source() -> TextSource:
  return TextSource("pydocs", pydocs_records, _pydocs_fingerprint)
