"""Write the report of a translator grid.

  python -m embtrans.report /tmp/grid                 -> /tmp/grid/report/
  python -m embtrans.report /tmp/grid --out=docs/results/grid
  python -m embtrans.report /tmp/grid --member='minilm->tfidf_lsa/mlp1_w8'
  python -m embtrans.report /tmp/grid --noumap        (skip the UMAP fits)
"""

import os
import sys

from absl import app
from absl import flags

from embtrans.report import grid

_OUT = flags.DEFINE_string("out", None, "Output directory (default "
                           "<workdir>/report).")
_MEMBER = flags.DEFINE_string("member", None, "Member shown in the UMAP, "
                              "heatmaps and searches (default: automatic).")
_UMAP = flags.DEFINE_bool("umap", True, "Fit UMAP (the first fit in a "
                          "process compiles numba code, ~1 min).")


def main(argv):
  if len(argv) != 2:
    raise app.UsageError("Usage: python -m embtrans.report <workdir> "
                         "[--out=DIR] [--member=NAME] [--noumap]")
  try:
    out = grid.write_report(argv[1], _OUT.value, _MEMBER.value, _UMAP.value)
  except (FileNotFoundError, ValueError) as e:
    if os.environ.get("EMBTRANS_TRACEBACK"):
      raise
    sys.exit(f"embtrans.report: error: {e}")
  print(f"Wrote {out}/README.md, results.csv and "
        f"{', '.join(grid.FIGURES)}")


if __name__ == "__main__":
  app.run(main)
