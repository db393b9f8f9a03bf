"""Dispatches `python -m embtrans.bench <name> [args]` to bench/<name>.py."""

from __future__ import annotations

import importlib
import sys

from embtrans.bench import known_benchmarks


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else list(argv)
  known = known_benchmarks()
  if not argv or argv[0] not in known:
    given = f"Unknown benchmark {argv[0]!r}. " if argv else ""
    print(f"{given}Usage: python -m embtrans.bench <name> [args]; known"
          f" benchmarks: {', '.join(known)}.", file=sys.stderr)
    return 2
  module = importlib.import_module(f"embtrans.bench.{argv[0]}")
  return module.main(argv[1:]) or 0


if __name__ == "__main__":
  sys.exit(main())
