"""Write `<workdir>/report/` for a finished (or partly finished) grid.

  results.csv           one row per member (trained and closed-form)
  README.md             what ran, the answers, the tables, the figures
  mse_vs_width.png      test MSE vs width per depth, one line per pair
  recall1_vs_width.png  test Recall@1 vs width
  loss_curves.png       training loss vs step per arch (convergence check)
  umap.png              UMAP of source / translated / target (showcase member)
  umap.html             the same translated / target points, interactive
  kernels.png           cosine Gram heatmaps of a labelled sample
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any, Sequence

import numpy as np
from absl import logging

import ml_collections

from embtrans.data import format as fmt
from embtrans.report import findings
from embtrans.report import io
from embtrans.report import pages
from embtrans.report import plots
from embtrans.report import readme
from embtrans.report import searches
from embtrans.report import tables
from embtrans.tasks import translate

FIGURES = ("mse_vs_width.png", "recall1_vs_width.png", "loss_curves.png",
           "umap.png", "umap.html", "kernels.png")
HEATMAP_ROWS = 64


def choose_showcase(rows: Sequence[tables.Row]) -> tables.Row:
  """The trained member with the best validation Recall@1 of the pair whose
  raw spaces are least alike (lowest CKA(source, target) on the test split,
  a property of the data, not of any translator): the hardest pair."""
  findings.check_val(rows)
  trained = [r for r in rows if r.get("kind") == "trained"
             and r.get(findings.CHOICE_KEY) is not None]
  hardest = min(trained, key=lambda r: (
      tables.value(r, findings.RAW["CKA"]), r["source"], r["target"]))
  pair = [r for r in trained if (r["source"], r["target"]) == (
      hardest["source"], hardest["target"])]
  return max(pair, key=lambda r: tables.value(r, findings.CHOICE_KEY))


class ShowcaseData:
  """Test arrays, texts and labels of one member, in its pair's row order."""

  def __init__(self, workdir: pathlib.Path, row: tables.Row):
    cell = io.read_cell(workdir / "cells" / row["key"])
    config = ml_collections.ConfigDict(cell["config"])
    for side in ("source_path", "target_path"):
      self._open(cell["data"][side])  # A clear error if one is gone.
    data = translate.load_data(config)
    test = data.paired.test
    self.ids, self.source, self.target = np.asarray(test.ids), test.a, test.b
    seed = io.seed_dirs(workdir / "cells" / row["key"])[0]
    self.seed = int(seed.name.removeprefix("seed_"))
    self.translated = np.load(seed / "test_translated.npy").astype(np.float32)
    tgt = self._open(cell["data"]["target_path"])
    rows = self._index(tgt, test.ids)
    self.texts = tgt.column("text")[rows]
    label = config.data.get("label_column", "")
    self.label_column = label
    self.labels = (np.asarray(tgt.column(label)[rows]).astype(str)
                   if label and label in tgt.rows.column_names else None)

  @staticmethod
  def _open(path: str) -> fmt.EmbeddingDataset:
    if not pathlib.Path(path).is_dir():
      raise FileNotFoundError(
          f"The report needs the embedding dataset {path} (recorded in "
          "data.json) for the UMAP, heatmap and search sections; rebuild it"
          " or run the report where the grid ran.")
    return fmt.open_dataset(path, verify=False)

  @staticmethod
  def _index(ds: fmt.EmbeddingDataset, ids: Sequence[str]) -> np.ndarray:
    where = {i: k for k, i in enumerate(ds.ids)}
    return np.array([where[i] for i in ids], np.int64)

  def _rows(self, ds: fmt.EmbeddingDataset, ids: Sequence[str]) -> np.ndarray:
    return np.asarray(ds.vectors[self._index(ds, ids)], np.float32)


def heatmap_sample(labels: np.ndarray | None, n: int, rows: int,
                   seed: int = 0) -> np.ndarray:
  """Up to `rows` row indices: equal shares of the 8 top labels, sorted."""
  rng = np.random.default_rng(seed)
  if labels is None:
    return np.sort(rng.choice(n, min(rows, n), replace=False))
  _, palette = plots.label_colors(labels)
  per = max(1, rows // max(1, len(palette)))
  picked = []
  for label in palette:
    members = np.flatnonzero(labels == label)
    picked.extend(rng.choice(members, min(per, len(members)), replace=False))
  picked = np.asarray(picked, np.int64)
  return picked[np.lexsort((picked, labels[picked]))]


def _umap_page(data: "ShowcaseData", show: dict, xy: Sequence[np.ndarray],
               path: pathlib.Path) -> None:
  """umap.html: translated and target test points [n, 2] in the target's
  UMAP coordinates, each with its text on hover, pairs as lines."""
  texts = list(data.texts)
  n = len(texts)
  pages.scatter2d_page(
      path, [pages.Population(f"translated ({show['member']})", xy[0], texts),
             pages.Population(f"target ({show['target']})", xy[1], texts)],
      f"UMAP of the target space, test split: {show['member']}",
      pairs=np.stack([np.arange(n), np.arange(n)], axis=1))


def write_report(workdir: str | pathlib.Path, out: str | None = None,
                 member: str | None = None, umap: bool = True
                 ) -> pathlib.Path:
  """Writes the report of `workdir` into `out` (default `<workdir>/report`).

  member: the showcased member's name (e.g. 'minilm->tfidf_lsa/mlp1_w8');
    default `choose_showcase`. umap: False skips the UMAP fits (slow first
    call) and draws a placeholder saying so.
  """
  t0 = time.time()
  workdir = pathlib.Path(workdir)
  out_dir = pathlib.Path(out) if out else workdir / "report"
  out_dir.mkdir(parents=True, exist_ok=True)
  rows = tables.load_rows(workdir)
  findings.check_val(rows)
  curves = findings.load_curves(workdir, rows)
  tables.write_csv(rows, out_dir / "results.csv")
  plots.width_curves(rows, "test/mse", "test MSE", out_dir /
                     "mse_vs_width.png", log=True)
  plots.width_curves(rows, "test/recall@1", "test Recall@1", out_dir /
                     "recall1_vs_width.png")
  plots.loss_curves(rows, curves, out_dir / "loss_curves.png")
  show = _showcase_row(rows, member)
  data = ShowcaseData(workdir, show)
  titles = (f"source: {show['source']}",
            f"translated: {show['member']}", f"target: {show['target']}")
  if umap:
    xy = plots.umap_panels(data.source, data.translated, data.target,
                           data.labels, titles, out_dir / "umap.png")
    _umap_page(data, show, xy[1:], out_dir / "umap.html")
  else:
    _placeholder(out_dir / "umap.png", "UMAP skipped (--noumap)")
    (out_dir / "umap.html").write_text(
        "<p>UMAP skipped (--noumap).</p>\n", encoding="utf-8")
  sample = heatmap_sample(data.labels, len(data.ids), HEATMAP_ROWS)
  plots.kernel_heatmaps(
      data.source[sample], data.translated[sample], data.target[sample],
      None if data.labels is None else data.labels[sample], titles,
      out_dir / "kernels.png")
  k = _overlap_k(rows)
  examples = searches.pick_examples(data.translated, data.target, k=k)
  search_md = searches.markdown(
      examples, [i.removeprefix("pydocs:") for i in data.ids], data.texts, k)
  text = readme.render(readme.Inputs(
      rows=rows, curves=curves, showcase=show, search_md=search_md,
      runs=io.sweep_runs(workdir), data=_data_summary(workdir, rows),
      label_column=data.label_column if data.labels is not None else "",
      showcase_seed=data.seed))
  (out_dir / "README.md").write_text(text, encoding="utf-8")
  logging.info("Report written to %s in %.1fs.", out_dir, time.time() - t0)
  return out_dir


def _data_summary(workdir: pathlib.Path, rows: Sequence[tables.Row]
                  ) -> dict[str, Any]:
  """{'spaces': {spec: {name, dim, rows, path}}, 'pairs': {name: sizes}}
  from the cells' data.json (paths relative to the cache when inside it)."""
  spaces, pairs = {}, {}
  for r in rows:
    d = io.read_json(pathlib.Path(r["dir"]) / "data.json")
    for side in ("source", "target"):
      path = pathlib.Path(d[f"{side}_path"])
      spaces[r[side]] = {"name": r[side], "dim": d[f"{side}_dim"],
                         "path": path.name}
    pairs[f"{r['source']}->{r['target']}"] = {
        k: d[k] for k in ("num_train", "num_val", "val_percent",
                          "val_method", "num_test") if k in d}
  return {"spaces": spaces, "pairs": pairs}


def _showcase_row(rows: Sequence[tables.Row], member: str | None
                  ) -> tables.Row:
  if not member:
    return choose_showcase(rows)
  found = [r for r in rows if r["member"] == member]
  if not found or found[0].get("kind") != "trained":
    names = [r["member"] for r in rows if r.get("kind") == "trained"]
    raise ValueError(f"--member={member!r} is not a finished trained member;"
                     f" choose one of: {', '.join(names[:12])} ...")
  return found[0]


def _overlap_k(rows: Sequence[tables.Row]) -> int:
  keys = [k for r in rows for k in r if k.startswith(
      "test/retrieval_overlap@")]
  return int(keys[0].rsplit("@", 1)[1]) if keys else 10


def _placeholder(path: pathlib.Path, text: str) -> None:
  fig = plots.plt.figure(figsize=(4, 1))
  fig.text(0.5, 0.5, text, ha="center", va="center")
  fig.savefig(path, dpi=plots.DPI)
  plots.plt.close(fig)


