"""Dispatches `python -m embtrans.bench <name> [--flags]` to bench/<name>.py.

Each benchmark module defines absl flags and `main(argv)`; its flags are
parsed here, after the name. Modules marked `ARGPARSE = True` (metrics,
embed, align) still parse their own arguments.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

import importlib
import sys

from absl import app

from embtrans.bench import known_benchmarks


def main(argv: list[str] | None = None) -> int:
  """argv: [name, flags...] (default: the command line after the program)."""
  argv = sys.argv[1:] if argv is None else list(argv)
  known = known_benchmarks()
  if not argv or argv[0] not in known:
    given = f"Unknown benchmark {argv[0]!r}. " if argv else ""
    print(f"embtrans.bench: error: {given}Usage: python -m embtrans.bench "
          f"<name> [--flags]; known benchmarks: {', '.join(known)}.",
          file=sys.stderr)
    return 2
  module = importlib.import_module(f"embtrans.bench.{argv[0]}")
  if getattr(module, "ARGPARSE", False):  # Not yet on absl flags.
    return module.main(argv[1:]) or 0
  app.run(module.main, argv=[f"embtrans.bench {argv[0]}"] + argv[1:])
  return 0


if __name__ == "__main__":
  sys.exit(main())
