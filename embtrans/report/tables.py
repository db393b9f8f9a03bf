"""The grid's results as rows, CSV and Markdown tables, and the answers.

A row is one grid cell's results.json (see `embtrans.sweeps`): metadata
(source, target, arch, kind, layers, hidden_mult, params, steps, ...) and
flat scores (`test/mse`, `val/recall@1`, ...). A cell of several seeds holds
the mean under the plain key and each seed's value under `seed_<s>/<key>`;
`seed_values` / `interval` read them back.
"""

from __future__ import annotations

import csv
import json
import math
import pathlib
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

from embtrans.report import io

Row = dict[str, Any]

# Leading CSV columns, in this order; every other key follows, sorted.
META_COLUMNS = ("member", "source", "target", "arch", "kind", "model",
                "layers", "width", "params", "steps", "batch_size",
                "learning_rate", "warmup_steps", "num_seeds", "train_seconds",
                "program",
                "program_members", "program_seconds", "final_train_loss",
                "diverged_at_step", "num_train", "num_test")

# Column order of the pivot tables: trained archs, then closed-form rows.
ARCH_ORDER = ("linear", "mlp1_w1", "mlp1_w8", "mlp1_w32", "mlp2_w1",
              "mlp2_w8", "mlp2_w32", "lstsq", "procrustes")
ARCH_LABELS = {"linear": "linear", "mlp1_w1": "1L 1×", "mlp1_w8": "1L 8×",
               "mlp1_w32": "1L 32×", "mlp2_w1": "2L 1×", "mlp2_w8": "2L 8×",
               "mlp2_w32": "2L 32×", "lstsq": "lstsq", "procrustes":
               "Procrustes"}


def _space(spec: str) -> str:
  return pathlib.Path(spec).name if "/" in spec else spec


def grid_row(cell: Mapping[str, Any]) -> Row:
  """A grid cell (`report.io.read_cell`) as a table row."""
  f, r, c = cell["factors"], cell["results"], cell["config"]
  model = c["model"]
  row = dict(r)
  row.update(
      member=cell["name"], key=cell["name"], dir=str(cell["dir"]),
      source=_space(f["source"]), target=_space(f["target"]), arch=f["arch"],
      kind="baseline" if r.get("kind") == "closed_form" else r.get("kind"),
      model=model["name"], layers=model.get("layers", 0),
      hidden_mult=model.get("hidden_mult", 0),
      width=model.get("hidden_mult", 0),
      final_train_loss=r.get("train/final_loss"),
      diverged_at_step=r.get("train/diverged_at_step", -1),
      warmup_steps=c.get("optimizer", {}).get("warmup_steps"),
      num_seeds=c.get("num_seeds", 1),
      num_train=cell["data"]["num_train"], num_test=cell["data"]["num_test"],
      num_val=cell["data"].get("num_val", 0))
  return row


def load_rows(workdir: pathlib.Path) -> list[Row]:
  """All finished cells of a grid workdir, sorted by pair then arch."""
  rows = [grid_row(c) for c in io.read_cells(workdir)]
  return sorted(rows, key=lambda r: (r["source"], r["target"],
                                     arch_rank(r["arch"])))


def arch_rank(arch: str) -> int:
  return ARCH_ORDER.index(arch) if arch in ARCH_ORDER else len(ARCH_ORDER)


def pair_label(row: Mapping[str, Any]) -> str:
  return f"{row['source']} → {row['target']}"


def write_csv(rows: Sequence[Row], path: pathlib.Path) -> None:
  """One line per member; metadata columns first, then the test scores."""
  # `dir` is where the cell was read from: a path of this machine.
  keys = sorted({k for r in rows for k in r} - set(META_COLUMNS) - {"dir"})
  columns = [c for c in META_COLUMNS if any(c in r for r in rows)] + keys
  with open(path, "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, columns, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
      writer.writerow({k: "" if r.get(k) is None else r.get(k)
                       for k in columns})


def value(row: Mapping[str, Any] | None, key: str) -> float:
  """A numeric score, NaN when missing (e.g. a diverged member)."""
  if row is None or row.get(key) is None:
    return math.nan
  return float(row[key])


def seed_values(row: Mapping[str, Any] | None, key: str) -> dict[int, float]:
  """{seed: value} of `key` (`seed_<s>/<key>` entries; a one-seed or
  closed-form row: {-1: row[key]}). Missing or null values are left out."""
  if row is None:
    return {}
  out = {}
  for k, v in row.items():
    head, _, rest = k.partition("/")
    if rest == key and head.startswith("seed_") and v is not None:
      out[int(head.removeprefix("seed_"))] = float(v)
  if not out and row.get(key) is not None:
    out[-1] = float(row[key])
  return out


def t_interval(xs: Sequence[float], level: float = 0.95
               ) -> tuple[float, float]:
  """(mean, half-width of the Student-t interval at `level`) of xs: [n].

  NaN half-width for n < 2 (no spread to measure); NaN mean for n = 0.
  """
  xs = np.asarray([x for x in xs if not math.isnan(x)], np.float64)
  if xs.size == 0:
    return math.nan, math.nan
  if xs.size == 1:
    return float(xs[0]), math.nan
  t = stats.t.ppf(0.5 + level / 2, xs.size - 1)
  return float(xs.mean()), float(t * xs.std(ddof=1) / math.sqrt(xs.size))


def interval(row: Mapping[str, Any] | None, key: str) -> tuple[float, float]:
  """(mean, 95 % half-width) of `key` over the row's seeds."""
  return t_interval(list(seed_values(row, key).values()))


def paired_difference(row_a: Mapping[str, Any] | None,
                      row_b: Mapping[str, Any] | None, key: str
                      ) -> tuple[float, float, int]:
  """(mean, 95 % half-width, n) of b - a over the seeds both rows have.

  Members of one seed see the same batches whatever the arch, so the
  difference is paired by seed.
  """
  a, b = seed_values(row_a, key), seed_values(row_b, key)
  shared = sorted(set(a) & set(b))
  m, hw = t_interval([b[s] - a[s] for s in shared])
  return m, hw, len(shared)


def sign(mean_: float, half_width: float) -> int:
  """+1 / -1 when the interval lies above / below 0, else 0."""
  if math.isnan(mean_) or math.isnan(half_width):
    return 0
  return 1 if mean_ - half_width > 0 else -1 if mean_ + half_width < 0 else 0


def fmt_interval(mean_: float, half_width: float, spec: str) -> str:
  """'0.745 ± 0.004', or the mean alone without a half-width."""
  if math.isnan(mean_):
    return "—"
  if math.isnan(half_width):
    return format(mean_, spec)
  return f"{format(mean_, spec)} ± {format(half_width, spec)}"


def index(rows: Iterable[Row]) -> dict[tuple[str, str], dict[str, Row]]:
  """(source, target) -> arch -> row."""
  out: dict[tuple[str, str], dict[str, Row]] = {}
  for r in rows:
    out.setdefault((r["source"], r["target"]), {})[r["arch"]] = r
  return out


def fmt_value(x: float, spec: str) -> str:
  return "—" if math.isnan(x) else format(x, spec)


def _numeric(cell: str) -> bool:
  try:
    float(cell.strip("*").replace("—", "0"))
    return True
  except ValueError:
    return False


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]
                   ) -> str:
  """A Markdown table; columns whose cells are all numbers align right."""
  right = [i > 0 and all(_numeric(r[i].split(" ± ")[0]) for r in body)
           for i in range(len(header))]
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if r else "---" for r in right) + "|"]
  lines += ["| " + " | ".join(cells) + " |" for cells in body]
  return "\n".join(lines)


def pivot(rows: Sequence[Row], key: str, spec: str, best: str | None = None,
          scale: float = 1.0, extra: tuple[str, str] | None = None,
          ci: bool = False) -> str:
  """Directed pairs x archs table of `key` (times `scale`).

  best: 'min' or 'max' puts each pair's best mean in bold (every cell
    that shows the same digits).
  extra: (header, key) of a per-pair column appended at the right (read
    from any row of the pair, e.g. CKA(source, target)).
  ci: each cell also shows the 95 % half-width over seeds ('m ± h').
  """
  by_pair = index(rows)
  archs = sorted({r["arch"] for r in rows}, key=arch_rank)
  body = []
  for cells in by_pair.values():
    vals = [value(cells.get(a), key) * scale for a in archs]
    finite = [v for v in vals if not math.isnan(v)]
    target = (min(finite) if best == "min" else max(finite)) if (
        best and finite) else None
    any_row = next(iter(cells.values()))
    best_text = None if target is None else fmt_value(target, spec)
    shown = [fmt_value(v, spec) for v in vals]
    if ci:
      shown = [fmt_interval(v, interval(cells.get(a), key)[1] * scale, spec)
               for v, a in zip(vals, archs)]
    line = [pair_label(any_row)] + [  # Ties at the shown precision: all bold.
        f"**{text}**" if fmt_value(v, spec) == best_text else text
        for v, text in zip(vals, shown)]
    if extra:
      line.append(fmt_value(mean(value(r, extra[1]) for r in cells.values()),
                       spec))
    body.append(line)
  header = ["source → target"] + [ARCH_LABELS.get(a, a) for a in archs]
  return markdown_table(header + ([extra[0]] if extra else []), body)


def epochs(row: Mapping[str, Any]) -> float:
  """Passes over the rows a trained member was fitted on."""
  return row["steps"] * row["batch_size"] / row["num_train"]


def budget_table(rows: Sequence[Row]) -> str:
  """Per arch: params, seeds, steps, batch, lr, warmup, epochs, seconds."""
  body = []
  for arch in sorted({r["arch"] for r in rows if r.get("kind") == "trained"},
                     key=arch_rank):
    group = [r for r in rows if r["arch"] == arch]
    params = sorted({int(r["params"]) for r in group})
    programs = {r["program"]: r["program_seconds"] for r in group}
    first = group[0]
    body.append([
        ARCH_LABELS.get(arch, arch),
        " / ".join(f"{p / 1e6:.2f}M" for p in params),
        str(first.get("num_seeds", 1)), str(first["steps"]),
        str(first["batch_size"]), f"{first['learning_rate']:g}",
        str(first.get("warmup_steps", "?")), f"{epochs(first):.1f}",
        str(len(programs)), f"{sum(programs.values()):.0f}"])
  return markdown_table(["arch", "params (per shape)", "seeds", "steps",
                         "batch", "peak lr", "warmup", "epochs", "programs",
                         "train + eval s"], body)


def mean(xs: Iterable[float]) -> float:
  xs = [x for x in xs if not math.isnan(x)]
  return sum(xs) / len(xs) if xs else math.nan


def relative_change(rows: Sequence[Row], arch_a: str, arch_b: str,
                    key: str = "test/mse") -> tuple[float, int, int]:
  """Mean relative change of `key` from arch_a to arch_b over pairs.

  Returns (mean of (b - a) / a, pairs where b < a, pairs compared).
  """
  changes, better = [], 0
  for cells in index(rows).values():
    a, b = value(cells.get(arch_a), key), value(cells.get(arch_b), key)
    if math.isnan(a) or math.isnan(b):
      continue
    changes.append((b - a) / a)
    better += b < a
  return mean(changes), better, len(changes)


def best_of(cells: Mapping[str, Row], archs: Sequence[str], key: str,
            pick: Callable = min) -> tuple[str | None, float]:
  vals = [(value(cells.get(a), key), a) for a in archs
          if not math.isnan(value(cells.get(a), key))]
  if not vals:
    return None, math.nan
  v, a = pick(vals)
  return a, v
