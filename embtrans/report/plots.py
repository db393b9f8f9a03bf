"""The report's figures (matplotlib, Agg; PNGs kept small).

  width_curves    a test metric vs hidden width, one panel per depth, one
                  line per directed pair, closed-form rows as dotted lines
  loss_curves     training loss vs step, one panel per arch
  umap_panels     UMAP of source / translated / target test points
  kernel_heatmaps cosine Gram matrices of a labelled sample, three spaces
"""

from __future__ import annotations

import collections
import pathlib
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt
import numpy as np

from embtrans.report import tables

DPI = 90
OTHER = "other"


def _save(fig, path: pathlib.Path) -> None:
  fig.tight_layout()
  fig.savefig(path, dpi=DPI)
  plt.close(fig)


def _pair_colors(rows: Sequence[tables.Row]) -> dict[tuple[str, str], str]:
  pairs = list(tables.index(rows))
  cmap = plt.get_cmap("tab10" if len(pairs) <= 10 else "tab20")
  return {p: cmap(i % cmap.N) for i, p in enumerate(pairs)}


def width_curves(rows: Sequence[tables.Row], key: str, ylabel: str,
                 path: pathlib.Path, log: bool = False) -> None:
  """`key` vs width (1x, 8x, 32x) for 1- and 2-hidden-layer MLPs.

  The linear translator sits at width 0 ("linear"); lstsq and Procrustes
  are dotted and dashed horizontal lines in the pair's colour.
  """
  colors = _pair_colors(rows)
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
  for ax, layers in zip(axes, (1, 2)):
    for pair, cells in tables.index(rows).items():
      xs, ys = [], []
      for x, arch in ((0, "linear"), (1, f"mlp{layers}_w1"),
                      (2, f"mlp{layers}_w8"), (3, f"mlp{layers}_w32")):
        v = tables.value(cells.get(arch), key)
        if not np.isnan(v):
          xs.append(x)
          ys.append(v)
      ax.plot(xs, ys, "o-", color=colors[pair],
              label=f"{pair[0]} → {pair[1]}")
      for arch, style in (("lstsq", ":"), ("procrustes", "--")):
        v = tables.value(cells.get(arch), key)
        if not np.isnan(v):
          ax.axhline(v, color=colors[pair], ls=style, lw=0.8, alpha=0.7)
    ax.set_xticks(range(4), ["linear", "1×", "8×", "32×"])
    ax.set_xlabel("hidden width (× source dim)")
    ax.set_title(f"{layers} hidden layer{'s' if layers > 1 else ''}")
    if log:
      ax.set_yscale("log")
    ax.grid(alpha=0.3)
  axes[0].set_ylabel(ylabel)
  axes[1].legend(fontsize=7, loc="best",
                 title="dotted: lstsq, dashed: Procrustes", title_fontsize=7)
  _save(fig, path)


def loss_curves(rows: Sequence[tables.Row],
                curves: Mapping[str, list[tuple[int, float]]],
                path: pathlib.Path) -> None:
  """Training loss (mean over each logging window) vs step, per arch."""
  colors = _pair_colors(rows)
  archs = sorted({r["arch"] for r in rows if r["key"] in curves},
                 key=tables.arch_rank)
  cols = min(4, max(1, len(archs)))
  nrows = -(-len(archs) // cols)
  if nrows * cols == len(archs):  # A free panel for the legend.
    cols += 1
  fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.6 * nrows),
                           squeeze=False)
  for ax, arch in zip(axes.flat, archs):
    for r in rows:
      if r["arch"] == arch and curves.get(r["key"]):
        steps, values = zip(*curves[r["key"]])
        ax.plot(steps, values, color=colors[(r["source"], r["target"])],
                lw=1, marker="o" if len(steps) < 5 else None, ms=3,
                label=tables.pair_label(r))
    ax.set_title(f"{tables.ARCH_LABELS.get(arch, arch)}", fontsize=9)
    ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
  for ax in list(axes.flat)[len(archs):]:
    ax.axis("off")
  handles, labels = axes.flat[0].get_legend_handles_labels()
  axes.flat[len(archs)].legend(handles, labels, fontsize=7, loc="center")
  _save(fig, path)


def label_colors(labels: np.ndarray | None, top: int = 8
                 ) -> tuple[list, dict[str, tuple]]:
  """Colour per point: the `top` most frequent labels get tab10, others grey."""
  if labels is None:
    return ["tab:blue"], {}
  common = [l for l, _ in collections.Counter(labels).most_common(top)]
  cmap = plt.get_cmap("tab10")
  palette = {l: cmap(i) for i, l in enumerate(common)}
  grey = (0.75, 0.75, 0.75, 0.6)
  return [palette.get(l, grey) for l in labels], palette


def _legend(ax, palette: Mapping[str, tuple]) -> None:
  if palette:
    handles = [plt.Line2D([], [], ls="", marker="o", color=c, label=l)
               for l, c in palette.items()]
    handles.append(plt.Line2D([], [], ls="", marker="o",
                              color=(0.75, 0.75, 0.75), label=OTHER))
    ax.legend(handles=handles, fontsize=6, loc="best", markerscale=0.8)


def umap_panels(source: np.ndarray, translated: np.ndarray,
                target: np.ndarray, labels: np.ndarray | None,
                titles: Sequence[str], path: pathlib.Path,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """UMAP of source [n, d_s], translated and target [n, d_t] test points.

  The target's UMAP is fitted on the target points and the translated
  points are placed with its `transform`, so both panels share coordinates;
  the source space gets its own fit. umap-learn is imported here (slow).
  Returns the [n, 2] coordinates (source, translated, target).
  """
  import umap  # pylint: disable=g-import-not-at-top
  kw = dict(n_neighbors=15, min_dist=0.1, metric="cosine", random_state=seed)
  src_xy = umap.UMAP(**kw).fit_transform(source)
  target_map = umap.UMAP(**kw).fit(target)
  tgt_xy, trans_xy = target_map.embedding_, target_map.transform(translated)
  colors, palette = label_colors(labels)
  fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
  for ax, xy, title in zip(axes, (src_xy, trans_xy, tgt_xy), titles):
    ax.scatter(xy[:, 0], xy[:, 1], c=colors, s=3, linewidths=0)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
  axes[2].set_xlim(axes[1].get_xlim())
  axes[2].set_ylim(axes[1].get_ylim())
  _legend(axes[0], palette)
  _save(fig, path)
  return src_xy, trans_xy, tgt_xy


def _cosine_gram(x: np.ndarray) -> np.ndarray:
  x = np.asarray(x, np.float64)
  x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
  return x @ x.T


def kernel_heatmaps(source: np.ndarray, translated: np.ndarray,
                    target: np.ndarray, labels: np.ndarray | None,
                    titles: Sequence[str], path: pathlib.Path) -> None:
  """Cosine Gram matrices [n, n] of the three spaces on the same rows.

  Rows are expected sorted by label; label boundaries are drawn. The
  diagonal (always 1) is blanked so the colour scale shows the off-diagonal
  structure; all panels share one scale.
  """
  grams = [_cosine_gram(a) for a in (source, translated, target)]
  off = ~np.eye(grams[0].shape[0], dtype=bool)
  lo = min(float(np.percentile(g[off], 0.5)) for g in grams)
  hi = max(float(np.percentile(g[off], 99.5)) for g in grams)
  fig, axes = plt.subplots(1, 3, figsize=(12, 4.1), layout="constrained")
  for n, (ax, gram, title) in enumerate(zip(axes, grams, titles)):
    im = ax.imshow(np.where(off, gram, np.nan), vmin=lo, vmax=hi,
                   cmap="viridis", interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is None:
      continue
    bounds = np.flatnonzero(labels[1:] != labels[:-1]) + 0.5
    for b in bounds:
      ax.axhline(b, color="white", lw=0.6)
      ax.axvline(b, color="white", lw=0.6)
    if n == 0:
      edges = np.concatenate([[-0.5], bounds, [len(labels) - 0.5]])
      ax.set_yticks((edges[:-1] + edges[1:]) / 2,
                    [labels[int(np.ceil(e))] for e in edges[:-1]],
                    fontsize=7)
  fig.colorbar(im, ax=axes, shrink=0.85, label="cosine (diagonal blank)")
  fig.savefig(path, dpi=DPI)
  plt.close(fig)


def simple_curve(x: np.ndarray, y: np.ndarray, xlabel: str, ylabel: str,
                 path: pathlib.Path, log: bool = True) -> None:
  """One line plot (e.g. a single run's loss by step)."""
  fig, ax = plt.subplots(figsize=(5, 3.2))
  ax.plot(x, y, lw=1.2)
  if log and len(y) and (np.asarray(y) > 0).all():
    ax.set_yscale("log")
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  _save(fig, path)
