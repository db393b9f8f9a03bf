"""Dispatches `python -m embtrans.bench <name> [--flags]` to bench/<name>.py.

Each benchmark module defines absl flags and `main(argv)`; its flags are
parsed here, after the name.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

import importlib
import sys

from absl import app

from embtrans.bench import known_benchmarks


def main() -> int:
  known = known_benchmarks()
  if len(sys.argv) < 2 or sys.argv[1] not in known:
    given = f"Unknown benchmark {sys.argv[1]!r}. " if len(sys.argv) > 1 else ""
    print(f"embtrans.bench: error: {given}Usage: python -m embtrans.bench "
          f"<name> [--flags]; known benchmarks: {', '.join(known)}.",
          file=sys.stderr)
    return 2
  module = importlib.import_module(f"embtrans.bench.{sys.argv[1]}")
  app.run(module.main, argv=[f"embtrans.bench {sys.argv[1]}"] + sys.argv[2:])
  return 0


if __name__ == "__main__":
  sys.exit(main())
