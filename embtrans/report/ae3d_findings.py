"""The seed's claims about 3-D views, answered from a table of results.

A row is one fitted projection:

    {"train": "a" | "b" | "both",       # the population(s) it was fitted on
     "loss": "recon" | "recon+mse" | "recon+rank" | ... | "-" (baselines),
     "method": "ae" | "pca50_ae" | "pca3" | "umap3" | "pca50_umap3",
     "seed": int, **evaluate_projection(...)}    # flat metric keys

`answers(rows)` returns Markdown bullets, one per question; every number and
every verdict in them is computed here from the rows. A comparison of two
cells is the difference of their seed means with a 95 % Welch interval;
its verdict is 'higher' / 'lower' when the interval excludes 0 and 'not
resolved' otherwise, so no threshold is chosen by hand.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.stats

Row = Mapping[str, Any]
AE, PCA_AE = "ae", "pca50_ae"
BASELINES = ("pca3", "umap3", "pca50_umap3")
LABELS = {"ae": "autoencoder", "pca50_ae": "PCA(50) → AE",
          "pca3": "PCA(3)", "umap3": "UMAP(3)", "pca50_umap3":
          "PCA(50) → UMAP(3)"}
METRIC_LABELS = {"trust@10": "trustworthiness@10", "cont@10": "continuity@10",
                 "knn@10": "k-NN preservation@10", "spearman": "Spearman ρ",
                 "proj/a2b/recall@10": "A→B Recall@10 in 3-D"}
PRIMARY = "trust@10"
SECONDARY = "spearman"


@dataclasses.dataclass(frozen=True)
class Comparison:
  """mean(x) - mean(y) over seeds, with a 95 % Welch interval."""

  mean_x: float
  mean_y: float
  lo: float
  hi: float
  n_x: int
  n_y: int

  @property
  def diff(self) -> float:
    return self.mean_x - self.mean_y

  @property
  def verdict(self) -> str:
    if self.lo > 0:
      return "higher"
    if self.hi < 0:
      return "lower"
    return "not resolved"


def select(rows: Sequence[Row], **where: Any) -> list[Row]:
  return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def values(rows: Sequence[Row], key: str) -> np.ndarray:
  v = np.array([float(r.get(key, math.nan)) for r in rows])
  return v[~np.isnan(v)]


def interval(v: np.ndarray) -> tuple[float, float]:
  """Mean and the half-width of its 95 % t interval (NaN below 2 values)."""
  if not len(v):
    return math.nan, math.nan
  if len(v) < 2:
    return float(v.mean()), math.nan
  half = scipy.stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(
      len(v))
  return float(v.mean()), float(half)


def compare(x: np.ndarray, y: np.ndarray) -> Comparison:
  """Welch's 95 % interval of mean(x) - mean(y)."""
  if len(x) < 2 or len(y) < 2:
    mx = float(x.mean()) if len(x) else math.nan
    my = float(y.mean()) if len(y) else math.nan
    return Comparison(mx, my, math.nan, math.nan, len(x), len(y))
  vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
  d = float(x.mean() - y.mean())
  se = math.sqrt(vx + vy)
  if se == 0:  # deterministic cells (PCA): the difference is exact.
    return Comparison(float(x.mean()), float(y.mean()), d, d, len(x), len(y))
  df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
  half = scipy.stats.t.ppf(0.975, df) * se
  return Comparison(float(x.mean()), float(y.mean()), d - half, d + half,
                    len(x), len(y))


def _cmp(rows: Sequence[Row], key: str, x: Mapping[str, Any],
         y: Mapping[str, Any]) -> Comparison:
  return compare(values(select(rows, **x), key),
                 values(select(rows, **y), key))


def _fmt(c: Comparison) -> str:
  if math.isnan(c.mean_x) or math.isnan(c.mean_y):
    return "n/a (a cell is missing)"
  ci = ("" if math.isnan(c.lo) else f" [95 % CI {c.lo:+.3f}, {c.hi:+.3f}]")
  return (f"{c.mean_x:.3f} vs {c.mean_y:.3f}, Δ {c.diff:+.3f}{ci}, "
          f"{c.n_x} vs {c.n_y} seeds")


def _part(key: str, c: Comparison) -> str:
  """'<metric> is <verdict>: <numbers>', or '<metric>: n/a (...)'."""
  if math.isnan(c.mean_x) or math.isnan(c.mean_y):
    return f"{_label(key)}: {_fmt(c)}"
  return f"{_label(key)} is {c.verdict}: {_fmt(c)}"


def _label(key: str) -> str:
  scope, _, metric = key.partition("/")
  name = METRIC_LABELS.get(metric, METRIC_LABELS.get(key, key))
  where = {"a": "on A", "b": "on B", "both": "on A ∪ B"}.get(scope, "")
  return f"{name} {where}".strip()


def _cell(method: str, **where: Any) -> dict[str, Any]:
  """Selector of a method's cell; autoencoders with reconstruction only."""
  return dict(where, method=method, **(
      {"loss": "recon"} if method in (AE, PCA_AE) else {}))


def distorts_b(rows: Sequence[Row], method: str = AE,
               key: str = f"b/{PRIMARY}") -> str:
  """Q1: does fitting on A only distort B, against fitting on B?"""
  c = _cmp(rows, key, _cell(method, train="a"), _cell(method, train="b"))
  answer = {"lower": "yes: fitted on A only it keeps B's structure worse "
                     "than when fitted on B",
            "higher": "no: fitted on A only it keeps B's structure better "
                      "than when fitted on B",
            "not resolved": "not resolved at this many seeds"}[c.verdict]
  return (f"- **Does an A-only {LABELS[method]} distort B?** {answer}. "
          f"{_label(key)[0].upper() + _label(key)[1:]}, A-only vs B-only: "
          f"{_fmt(c)}.")


def both_fixes(rows: Sequence[Row], method: str = AE,
               key: str = f"b/{PRIMARY}") -> str:
  """Q2: fitting on both vs on A only, on B; share of the gap recovered."""
  c = _cmp(rows, key, _cell(method, train="both"), _cell(method, train="a"))
  b_only = values(select(rows, **_cell(method, train="b")), key)
  gap = (b_only.mean() - c.mean_y) if len(b_only) else math.nan
  share = (f"; that recovers {100 * c.diff / gap:.0f} % of the distance from "
           f"the A-only to the B-only fit ({b_only.mean():.3f})"
           if not math.isnan(gap) and abs(gap) > 1e-12 else "")
  cost = _cmp(rows, f"a/{PRIMARY}", _cell(method, train="both"),
              _cell(method, train="a"))
  verb = {"higher": "raises", "lower": "lowers",
          "not resolved": "does not measurably change"}[c.verdict]
  return (f"- **Does fitting on both populations fix it ({LABELS[method]})?** "
          f"It {verb} {_label(key)}: both vs A-only {_fmt(c)}{share}. "
          f"On A itself ({_label(f'a/{PRIMARY}')}): {_fmt(cost)}.")


def loss_terms(rows: Sequence[Row], train: str = "both",
               keys: Sequence[str] = (f"both/{SECONDARY}",
                                      f"both/{PRIMARY}")) -> list[str]:
  """Q3: each similarity/pair loss against reconstruction only."""
  losses = sorted({r["loss"] for r in select(rows, method=AE, train=train)}
                  - {"recon"})
  out = []
  for loss in losses:
    parts = []
    for key in keys:
      c = _cmp(rows, key, dict(method=AE, train=train, loss=loss),
               dict(method=AE, train=train, loss="recon"))
      parts.append(_part(key, c))
    out.append(f"- **Does the `{loss}` loss help (fitted on {train})?** "
               f"Against reconstruction only, " + "; ".join(parts) + ".")
  return out


def pca_first(rows: Sequence[Row], train: str = "both",
              keys: Sequence[str] = (f"both/{PRIMARY}", f"both/{SECONDARY}")
              ) -> str:
  """Q4: PCA(50) -> AE against the AE on the raw vectors."""
  parts = []
  for key in keys:
    c = _cmp(rows, key, _cell(PCA_AE, train=train), _cell(AE, train=train))
    parts.append(_part(key, c))
  return (f"- **Does PCA(50) → AE help (fitted on {train})?** Against the "
          "autoencoder on the raw vectors, " + "; ".join(parts) + ".")


def baselines_compared(rows: Sequence[Row], train: str = "both",
                       keys: Sequence[str] = (f"both/{PRIMARY}",
                                              "both/cont@10",
                                              f"both/{SECONDARY}",
                                              "proj/a2b/recall@10")) -> str:
  """Q5: which baseline is best on each metric, and by how much."""
  present = [m for m in BASELINES if select(rows, method=m, train=train)]
  if len(present) < 2:
    return "- **How do PCA and UMAP compare?** n/a (fewer than two baselines)."
  parts = []
  for key in keys:
    means = {m: values(select(rows, method=m, train=train), key).mean()
             for m in present}
    best, second = sorted(present, key=lambda m: -means[m])[:2]
    c = _cmp(rows, key, dict(method=best, train=train),
             dict(method=second, train=train))
    order = (f"{LABELS[best]} leads {LABELS[second]}" if c.verdict ==
             "higher" else f"{LABELS[best]} and {LABELS[second]} are not "
             "resolved apart")
    parts.append(f"{_label(key)}: {order}, {_fmt(c)}")
  return (f"- **How do PCA and UMAP compare (fitted on {train})?** "
          + "; ".join(parts) + ".")


def gaps(rows: Sequence[Row], train: str = "both") -> str:
  """The population gap before and after each method."""
  orig = values(select(rows, train=train), "gap/orig")
  parts = []
  for m in (AE, PCA_AE) + BASELINES:
    sel = select(rows, **_cell(m, train=train))
    if sel:
      mean, half = interval(values(sel, "gap/proj"))
      parts.append(f"{LABELS[m]} {mean:.2f}" + (
          "" if math.isnan(half) else f" ± {half:.2f}"))
  if not len(orig):
    return "- **Population gap:** n/a."
  return (f"- **Population gap** (distance of the means over the pooled "
          f"spread; fitted on {train}): {orig.mean():.2f} in the original "
          f"space; in 3-D " + ", ".join(parts) + ".")


def answers(rows: Sequence[Row]) -> list[str]:
  """All the README's answer bullets, in the order of the seed's claims."""
  out = [distorts_b(rows), distorts_b(rows, method="pca3"), both_fixes(rows)]
  out += loss_terms(rows)  # fitted on both: the whole view
  out += loss_terms(rows, train="a", keys=(f"b/{SECONDARY}",
                                           f"b/{PRIMARY}"))  # B, unseen
  out += [pca_first(rows), baselines_compared(rows), gaps(rows)]
  return out


def summary_table(rows: Sequence[Row],
                  keys: Sequence[str] = ("a/trust@10", "b/trust@10",
                                         "both/trust@10", "both/cont@10",
                                         "both/spearman",
                                         "proj/a2b/recall@10", "gap/proj")
                  ) -> list[str]:
  """A Markdown table: one row per (train, loss, method), mean ± 95 % CI
  half-width over seeds."""
  cells = sorted({(r["train"], r["loss"], r["method"]) for r in rows})
  head = ["train", "loss", "method", "seeds"] + list(keys)
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for train, loss, method in cells:
    sel = select(rows, train=train, loss=loss, method=method)
    stats = [interval(values(sel, k)) for k in keys]
    shown = [f"{m:.3f}" + ("" if math.isnan(h) else f" ± {h:.3f}")
             for m, h in stats]
    lines.append("| " + " | ".join([train, loss, method, str(len(sel))]
                                   + shown) + " |")
  return lines
