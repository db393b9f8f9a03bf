"""Train and evaluate one run of any task (`config.task`).

  python -m embtrans.main --config=configs/mlp32x.py --workdir=/tmp/run1

Everything else lives in `embtrans.train.train_and_evaluate`, which tests call
directly; this file only parses flags and prints the headline scores.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

from typing import Any, Mapping

from absl import app
from absl import flags
from ml_collections import config_flags

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, "
                               "logs, config.json and results.json.")
config_flags.DEFINE_config_file("config", None, "Config file, e.g. "
                                "configs/mlp32x.py[:arg].", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])

# Columns of the printed table, when results.json has them.
COLUMNS = ("mse", "cosine", "recall@1", "recall@10", "mean_rank")


def table(results: Mapping[str, Any]) -> str:
  """One row per scored model (test, baseline_*), headline columns only."""
  rows = sorted({k.split("/")[0] for k in results
                 if k.startswith(("test/", "baseline"))},
                key=lambda r: (r != "test", r))
  cols = [c for c in COLUMNS if any(f"{r}/{c}" in results for r in rows)]
  if not cols:  # Another task's scores: every test/baseline key.
    cols = sorted({k.split("/", 1)[1] for k in results
                   if k.split("/")[0] in rows})
  width = max(map(len, rows), default=4)
  lines = [" ".join([f"{'':<{width}}"] + [f"{c:>10}" for c in cols])]
  for r in rows:
    cells = [f"{results[f'{r}/{c}']:>10.4g}" if f"{r}/{c}" in results
             else f"{'':>10}" for c in cols]
    lines.append(" ".join([f"{r:<{width}}"] + cells))
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.check_workdir(_WORKDIR.value)
  cli.start(_WORKDIR.value)
  # Imported once the flags are parsed: a config error fails in a second.
  import jax  # pylint: disable=g-import-not-at-top
  from embtrans import train  # pylint: disable=g-import-not-at-top
  results = train.train_and_evaluate(flags.FLAGS.config, _WORKDIR.value)
  if jax.process_index() == 0:  # Process 0 writes and reports.
    print(table(results))
    print(f"Wrote {_WORKDIR.value}/results.json (every score), log.txt.")


if __name__ == "__main__":
  cli.run(main, "embtrans.main")
