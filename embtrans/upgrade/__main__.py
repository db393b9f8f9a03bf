"""The pydocs model-upgrade experiment (MiniLM -> E5 and back).

  python -m embtrans.upgrade prepare --workdir=W
  python -m embtrans.sweep --config=configs/upgrade.py --workdir=W/sweep
  python -m embtrans.upgrade evaluate --workdir=W [--report=DIR]
  python -m embtrans.upgrade report --workdir=W --report=DIR   # from W/summary.json

prepare writes the translator pair datasets (--data_dir, default the
embedding cache's upgrade/ folder, which configs/upgrade.py reads by default)
and the task (W/task.json);
evaluate picks each translator's lr and steps on the validation split, scores
the picked ones on the test split (W/summary.json) and writes the report.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

from absl import app
from absl import flags

PROG = "embtrans.upgrade"
COMMANDS = ("prepare", "evaluate", "report")
_WORKDIR = flags.DEFINE_string("workdir", None, "Experiment directory.")
_REPORT = flags.DEFINE_string("report", None, "evaluate: write the report "
                              "here (e.g. docs/results/upgrade).")
_SIZES = flags.DEFINE_list("sizes", ["100", "1000", "0"], "prepare: training"
                           " pair counts (0 = all fit texts).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "prepare: where the pair "
                                "datasets go (default <cache>/upgrade; pass "
                                "the same as configs/upgrade.py:data_dir=).")
flags.mark_flag_as_required("workdir")


def main(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"Usage: python -m {PROG} <{'|'.join(COMMANDS)}> "
                         "--workdir=W")
  cli.start()
  # pylint: disable=g-import-not-at-top
  from embtrans.upgrade import pipeline
  with cli.user_errors(PROG):
    if argv[1] == "prepare":
      print(pipeline.prepare(_WORKDIR.value, [int(s) for s in _SIZES.value],
                             _DATA_DIR.value))
    elif argv[1] == "report":
      print(pipeline.report_only(_WORKDIR.value, _REPORT.value))
    else:
      print(pipeline.evaluate(_WORKDIR.value, _REPORT.value))


if __name__ == "__main__":
  app.run(main)
