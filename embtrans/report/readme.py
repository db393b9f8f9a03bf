"""The report's README.md: what ran, the answers, the tables, the figures."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from embtrans.report import findings
from embtrans.report import tables


@dataclasses.dataclass(frozen=True)
class Inputs:
  rows: Sequence[tables.Row]
  curves: findings.Curves
  showcase: tables.Row
  search_md: str
  runs: Sequence[dict[str, Any]]   # sweep.jsonl of the workdir
  data: dict[str, Any]             # spaces and pairs of the cells
  label_column: str


def _minutes(s: float) -> str:
  return f"{s / 60:.1f} min ({s:.0f} s)"


def _header(x: Inputs) -> list[str]:
  trained = [r for r in x.rows if r.get("kind") == "trained"]
  closed = [r for r in x.rows if r.get("kind") == "baseline"]
  pairs = tables.index(x.rows)
  seconds = sum(r["seconds"] for r in x.runs)
  where = (f"{x.runs[-1]['devices']} {x.runs[-1]['platform']} device(s)"
           if x.runs else "unknown devices")
  loads = [r[k] for r in x.runs for k in ("load_avg_start", "load_avg_end")
           if k in r]
  if loads:
    where += (f" of a {x.runs[-1].get('cpus', '?')}-CPU machine shared with "
              f"other jobs (1-min load average {min(loads):.1f}–"
              f"{max(loads):.1f} at start/end)")
  timing = (f"**Grid wall time: {_minutes(seconds)}** for "
            f"{len(x.runs)} invocation(s) of the sweep command on {where}, "
            f"of which loading the (cached) embedding datasets took "
            f"{sum(r.get('data_seconds', 0) for r in x.runs):.0f} s." if
            x.runs else "No run record (sweep.jsonl) was found.")
  return [
      f"# Translator grid: {len(x.data['spaces'])} embedding spaces, "
      f"{len(pairs)} directed pairs, {len(trained)} trained members + "
      f"{len(closed)} closed-form rows", "",
      "Made by `python -m embtrans.sweep --config=configs/grid.py "
      "--workdir=W` and `python -m embtrans.report W`. Every trained member "
      "learns one translator source → target with MSE on the 80 % train "
      "split and is scored on the 20 % test split; lstsq (affine least "
      "squares) and Procrustes (orthogonal, after zero-padding and standard "
      "scaling) are fitted on the same train split. Speed of the "
      "one-program grid against training the members one by one: "
      "`python -m embtrans.bench grid`.", "", timing, ""]


def _data(x: Inputs) -> list[str]:
  spaces = tables.markdown_table(
      ["space", "dim", "cached dataset (under the embtrans cache)"],
      [[v["name"], str(v["dim"]), f"`{v['path']}`"]
       for v in x.data["spaces"].values()])
  pairs = {}
  for name, p in x.data["pairs"].items():
    pairs.setdefault((p["num_train"], p["num_test"]), []).append(name)
  split = "; ".join(f"{tr} train / {te} test pairs ({len(names)} directed "
                    "pairs)" for (tr, te), names in pairs.items())
  return ["## Data", "", spaces, "", f"Paired by id: {split}.", ""]


def _budget(x: Inputs) -> list[str]:
  epochs = {r["arch"]: r["steps"] * r["batch_size"] / r["num_train"]
            for r in x.rows if r.get("kind") == "trained"}
  most = max(epochs.values(), default=0)
  short = [f"{tables.ARCH_LABELS.get(a, a)} ({e:.1f} epochs)"
           for a, e in sorted(epochs.items(), key=lambda t: tables.arch_rank(
               t[0])) if e < most / 4]
  lines = ["## Step budgets", "",
           "Members of the same arch and shapes train together in one "
           "compiled program (vmapped over members, `lax.scan` over steps); "
           "'train + eval s' sums the wall time of the arch's programs "
           "(compile, training, checkpoints, test predictions and metrics).",
           "", tables.budget_table(x.rows), ""]
  if short:
    lines += [
        "**Budget caveat.** The wide members got far fewer steps than the "
        "small ones (`configs/grid.py` sets the budgets so that the default "
        "grid fits in 10 minutes on a 2-core CPU): " + ", ".join(short) +
        f" against up to {most:.0f} epochs. "
        "They are under-trained, and comparisons that involve them measure "
        "the budget as much as the architecture. Raise every budget with "
        "`--config=configs/grid.py:steps_scale=N` on faster hardware. The "
        "equal-step comparisons below (training loss at the same step) "
        "separate capacity from budget.", ""]
  return lines


def _answers(x: Inputs) -> list[str]:
  sections = [
      ("Does width help?", findings.width(x.rows, x.curves)),
      ("Does depth help?", findings.depth(x.rows, x.curves)),
      ("Which direction is easier?", findings.direction(x.rows)),
      ("How close does the best MLP get to Procrustes / lstsq?",
       findings.closed_form(x.rows) + findings.procrustes_vs_lstsq(x.rows)),
      ("How alike are the spaces before translation?",
       findings.source_similarity(x.rows)),
  ]
  lines = ["## Answers", "",
           "Changes are averaged over directed pairs; 'lower on n/m' counts "
           "the pairs where the second arch has the lower value. MSE is not"
           " comparable across target spaces of different scale; R² "
           "(share of the target's test variance explained) is.", ""]
  for title, bullets in sections:
    if bullets:
      lines += [f"### {title}", "", *bullets, ""]
  return lines


def _tables(x: Inputs) -> list[str]:
  n_test = int(next((r["num_test"] for r in x.rows if r.get("num_test")), 0))
  rows = x.rows
  specs = [
      ("Test MSE × 10³ (lower is better)", "test/mse", ".3f", "min", 1e3,
       None),
      ("Test R² (higher is better)", "test/r2", ".3f", "max", 1, None),
      ("Test mean cosine(translated, target)", "test/cosine", ".3f", "max", 1,
       None),
      (f"Recall@1 among all {n_test} test targets", "test/recall@1", ".3f",
       "max", 1, None),
      ("Recall@10", "test/recall@10", ".3f", "max", 1, None),
      (f"Mean rank of the true target (of {n_test})", "test/mean_rank",
       ".1f", "min", 1, None),
      ("k-NN agreement: mutual-kNN@10 of translated vs target",
       "test/knn/mutual_knn@10", ".3f", "max", 1, None),
      ("k-NN agreement: Jaccard@10 of translated vs target",
       "test/knn/jaccard@10", ".3f", "max", 1, None),
      ("Retrieval overlap@10 (top-10 documents fetched by the true vs the "
       "translated query)", "test/retrieval_overlap@10", ".3f", "max", 1,
       None),
      ("Linear CKA(translated, target); last column CKA(source, target)",
       "test/cka/linear_cka", ".3f", "max", 1,
       ("source CKA", "test/cka/source/linear_cka")),
      ("CKNNA@10 (platonic-rep's CKA on mutual 10-NN pairs) of translated vs "
       "target; last column of source vs target", "test/platonic/cknna@10",
       ".3f", "max", 1, ("source", "test/platonic/source/cknna@10")),
      ("SVCCA (10 components) of translated vs target; last column of source"
       " vs target", "test/svcca/svcca@10", ".3f", "max", 1,
       ("source", "test/svcca/source/svcca@10")),
  ]
  lines = ["## Tables", "",
           "Rows: directed pairs. Columns: linear, MLPs with 1 or 2 hidden "
           "layers of width 1×/8×/32× the source dim, then the closed-form "
           "rows. Bold: the best value of the row.", ""]
  for title, key, spec, best, scale, extra in specs:
    if any(r.get(key) is not None for r in rows):
      lines += [f"### {title}", "",
                tables.pivot(rows, key, spec, best, scale, extra), ""]
  return lines


def _figures(x: Inputs) -> list[str]:
  s = x.showcase
  label = (f"coloured by `{x.label_column}` (8 most frequent, others grey)"
           if x.label_column else "(no label column)")
  return [
      "## Figures", "",
      "![MSE vs width](mse_vs_width.png)", "",
      "![Recall@1 vs width](recall1_vs_width.png)", "",
      "Training loss per arch (mean over each logging window) — the "
      "convergence check:", "", "![loss curves](loss_curves.png)", "",
      f"Showcase member: **{s['member']}** (the best trained member by "
      "Recall@1 of the pair whose raw spaces are least alike by CKA). UMAP "
      f"of its test points, {label}; the translated panel is placed with "
      "the target's UMAP (`transform`), so those two share coordinates:", "",
      "![UMAP](umap.png)", "",
      "Cosine kernel matrices of a sample of test items sorted by label "
      "(source, translated, target):", "", "![kernels](kernels.png)", ""]


def _searches(x: Inputs) -> list[str]:
  return [
      "## Example searches", "",
      f"Showcase member **{x.showcase['member']}**. The documents are all "
      "test items in the target space. Each query item searches them once "
      "with its true target vector and once with its translated vector; the"
      " three queries sit at the 90th, 50th and 10th percentile of per-query"
      " overlap@10. ✓ marks a document that is in both top-5 lists.", "",
      x.search_md, ""]


def _definitions() -> list[str]:
  return [
      "## Metric definitions", "",
      "- **MSE**: mean over test rows and dims of (translated − target)². "
      "**R²**: 1 − SSE/SST, SST about the test targets' mean.",
      "- **Recall@k / mean rank**: translated row i must retrieve target row"
      " i among all test targets by cosine; rank = 1 + number of other "
      "targets scoring at least as high (ties count against).",
      "- **mutual-kNN@10**: mean |kNN₁₀(i) in translated ∩ kNN₁₀(i) in "
      "target| / 10 (each space searched within itself, self excluded); "
      "**Jaccard@10**: the same sets, |∩| / |∪|.",
      "- **Retrieval overlap@10**: mean over test queries i of |top₁₀(y_i) ∩"
      " top₁₀(ŷ_i)| / 10, where top₁₀(q) are the 10 test targets (documents)"
      " most cosine-similar to q, y_i is the query's true target vector and "
      "ŷ_i its translation. The query's own document counts.",
      "- **Linear CKA** (Kornblith et al. 2019) between translated and "
      "target test vectors, and between source and target (the raw spaces)"
      ".", ""]


def render(x: Inputs) -> str:
  parts = (_header(x) + _data(x) + _budget(x) + _answers(x) + _tables(x) +
           _figures(x) + _searches(x) + _definitions())
  return "\n".join(parts)
