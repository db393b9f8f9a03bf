"""Dispatches `python -m embtrans.bench <name> [--flags]` to bench/<name>.py.

Each benchmark module defines its absl flags in its own `FLAGS`
(`flags.FlagValues()`, so two benchmarks may both have a `--quick`) and
`main(argv) -> int`. The dispatcher parses the module's flags, then absl's
own (`--verbosity`, ...), and calls `main` with what is left (positional
arguments, e.g. `embed`'s sub-benchmark). `--help` lists the module's flags.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

import importlib
import sys

from absl import flags

from embtrans.bench import known_benchmarks

HELP = ("--help", "-h", "--helpshort", "-?")


def _fail(prog: str, message: str) -> int:
  print(f"{prog}: error: {message}", file=sys.stderr)
  return 2


def _parse(prog: str, module, args: list[str]) -> list[str]:
  """[prog, positional...] after the module's and absl's flags.

  Raises:
    flags.Error: an unknown flag or a bad value.
  """
  own = getattr(module, "FLAGS", None)
  if own is not None:
    own.unparse_flags()  # Defaults again for a second call in one process.
  rest = own([prog] + args, known_only=True) if own is not None else (
      [prog] + args)
  unknown = [a for a in rest[1:] if a.startswith("-")
             and a.lstrip("-").split("=")[0].removeprefix("no")
             not in flags.FLAGS]
  if unknown:
    known = ", ".join(f"--{n}" for n in sorted(own)) if own else "none"
    raise flags.Error(f"unknown flag {unknown[0]!r}; this benchmark's flags: "
                      f"{known} (--help lists them with their defaults)")
  return flags.FLAGS(rest)


def main(argv: list[str] | None = None) -> int:
  """argv: [name, flags...] (default: the command line after the program)."""
  argv = sys.argv[1:] if argv is None else list(argv)
  known = known_benchmarks()
  if not argv or argv[0] not in known:
    given = f"Unknown benchmark {argv[0]!r}. " if argv else ""
    return _fail("embtrans.bench", f"{given}Usage: python -m embtrans.bench "
                 f"<name> [--flags]; known benchmarks: {', '.join(known)}.")
  prog = f"python -m embtrans.bench {argv[0]}"
  module = importlib.import_module(f"embtrans.bench.{argv[0]}")
  if any(a in HELP for a in argv[1:]):
    own = getattr(module, "FLAGS", None)
    print(f"{prog}\n{module.__doc__}\n{own.get_help() if own else ''}")
    return 0
  try:
    rest = _parse(prog, module, argv[1:])
  except flags.Error as e:
    return _fail("embtrans.bench", f"{argv[0]}: {e}")
  with cli.user_errors("embtrans.bench"):
    return module.main(rest) or 0


if __name__ == "__main__":
  sys.exit(main())
