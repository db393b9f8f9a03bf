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
  showcase_seed: int = 0


def _minutes(s: float) -> str:
  return f"{s / 60:.1f} min ({s:.0f} s)"


def _timing(x: Inputs) -> str:
  if not x.runs:
    return "No run record (sweep.jsonl) was found."
  seconds = sum(r["seconds"] for r in x.runs)
  program = sum(p.get("seconds", 0) for r in x.runs for p in r.get("ran", []))
  where = f"{x.runs[-1]['devices']} {x.runs[-1]['platform']} device(s)"
  loads = [r[k] for r in x.runs for k in ("load_avg_start", "load_avg_end")
           if k in r]
  if loads:
    where += (f" of a {x.runs[-1].get('cpus', '?')}-CPU machine shared with "
              f"other jobs (1-min load average {min(loads):.1f}–"
              f"{max(loads):.1f} at start/end)")
  text = (f"**Grid wall time: {_minutes(seconds)}** for {len(x.runs)} "
          f"invocation(s) of the sweep command on {where}; the programs and "
          f"closed-form fits themselves took {_minutes(program)} "
          "(training, compiles, scoring), loading the (cached) embedding "
          f"datasets {sum(r.get('data_seconds', 0) for r in x.runs):.0f} s.")
  cpus = x.runs[-1].get("cpus")
  if loads and cpus and max(loads) > cpus:
    text += (f" The load average was above the {cpus} CPUs, so these times "
             "measure the contention as much as the grid.")
  return text


def _split_text(x: Inputs) -> str:
  p = next(iter(x.data["pairs"].values()))
  if not p.get("num_val"):
    return (f"fitted on the {p['num_train']} train pairs (no validation "
            "split)")
  return (f"fitted on {p['num_train']} train pairs; {p['num_val']} more "
          f"train pairs ({p['val_percent']:g} % of the train ids, "
          f"`{p['val_method']}`) are the validation split, never fitted on")


def _header(x: Inputs) -> list[str]:
  trained = [r for r in x.rows if r.get("kind") == "trained"]
  closed = [r for r in x.rows if r.get("kind") == "baseline"]
  seeds = sorted({int(r.get("num_seeds", 1)) for r in trained})
  return [
      f"# Translator grid: {len(x.data['spaces'])} embedding spaces, "
      f"{len(tables.index(x.rows))} directed pairs, {len(trained)} trained "
      f"cells × {'/'.join(map(str, seeds))} seeds + {len(closed)} "
      "closed-form rows", "",
      "Made by `python -m embtrans.sweep --config=configs/grid.py "
      "--workdir=W` and `python -m embtrans.report W`. Every trained member "
      f"learns one translator source → target with MSE, {_split_text(x)}. "
      "lstsq (affine least squares) and Procrustes (orthogonal, after "
      "zero-padding and standard scaling) are fitted on the same rows. "
      "Every choice below (the member shown per pair, the easier direction)"
      " is made on the validation scores; the test split (20 % of the ids) "
      "gives the final numbers. Trained cells show the mean over seeds ± "
      "the half-width of its 95 % Student-t interval; closed-form fits are "
      "deterministic. Speed of the one-program grid against training the "
      "members one by one: `python -m embtrans.bench grid`.", "",
      _timing(x), ""]


def _data(x: Inputs) -> list[str]:
  spaces = tables.markdown_table(
      ["space", "dim", "cached dataset (under the embtrans cache)"],
      [[v["name"], str(v["dim"]), f"`{v['path']}`"]
       for v in x.data["spaces"].values()])
  pairs = {}
  for name, p in x.data["pairs"].items():
    pairs.setdefault((p["num_train"], p.get("num_val", 0), p["num_test"]),
                     []).append(name)
  split = "; ".join(f"{tr} train / {va} validation / {te} test pairs "
                    f"({len(names)} directed pairs)"
                    for (tr, va, te), names in pairs.items())
  return ["## Data", "", spaces, "", f"Paired by id: {split}.", ""]


def _lrs(trained: Sequence[tables.Row]) -> str:
  """'linear 0.01, 1L 1× 0.01, ...' in arch order."""
  lr = {r["arch"]: r["learning_rate"] for r in trained}
  return ", ".join(f"{tables.ARCH_LABELS.get(a, a)} {lr[a]:g}"
                   for a in findings.trained_archs(trained))


def _budget(x: Inputs) -> list[str]:
  trained = [r for r in x.rows if r.get("kind") == "trained"]
  budgets = {(r["steps"], r["batch_size"]) for r in trained}
  present = {r["arch"] for r in trained}
  cut = [tables.ARCH_LABELS.get(a, a) for a in tables.ARCH_ORDER
         if a not in present and a not in findings.CLOSED]
  lines = ["## Step budgets", "",
           "Members of the same arch and shapes train together in one "
           "compiled program (vmapped over members and seeds, `lax.scan` over"
           " steps); 'train + eval s' sums the wall time of the arch's "
           "programs (compile, training, checkpoints, val and test "
           "predictions and metrics).", "", tables.budget_table(x.rows), ""]
  if len(budgets) == 1 and trained:
    (steps, batch), = budgets
    text = (f"Every trained arch got the same budget, {steps} steps at batch"
            f" {batch} ({tables.epochs(trained[0]):.1f} epochs), so the "
            "comparisons below are at equal epochs and equal updates; the "
            f"peak learning rates are per arch ({_lrs(trained)}) and were "
            "fixed in `configs/grid.py`, not tuned on any split.")
  else:
    text = ("The archs got different budgets (see the table), so the "
            "comparisons below mix budget and architecture where they say "
            "so.")
  if cut:
    text += (" Not in this run, cut for the CPU budget: " + ", ".join(cut)
             + ". A GPU run adds them and longer training with "
             "`--config=configs/grid.py:archs=all,steps_scale=N`, and more "
             "seeds with `seeds=N`.")
  return lines + [text, ""]


def _answers(x: Inputs) -> list[str]:
  sections = [
      ("Which member is shown per pair?",
       findings.choice_summary(x.rows) + ["", findings.chosen_table(x.rows)]),
      ("MiniLM ↔ E5", findings.focus(x.rows, "minilm", "e5_small")),
      ("Does width help?", findings.width(x.rows)),
      ("Does a hidden layer, or a second one, help?",
       findings.depth(x.rows)),
      ("Which direction is easier?", findings.direction(x.rows)),
      ("How does the chosen member compare with Procrustes / lstsq?",
       findings.closed_form(x.rows) + findings.procrustes_vs_lstsq(x.rows)),
      ("How alike are the spaces before and after translation?",
       findings.similarity(x.rows)),
  ]
  lines = ["## Answers", "",
           "Arch comparisons: per directed pair, the seed-paired difference "
           "(same seed, same batches) with its 95 % interval; a pair counts "
           "as higher or lower only when the interval excludes 0. MSE is not"
           " comparable across target spaces of different scale; R² (share "
           "of the target's test variance explained) is.", ""]
  for title, bullets in sections:
    if bullets:
      lines += [f"### {title}", "", *bullets, ""]
  return lines


def _tables(x: Inputs) -> list[str]:
  n_test = int(next((r["num_test"] for r in x.rows if r.get("num_test")), 0))
  rows = x.rows
  svcca = findings.resolve(rows, findings.TRANSLATED["SVCCA@10"])
  specs = [
      ("Test MSE × 10³ (lower is better)", "test/mse", ".3f", "min", 1e3,
       None, False),
      ("Test R² (higher is better)", "test/r2", ".3f", "max", 1, None, True),
      ("Validation R² (what the direction is chosen on)", "val/r2", ".3f",
       "max", 1, None, True),
      ("Test mean cosine(translated, target)", "test/cosine", ".3f", "max", 1,
       None, False),
      (f"Test Recall@1 among all {n_test} test targets", "test/recall@1",
       ".3f", "max", 1, None, True),
      ("Validation Recall@1 among the validation targets (what the member "
       "is chosen on)", "val/recall@1", ".3f", "max", 1, None, True),
      ("Test Recall@10", "test/recall@10", ".3f", "max", 1, None, False),
      (f"Mean rank of the true target (of {n_test})", "test/mean_rank",
       ".1f", "min", 1, None, False),
      ("k-NN agreement: mutual-kNN@10 of translated vs target",
       "test/knn/mutual_knn@10", ".3f", "max", 1, None, False),
      ("k-NN agreement: Jaccard@10 of translated vs target",
       "test/knn/jaccard@10", ".3f", "max", 1, None, False),
      ("Retrieval overlap@10 (top-10 documents fetched by the true vs the "
       "translated query)", "test/retrieval_overlap@10", ".3f", "max", 1,
       None, False),
      ("Linear CKA(translated, target); last column CKA(source, target)",
       "test/cka/linear_cka", ".3f", "max", 1,
       ("source CKA", findings.RAW["CKA"]), False),
      ("CKNNA@10 (platonic-rep's CKA on mutual 10-NN pairs) of translated vs"
       " target; last column of source vs target",
       findings.TRANSLATED["CKNNA@10"], ".3f", "max", 1,
       ("source", findings.RAW["CKNNA@10"]), True),
      (f"SVCCA@{svcca.rsplit('@', 1)[1]} (that many SVD components, then "
       "CCA; mean canonical correlation) of translated vs target; last "
       "column of source vs target", svcca, ".3f", "max", 1,
       ("source", findings.resolve(rows, findings.RAW["SVCCA@10"])), True),
  ]
  lines = ["## Tables", "",
           "Rows: directed pairs. Columns: the trained archs (linear, MLPs "
           "with 1 or 2 hidden layers of width 1×/8×/32× the source dim), "
           "then the closed-form rows. Bold: the best mean of the row. "
           "'m ± h': mean over seeds ± 95 % half-width.", ""]
  for title, key, spec, best, scale, extra, ci in specs:
    if any(r.get(key) is not None for r in rows):
      lines += [f"### {title}", "",
                tables.pivot(rows, key, spec, best, scale, extra, ci), ""]
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
      f"Showcase member: **{s['member']}** (seed {x.showcase_seed}; the "
      "trained member with the best validation Recall@1 of the pair whose "
      "raw spaces are least alike by CKA). UMAP "
      f"of its test points, {label}; the translated panel is placed with "
      "the target's UMAP (`transform`), so those two share coordinates:", "",
      "![UMAP](umap.png)", "",
      "Interactive: [umap.html](umap.html) — the translated and target "
      "panels in one WebGL plot, each point's text on hover, pairs as lines "
      "(from the legend).", "",
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
      ".",
      "- **CKNNA@10** (Huh et al. 2024, platonic-rep's default): CKA "
      "restricted to the pairs of items that are mutual 10-nearest "
      "neighbours in both spaces (unbiased HSIC, rows L2-normalised). "
      "**SVCCA@10**: each space reduced to its top 10 singular directions, "
      "then the mean canonical correlation between the two (Raghu et al. "
      "2017). The raw-space values come from the pair's closed-form cells "
      "(they do not depend on the translator).",
      "- **Intervals**: mean over the seeds ± t₀.₉₇₅,ₙ₋₁ · s / √n (s the "
      "sample standard deviation over n seeds).",
      "- **Validation split**: train ids whose salted SHA-1 falls in the "
      "first val_percent buckets of 100; the test split (SHA-1 of the id "
      "itself) is untouched, so val, train and test are disjoint by id.",
      ""]


def render(x: Inputs) -> str:
  parts = (_header(x) + _data(x) + _budget(x) + _answers(x) + _tables(x) +
           _figures(x) + _searches(x) + _definitions())
  return "\n".join(parts)
