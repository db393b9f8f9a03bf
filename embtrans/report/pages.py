"""Interactive pages: one self-contained HTML file per projection.

    pages.scatter_page("pca3.html", [Population("summary", codes_a, texts_a),
                                     Population("body", codes_b, texts_b)],
                       title="PCA(3)", pairs=pairs)

A page is a plotly figure written with plotly.js inlined (no CDN: it opens
offline, from a file). Points of [n, 3] draw as a WebGL `Scatter3d` (drag to
rotate, scroll to zoom), of [n, 2] as a WebGL `Scattergl`. Hovering a point
shows its population and its text (cut to TEXT_CHARS characters, HTML
escaped, wrapped); clicking a population in the legend hides or shows it.
Known pairs between the first two populations draw as thin lines (one
legend entry, hidden until clicked unless `show_pairs`). Above `max_points`
points each population is subsampled in proportion (seeded), and the title
says how many are shown.
"""

from __future__ import annotations

import dataclasses
import html
import os
import pathlib
import textwrap
from typing import Sequence

import numpy as np

TEXT_CHARS = 200
WRAP_CHARS = 60
MAX_POINTS = 50_000
MAX_PAIR_LINES = 2_000
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


@dataclasses.dataclass(frozen=True)
class Population:
  """One population of a page.

  Attributes:
    name: legend and hover label.
    points: [n, 3] (a 3-D page) or [n, 2] (a 2-D page).
    texts: [n] the text of each point.
  """

  name: str
  points: np.ndarray
  texts: Sequence[str]


def hover_text(text: str, chars: int = TEXT_CHARS) -> str:
  """`text` cut to `chars` characters, HTML-escaped, wrapped with <br>."""
  flat = " ".join(str(text).split())
  if len(flat) > chars:
    flat = flat[:chars - 1].rstrip() + "…"
  return "<br>".join(html.escape(line) for line in textwrap.wrap(
      flat, WRAP_CHARS)) or "(empty)"


def _check(populations: Sequence[Population], pairs: np.ndarray | None
           ) -> int:
  """Validates the inputs; returns the points' dim (2 or 3)."""
  if not populations:
    raise ValueError("A page needs at least one population.")
  dims = set()
  for p in populations:
    pts = np.asarray(p.points)
    if pts.ndim != 2 or pts.shape[1] not in (2, 3) or len(p.texts) != len(pts):
      raise ValueError(
          f"Population {p.name!r}: points must be [n, 2] or [n, 3] with one "
          f"text per point; got points {pts.shape} and {len(p.texts)} texts.")
    if not np.isfinite(pts).all():
      raise ValueError(f"Population {p.name!r} has NaN or inf coordinates.")
    dims.add(pts.shape[1])
  if len(dims) > 1:
    raise ValueError(f"All populations of a page must have the same dim; got "
                     f"{sorted(dims)}.")
  if pairs is not None:
    pairs = np.asarray(pairs)
    if len(populations) < 2 or pairs.ndim != 2 or pairs.shape[1] != 2 or (
        len(pairs) and (pairs.min() < 0
                        or pairs[:, 0].max() >= len(populations[0].texts)
                        or pairs[:, 1].max() >= len(populations[1].texts))):
      raise ValueError("pairs must be int [p, 2] rows of (point of the first "
                       "population, point of the second).")
  return dims.pop()


def _subsample(populations: Sequence[Population], max_points: int, seed: int
               ) -> list[np.ndarray]:
  """Kept row indices per population (all when the total fits)."""
  total = sum(len(p.texts) for p in populations)
  rng = np.random.default_rng(seed)
  if total <= max_points:
    return [np.arange(len(p.texts)) for p in populations]
  frac = max_points / total
  return [np.sort(rng.choice(len(p.texts), int(len(p.texts) * frac),
                             replace=False)) for p in populations]


def _kept_pairs(pairs: np.ndarray, keep: Sequence[np.ndarray],
                sizes: Sequence[int], limit: int, seed: int) -> np.ndarray:
  """Pairs whose both ends are kept, re-indexed into the kept rows; at most
  `limit` of them (a seeded sample)."""
  new = [np.full(sizes[side], -1) for side in (0, 1)]
  for side in (0, 1):
    new[side][keep[side]] = np.arange(len(keep[side]))
  p = np.stack([new[0][pairs[:, 0]], new[1][pairs[:, 1]]], 1)
  p = p[(p >= 0).all(1)]
  if len(p) > limit:
    p = p[np.sort(np.random.default_rng(seed).choice(len(p), limit, False))]
  return p


def _coords(points: np.ndarray, dim: int) -> dict[str, np.ndarray]:
  return {axis: points[:, i] for i, axis in enumerate("xyz"[:dim])}


def _pair_trace(a: np.ndarray, b: np.ndarray, dim: int, visible: bool):
  """One line trace through every pair (None breaks between pairs)."""
  import plotly.graph_objects as go  # pylint: disable=g-import-not-at-top
  n = len(a)
  seg = np.full((3 * n, dim), np.nan)
  seg[0::3], seg[1::3] = a, b
  coords = {axis: [None if np.isnan(v) else float(v) for v in seg[:, i]]
            for i, axis in enumerate("xyz"[:dim])}
  kind = go.Scatter3d if dim == 3 else go.Scattergl
  return kind(mode="lines", name=f"pairs ({n})", hoverinfo="skip",
              line=dict(color="#9a9a9a", width=1.5),
              visible=True if visible else "legendonly", **coords)


def _population_trace(p: Population, rows: np.ndarray, dim: int, color: str):
  import plotly.graph_objects as go  # pylint: disable=g-import-not-at-top
  pts = np.asarray(p.points, np.float64)[rows]
  texts = [hover_text(p.texts[i]) for i in rows]
  kind = go.Scatter3d if dim == 3 else go.Scattergl
  return kind(mode="markers", name=f"{p.name} ({len(rows)})", text=texts,
              hovertemplate=(f"<b>{html.escape(p.name)}</b><br>%{{text}}"
                             "<extra></extra>"),
              marker=dict(size=2.5 if dim == 3 else 4, color=color,
                          opacity=0.75), **_coords(pts, dim))


def _html(fig, title: str) -> str:
  """The whole page: plotly.js inlined, the plot filling the window."""
  div = fig.to_html(include_plotlyjs=True, full_html=False,
                    default_width="100%", default_height="100vh",
                    config={"displaylogo": False, "responsive": True})
  return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
          f"<title>{html.escape(title)}</title>"
          "<style>html, body { margin: 0; }</style></head>\n"
          f"<body>\n{div}\n</body>\n</html>\n")


def scatter_page(path: os.PathLike, populations: Sequence[Population],
                 title: str, pairs: np.ndarray | None = None,
                 show_pairs: bool = False, max_points: int = MAX_POINTS,
                 max_pair_lines: int = MAX_PAIR_LINES, seed: int = 0
                 ) -> dict[str, int]:
  """Writes one self-contained interactive HTML page; see the module doc.

  Args:
    path: the .html file to write (its folder is created).
    populations: the populations, drawn in this order, each in its colour.
    title: the page and plot title.
    pairs: optional int [p, 2] (row of populations[0], row of populations[1]).
    show_pairs: draw the pair lines at load (else hidden until clicked).
    max_points: subsample above this many points in total.
    max_pair_lines: draw at most this many pair lines.
    seed: of the subsampling.

  Returns:
    {'points': drawn, 'total': given, 'pair_lines': drawn, 'dim': 2 or 3}.
  """
  import plotly.graph_objects as go  # pylint: disable=g-import-not-at-top
  dim = _check(populations, pairs)
  keep = _subsample(populations, max_points, seed)
  traces = [_population_trace(p, rows, dim, COLORS[i % len(COLORS)])
            for i, (p, rows) in enumerate(zip(populations, keep))]
  n_lines = 0
  if pairs is not None and len(pairs):
    kept = _kept_pairs(np.asarray(pairs), keep,
                       [len(p.texts) for p in populations[:2]],
                       max_pair_lines, seed)
    n_lines = len(kept)
    a = np.asarray(populations[0].points, np.float64)[keep[0]][kept[:, 0]]
    b = np.asarray(populations[1].points, np.float64)[keep[1]][kept[:, 1]]
    traces.append(_pair_trace(a, b, dim, show_pairs))
  shown, total = sum(map(len, keep)), sum(len(p.texts) for p in populations)
  note = "" if shown == total else f" (showing {shown:,} of {total:,} points)"
  fig = go.Figure(traces)
  fig.update_layout(
      title=dict(text=html.escape(title) + note, x=0.02),
      legend=dict(itemsizing="constant", title="click to hide / show"),
      margin=dict(l=0, r=0, t=40, b=0), template="plotly_white",
      hoverlabel=dict(align="left"))
  if dim == 3:  # equal scales on all axes: distances look like distances
    fig.update_layout(scene=dict(aspectmode="data"))
  else:
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(_html(fig, title), encoding="utf-8")
  return {"points": shown, "total": total, "pair_lines": n_lines, "dim": dim}


def scatter3d_page(path: os.PathLike, populations: Sequence[Population],
                   title: str, **kwargs) -> dict[str, int]:
  """`scatter_page` for [n, 3] points (WebGL Scatter3d)."""
  _require_dim(populations, 3)
  return scatter_page(path, populations, title, **kwargs)


def scatter2d_page(path: os.PathLike, populations: Sequence[Population],
                   title: str, **kwargs) -> dict[str, int]:
  """`scatter_page` for [n, 2] points (WebGL Scattergl), e.g. a UMAP."""
  _require_dim(populations, 2)
  return scatter_page(path, populations, title, **kwargs)


def _require_dim(populations: Sequence[Population], dim: int) -> None:
  for p in populations:
    if np.ndim(p.points) != 2 or np.shape(p.points)[1] != dim:
      raise ValueError(f"Population {p.name!r}: a {dim}-D page needs points "
                       f"[n, {dim}], got {np.shape(p.points)}.")
