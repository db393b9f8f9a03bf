"""Run a sweep: every cell of a config's sweep(add, arg), one program per shape.

  python -m embtrans.sweep --config=configs/grid.py --workdir=W
  python -m embtrans.sweep --config=configs/perceiver_ablation.py --workdir=W
  python -m embtrans.sweep --config=configs/grid.py:tiny=True --dry_run

`--dry_run` prints the programs, their members, parameter counts and step
budgets, and writes nothing. Rerunning the same command resumes: finished
cells are skipped, interrupted programs continue from their checkpoints.
Report: `python -m embtrans.report W`.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

from absl import app
from absl import flags

_CONFIG = flags.DEFINE_string("config", None, "configs/<x>.py[:arg], a file "
                              "with get_config(arg) and sweep(add, arg).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (not needed"
                               " with --dry_run).")
_ONLY = flags.DEFINE_string("only", "", "Regex: run only the matching cells.")
_DRY = flags.DEFINE_bool("dry_run", False, "Print the plan, write nothing.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if not _DRY.value:
    if not _WORKDIR.value:
      raise ValueError("--workdir is required (or pass --dry_run).")
    cli.check_workdir(_WORKDIR.value)
  cli.check_config_file(_CONFIG.value)
  cli.start(None if _DRY.value else _WORKDIR.value)
  path, _, arg = _CONFIG.value.partition(":")
  # Imported once the flags are parsed: a flag error fails in a second.
  from embtrans import sweeps  # pylint: disable=g-import-not-at-top
  summary = sweeps.run(path, arg or None, _WORKDIR.value or "", _ONLY.value,
                       _DRY.value)
  if not _DRY.value:
    print(f"Sweep done in {summary['seconds']:.0f}s: {len(summary['ran'])} "
          f"programs run, {len(summary['skipped'])} already done. Report: "
          f"python -m embtrans.report {_WORKDIR.value}")


if __name__ == "__main__":
  flags.mark_flags_as_required(["config"])
  cli.run(main, "embtrans.sweep")
