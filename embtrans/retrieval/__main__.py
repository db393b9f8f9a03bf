"""Two-stage retrieval on the pydocs corpus, and its report.

  python -m embtrans.retrieval --config=configs/two_stage.py --workdir=W
  python -m embtrans.retrieval --config=configs/two_stage.py --workdir=W \
      --report=docs/results/two_stage
  python -m embtrans.retrieval --workdir=W --report_only --report=DIR

Everything lives in `embtrans.retrieval.evaluation.evaluate` (tests call it
directly) and `embtrans.retrieval.report.write`; this file parses flags.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

import json
import pathlib

from absl import app
from absl import flags
from ml_collections import config_flags

PROG = "embtrans.retrieval"
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for config.json, "
                               "rows/, summary.json, results.json, chroma/.")
_REPORT = flags.DEFINE_string("report", None, "Where the report goes "
                              "(README.md, tables, PNGs); default W/report.")
_REPORT_ONLY = flags.DEFINE_bool("report_only", False, "Only rewrite the "
                                 "report from W/summary.json.")
config_flags.DEFINE_config_file("config", None, "Config file, e.g. "
                                "configs/two_stage.py[:arg].",
                                lock_config=True)
flags.mark_flags_as_required(["workdir"])


def report_only(workdir: str, out: str | None) -> pathlib.Path:
  """Rewrites the report from an earlier run's summary.json."""
  from embtrans.retrieval import report  # pylint: disable=g-import-not-at-top
  path = pathlib.Path(workdir) / "summary.json"
  if not path.is_file():
    raise FileNotFoundError(
        f"{path} does not exist: run `python -m {PROG} --config="
        f"configs/two_stage.py --workdir={workdir}` first.")
  return report.write(json.loads(path.read_text()),
                      pathlib.Path(out or pathlib.Path(workdir) / "report"))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  out = _REPORT.value
  if out:
    cli.check_workdir(out, "--report")
  if _REPORT_ONLY.value:
    cli.start(devices=False)
    print(f"Wrote {report_only(_WORKDIR.value, out)}/README.md")
    return
  if flags.FLAGS.config is None:
    raise ValueError("--config is required (e.g. "
                     "--config=configs/two_stage.py), unless --report_only.")
  cli.check_workdir(_WORKDIR.value)
  cli.start(_WORKDIR.value)
  from embtrans.retrieval import evaluation  # pylint: disable=g-import-not-at-top
  summary = evaluation.evaluate(flags.FLAGS.config, _WORKDIR.value, out)
  for g in summary["gains"]:
    print(f"{g['space']:<16} {g['subset']:<9} embedding-only "
          f"{g['embedding_only']:.3f}  two-stage {g['two_stage']:.3f}  "
          f"gain {g['gain']:+.3f}")
  print(f"Wrote {_WORKDIR.value}/results.json and "
        f"{out or pathlib.Path(_WORKDIR.value) / 'report'}/README.md")


if __name__ == "__main__":
  cli.run(main, PROG)
