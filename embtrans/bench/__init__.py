"""Benchmarks, run as `python -m embtrans.bench <name> [args]`.

Each public module `embtrans/bench/<name>.py` exposes `main(argv) -> int`.
"""

import pkgutil


def known_benchmarks() -> list[str]:
  """Names of the benchmark modules in this package."""
  return sorted(m.name for m in pkgutil.iter_modules(__path__)
                if not m.name.startswith("_"))
