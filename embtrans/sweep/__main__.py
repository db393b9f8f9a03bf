"""Run a translator grid.

  python -m embtrans.sweep --config=configs/grid.py --workdir=/tmp/grid
  python -m embtrans.sweep --config=configs/grid.py:tiny=True --workdir=...

Rerunning with the same --workdir skips finished members and resumes the
others from their program's latest checkpoint. Then:
  python -m embtrans.report /tmp/grid
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from ml_collections import config_flags

from embtrans import cli
from embtrans.sweep import run

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the grid: "
                               "checkpoints, per-member results and logs.")
config_flags.DEFINE_config_file("config", None, "Grid config, e.g. "
                                "configs/grid.py[:arg].", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.start()
  with cli.user_errors("embtrans.sweep"):
    summary = run.run_sweep(flags.FLAGS.config, _WORKDIR.value)
  for p in summary["programs_run"]:
    print(f"{p['program']:<28} {p['members']} members  {p['seconds']:8.1f}s")
  print(f"{len(summary['programs_run'])} programs trained, "
        f"{len(summary['programs_skipped'])} already finished; "
        f"{summary['seconds']:.1f}s in all "
        f"(data {summary['data_seconds']:.1f}s).")
  print(f"Next: python -m embtrans.report {_WORKDIR.value}")


if __name__ == "__main__":
  app.run(main)
