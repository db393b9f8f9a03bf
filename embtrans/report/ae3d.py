"""The report of an `autoencode` sweep: 3-D views against PCA and UMAP.

  python -m embtrans.report W --out=docs/results/ae3d/<data>

A final sweep (cells scored on the test split) gets README.md (the table,
one row per (training population x loss x method) with means and 95 %
intervals over seeds, and the seed's claims answered by
`ae3d_findings.answers`), two PNGs and one interactive page per method
(`report.pages`, plotly with plotly.js inlined). A selection sweep (cells
scored on the validation split) gets choices.json (the weight of each loss
term that scored best on val) and a README with the validation table.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any, Mapping, Sequence

import ml_collections
import numpy as np

from embtrans.report import ae3d_findings as findings
from embtrans.report import ae3d_plots as plots
from embtrans.report import io
from embtrans.report import pages
from embtrans.tasks import autoencode_objective as objective

FIGURES = ("views.png", "distortion.png")
_TRAIN_LABELS = {"a": "A", "b": "B", "both": "A and B"}
# The validation score a loss weight is chosen by: the mean of these.
SELECT_KEYS = ("both/trust@10", "both/spearman")
# Views: (train, loss, method) of each panel of views.png, all at seed 0;
# those fitted on both also get an interactive page (one per method).
PAGE_CELLS = (("a", "recon", "ae"), ("both", "recon", "ae"),
              ("both", "recon", "pca50_ae"),
              ("both", "-", "pca3"), ("both", "-", "umap3"),
              ("both", "-", "pca50_umap3"))


def describe_cell(config: Mapping[str, Any]) -> dict[str, str]:
  """{'train', 'method', 'loss'} labels of a cell's config (a dict)."""
  model, loss = config["model"], config["loss"]
  if model["name"] != "autoencoder":
    return {"train": config["data"]["train"], "method": model["name"],
            "loss": "-"}
  pca = model.get("pca_dim", 0)
  name = objective.LossConfig(
      similarity_weight=loss["similarity_weight"], form=loss["form"],
      pair_weight=loss["pair_weight"]).name
  return {"train": config["data"]["train"],
          "method": f"pca{pca}_ae" if pca else "ae", "loss": name}


def cell_rows(cell: Mapping[str, Any]) -> list[dict[str, Any]]:
  """One row per seed of a cell: labels, seed, `<split>/...` scores with
  the split prefix dropped."""
  config, results = cell["config"], cell["results"]
  split = config["data"]["eval_split"]
  labels = describe_cell(config)
  seeds = sorted({int(k.split("/")[0].removeprefix("seed_"))
                  for k in results if k.startswith("seed_")})
  out = []
  for seed in seeds or [config["seed"]]:
    prefix = f"seed_{seed}/{split}/" if seeds else f"{split}/"
    scores = {k[len(prefix):]: (math.nan if v is None else v)
              for k, v in results.items() if k.startswith(prefix)}
    out.append({**labels, "seed": seed, "cell": cell["name"],
                "split": split, "lam": _lam(config), **scores})
  return out


def _lam(config: Mapping[str, Any]) -> float:
  loss = config["loss"]
  return float(loss["similarity_weight"] or loss["pair_weight"])


def choose(rows: Sequence[Mapping[str, Any]],
           keys: Sequence[str] = SELECT_KEYS) -> dict[str, dict[str, Any]]:
  """Per loss term, the weight whose validation score (mean of `keys`,
  averaged over seeds) is highest; -> {'mse': {'lam', 'score', 'scores'}}."""
  out: dict[str, dict[str, Any]] = {}
  for row in rows:
    term = row["loss"].removeprefix("recon+").removeprefix("recon")
    if not term:
      continue
    sel = [r for r in rows if r["loss"] == row["loss"]
           and r["lam"] == row["lam"]]
    score = float(np.mean([np.mean([r[k] for k in keys]) for r in sel]))
    entry = out.setdefault(term, {"scores": {}})
    entry["scores"][f"{row['lam']:g}"] = score
  for entry in out.values():
    best = max(entry["scores"], key=entry["scores"].get)
    entry.update(lam=float(best), score=entry["scores"][best])
  return out


def selection_readme(rows: Sequence[Mapping[str, Any]],
                     chosen: Mapping[str, Mapping[str, Any]],
                     data: Mapping[str, Any]) -> str:
  """The selection README: what was chosen, from which validation scores."""
  lines = ["# Loss weights chosen on the validation split", "",
           f"Data: {_data_sentence(data)}", "",
           f"Score: the mean of {', '.join(SELECT_KEYS)} on the validation "
           "split (A ∪ B), one seed per weight.", ""]
  for term, entry in sorted(chosen.items()):
    tried = ", ".join(f"λ={lam}: {s:.4f}" for lam, s in
                      sorted(entry["scores"].items(), key=lambda t: float(
                          t[0])))
    lines.append(f"- `recon+{term}`: chose λ = {entry['lam']:g} ({tried}).")
  lines += ["", *findings.summary_table(rows), ""]
  return "\n".join(lines)


def _data_sentence(data: Mapping[str, Any]) -> str:
  a, b = data["populations"]
  s = (f"population A = {a} ({data['num_a']} texts), B = {b} "
       f"({data['num_b']} texts), {data['num_pairs']} known pairs; "
       f"trained on the train split (A {data['num_train_a']}, B "
       f"{data['num_train_b']}), scored on the {data['eval_split']} split "
       f"(A {data['num_eval_a']}, B {data['num_eval_b']}, "
       f"{data['num_eval_pairs']} pairs).")
  if "lstsq_train_r2" in data:
    s += (f" The lstsq map into B's space was fitted on "
          f"{data['lstsq_train_pairs']} train pairs (R² "
          f"{data['lstsq_train_r2']:.3f} there; mean cosine to the true "
          "vector on the test pairs "
          f"{data['lstsq_test_cosine']:.3f}).")
  return s


def _setup(cells: Sequence[Mapping[str, Any]], runs: Sequence[Mapping]
           ) -> list[str]:
  """Setup bullets from the cells' configs and the sweep's run records."""
  trained = [c for c in cells if c["config"]["model"]["name"] ==
             "autoencoder"]
  lines = []
  if trained:
    c = trained[0]["config"]
    lams = sorted({(describe_cell(t["config"])["loss"], _lam(t["config"]))
                   for t in trained if _lam(t["config"])})
    lines.append(
        f"- Autoencoders: variant `{c['model']['variant']}` (MLP "
        f"d → ... → {c['model']['code_dim']} → ... → d), "
        f"{c['num_train_steps']} steps at batch {c['batch_size']} "
        f"(pairs: {c['pair_batch_size']} per step), peak lr "
        f"{c['optimizer']['learning_rate']:g}, {c['num_seeds']} seeds per "
        "cell trained as members of one program; loss weights " +
        (", ".join(f"`{n}` λ = {l:g}" for n, l in lams) or "none") + ".")
  base = [c for c in cells if c["config"]["model"]["name"] != "autoencoder"]
  if base:
    n = base[0]["config"]["baseline_fit_sample"]
    lines.append("- PCA / UMAP: fitted on " + (
        f"a seeded sample of {n} of the training rows (a new sample per "
        "seed, so PCA varies over seeds too)" if n else "the training rows")
                 + "; UMAP with n_neighbors 15, min_dist 0.1, cosine on "
                 "the raw vectors, euclidean after PCA(50); one cell per "
                 "seed.")
  if runs:
    secs = [r.get("seconds", 0) for r in runs]
    loads = [r[k] for r in runs for k in ("load_avg_start", "load_avg_end")
             if k in r]
    lines.append(f"- Compute: {len(runs)} sweep invocation(s) (several may "
                 f"run side by side on disjoint cells), the longest "
                 f"{max(secs) / 60:.0f} min wall, {sum(secs) / 60:.0f} min "
                 f"summed, on {runs[0].get('cpus')} "
                 f"CPU cores, 1-min load average {min(loads):.1f}–"
                 f"{max(loads):.1f} (shared machine).")
  return lines


def final_readme(rows: Sequence[Mapping[str, Any]],
                 data: Mapping[str, Any], setup: Sequence[str],
                 title: str, page_names: Sequence[str]) -> str:
  """The README of a final sweep; every number comes from `rows`/`data`."""
  seeds = min(len(findings.select(rows, train=r["train"], loss=r["loss"],
                                  method=r["method"])) for r in rows)
  lines = [f"# {title}", "", f"Data: {_data_sentence(data)}", "",
           "## The seed's claims, answered from the table", "",
           *findings.answers(rows), "",
           f"## Table (test split; mean ± 95 % t-interval half-width over "
           f"seeds, ≥ {seeds} per row)", "",
           "trust/cont: trustworthiness / continuity at k = 10 (original "
           "cosine vs 3-D euclidean); spearman: input cosine vs 3-D "
           "−distance over pairs of a 1,000-point sample; recall: the known "
           "partner among the other population's test points in 3-D; gap: "
           "distance of the population means over their pooled spread "
           f"({_gap_orig(rows)} in the original space).", "",
           *findings.summary_table(rows), "", "## Setup", "", *setup, "",
           "## Figures and pages", "",
           "- `views.png`: the test points in 3-D (seed 0), A and B "
           "coloured, for the methods fitted on both populations and the "
           "autoencoder fitted on A only.",
           "- `distortion.png`: trustworthiness@10 on B by training "
           "population, per method (mean and 95 % interval over seeds).",
           ("- Interactive 3-D pages (open in a browser, offline; hover for "
            "the text, click the legend to hide a population or show the "
            "pair lines): " + ", ".join(f"[{n}]({n})" for n in page_names)
            + "." if page_names else "- No interactive pages were written "
            "for this data (`--nopages`: ~5 MB each)."), ""]
  return "\n".join(lines)


def _gap_orig(rows: Sequence[Mapping[str, Any]]) -> str:
  v = findings.values(rows, "gap/orig")
  return f"{v.mean():.2f}" if len(v) else "n/a"


def _codes(cell: Mapping[str, Any], seed: int) -> tuple[np.ndarray, ...]:
  d = cell["dir"] / f"seed_{seed}"
  return tuple(np.load(d / f"codes_{p}.npy").astype(np.float32)
               for p in "ab")


def _eval_populations(cell: Mapping[str, Any]):
  """The evaluated split's populations of a cell (texts for the pages)."""
  from embtrans.tasks import autoencode  # pylint: disable=g-import-not-at-top
  config = ml_collections.ConfigDict(cell["config"])
  return autoencode.load_data(config).eval


def _find(cells, rows, train, loss, method):
  for cell in cells:
    if cell["name"] == next((r["cell"] for r in rows if r["train"] == train
                             and r["loss"] == loss and r["method"] == method),
                            None):
      return cell
  return None


def _views(cells, rows, out: pathlib.Path, write_pages: bool = True
           ) -> tuple[list, list[str]]:
  """Writes a page per PAGE_CELLS entry (each ~5 MB: plotly.js inlined)
  unless not `write_pages`; -> (panels for views.png, page names)."""
  panels, names, ev = [], [], None
  for train, loss, method in PAGE_CELLS:
    cell = _find(cells, rows, train, loss, method)
    if cell is None:
      continue
    seed = min(r["seed"] for r in rows if r["cell"] == cell["name"])
    if not (cell["dir"] / f"seed_{seed}" / "codes_a.npy").is_file():
      continue
    ev = ev or (_eval_populations(cell) if write_pages and train == "both"
                else None)
    codes_a, codes_b = _codes(cell, seed)
    label = (f"{findings.LABELS[method]}"
             f"{'' if loss in ('-', 'recon') else ' ' + loss}, fitted on "
             f"{_TRAIN_LABELS[train]}")
    name = f"{method}-{loss.replace('+', '_').replace('-', 'none')}-" \
           f"{train}.html"
    panels.append((label, codes_a, codes_b))
    if not write_pages or train != "both":
      continue
    pops = [pages.Population(ev.names[0], codes_a, list(ev.texts_a)),
            pages.Population(ev.names[1], codes_b, list(ev.texts_b))]
    pages.scatter3d_page(out / name, pops, f"{label} (test split, seed "
                         f"{seed})", pairs=ev.pairs)
    names.append(name)
  return panels, names


def write_report(workdir: pathlib.Path, out: str | None,
                 write_pages: bool = True
                 ) -> tuple[pathlib.Path, tuple[str, ...]]:
  """Writes the selection or final report of an autoencode sweep; ->
  (directory, files written besides README.md)."""
  cells = io.read_cells(workdir)
  rows = [r for c in cells for r in cell_rows(c)]
  target = pathlib.Path(out) if out else workdir / "report"
  target.mkdir(parents=True, exist_ok=True)
  data = cells[0]["data"]
  if cells[0]["config"]["data"]["eval_split"] == "val":
    chosen = choose(rows)
    (target / "choices.json").write_text(json.dumps(
        {"select_keys": list(SELECT_KEYS), "choices": chosen}, indent=1,
        sort_keys=True) + "\n")
    shown = [dict(r, loss=f"{r['loss']} λ={r['lam']:g}") for r in rows]
    (target / "README.md").write_text(selection_readme(shown, chosen, data))
    return target, ("choices.json",)
  panels, names = _views(cells, rows, target, write_pages)
  plots.views(target / FIGURES[0], panels, data["populations"])
  plots.distortion(target / FIGURES[1], rows)
  title = f"3-D views of {data['populations'][0]} and {data['populations'][1]}"
  (target / "README.md").write_text(final_readme(
      rows, data, _setup(cells, io.sweep_runs(workdir)), title, names))
  return target, FIGURES + tuple(names)
