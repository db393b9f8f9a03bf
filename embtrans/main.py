"""Train and evaluate one run of any task (`config.task`).

  python -m embtrans.main --config=configs/mlp32x.py --workdir=/tmp/run1

Everything else lives in `embtrans.train.train_and_evaluate`, which tests call
directly; this file only parses flags.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

from absl import app
from absl import flags
from ml_collections import config_flags

from embtrans import train

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, "
                               "logs, config.json and results.json.")
config_flags.DEFINE_config_file("config", None, "Config file, e.g. "
                                "configs/mlp32x.py[:arg].", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.start()
  with cli.user_errors("embtrans"):
    results = train.train_and_evaluate(flags.FLAGS.config, _WORKDIR.value)
  keys = [k for k in sorted(results) if k.startswith(("test/", "baseline"))]
  width = max(map(len, keys))
  print("\n".join(f"{k:<{width}}  {results[k]:.6g}" for k in keys))
  print(f"Wrote {_WORKDIR.value}/results.json")


if __name__ == "__main__":
  app.run(main)
