"""Write the report of any run or sweep workdir.

  python -m embtrans.report W                  -> W/report/
  python -m embtrans.report W --out=docs/results/grid
  python -m embtrans.report W --member='minilm->tfidf_lsa~mlp1_w8'   (grid)
  python -m embtrans.report W --noumap         (grid: skip the UMAP fits)
  python -m embtrans.report W --nopages        (ae3d: no HTML pages)

What W holds decides the report: a sweep of `translate` cells -> the grid
report; a sweep of `align` cells -> the ablation report; a sweep of
`autoencode` cells -> the ae3d report (3-D views, pages); a single run
(results.json at the top) -> the run report.
"""

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

import pathlib

from absl import app
from absl import flags

_OUT = flags.DEFINE_string("out", None, "Output directory (default "
                           "<workdir>/report).")
_MEMBER = flags.DEFINE_string("member", None, "Grid: the member shown in the "
                              "UMAP, heatmaps and searches (default: auto).")
_PAGES = flags.DEFINE_bool("pages", True, "ae3d: write the interactive "
                           "3-D pages (~5 MB each, plotly.js inlined).")
_UMAP = flags.DEFINE_bool("umap", True, "Grid: fit UMAP (the first fit in a "
                          "process compiles numba code, ~1 min).")


def main(argv):
  if len(argv) != 2:
    raise app.UsageError("Usage: python -m embtrans.report <workdir> "
                         "[--out=DIR] [--member=NAME] [--noumap]")
  workdir = pathlib.Path(argv[1])
  if not workdir.is_dir():
    raise ValueError(f"{workdir} is not a directory: pass the --workdir of a "
                     "python -m embtrans.main or embtrans.sweep run.")
  if _OUT.value:
    cli.check_workdir(_OUT.value, "--out")
  cli.start(devices=False)
  # Imported once the flags are parsed: a bad argument fails in a second.
  from embtrans.report import dispatch  # pylint: disable=g-import-not-at-top
  written = cli.on_process_zero(
      dispatch.write_report, workdir, _OUT.value, member=_MEMBER.value,
      umap=_UMAP.value, pages=_PAGES.value)
  if written:
    out, figures = written
    print(f"Wrote {out}/README.md and {', '.join(figures)}")


if __name__ == "__main__":
  cli.run(main, "embtrans.report")
