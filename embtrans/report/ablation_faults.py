"""The fault-injection table: which injected bug reproduces the seed report's
symptom (a flat loss of SEED_LOSS at batch SEED_BATCH with chance
retrieval)?

Per fault cell (`config.fault`, `tasks/align_faults.py`): the chance level of
the logged loss (computed: `align_faults.chance_level`), the logged loss at
the first log step and its mean over the second half of the run (per seed,
then a 95% interval over seeds), i2t R@1 against its chance level. A fault
*reproduces* the symptom when, for its mean over seeds,
  flat      over the second half, (max - min) / mean of the logged loss
            <= FLAT_SPREAD (mean over seeds),
  level     |second-half mean - SEED_LOSS| <= LEVEL_TOLERANCE,
  chance    i2t R@1 <= CHANCE_FACTOR x the chance R@1.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from embtrans.report import ablation_stats as st
from embtrans.tasks import align_faults

SEED_LOSS, SEED_BATCH = 6.0, 64       # the seed report's numbers
FLAT_SPREAD, LEVEL_TOLERANCE, CHANCE_FACTOR = 0.05, 0.25, 3.0
LOGGED = "train/loss_logged"


def fault_name(cell: dict) -> str:
  fault = cell["factors"].get("fault", "none")
  batch = cell["config"]["batch_size"]
  if fault == "none" and batch != SEED_BATCH:
    return f"gathered batch ({batch // SEED_BATCH} x {SEED_BATCH})"
  return fault


def _what(cell: dict) -> str:
  fault = cell["factors"].get("fault", "none")
  if fault == "none":
    return ("a loss over the gathered global batch" if cell["config"][
        "batch_size"] != SEED_BATCH else "no fault")
  return "; ".join(align_faults.FAULTS[n] for n in align_faults.parse(fault))


def chance(cell: dict) -> float:
  c = cell["config"]
  return align_faults.chance_level(
      cell["factors"].get("fault", "none"), c["batch_size"],
      len(c["mrl"]["prefixes"]), c["mrl"].get("weights"))


def seed_curves(cell: dict) -> dict[str, tuple[float, float, float]]:
  """Per seed: (first logged loss, mean logged loss over the second half,
  its (max - min) / mean there)."""
  out = {}
  steps = cell["config"]["num_train_steps"]
  for seed, rows in cell["curves"].items():
    rows = [r for r in rows if LOGGED in r]
    late = np.array([r[LOGGED] for r in rows if r["step"] >= steps / 2])
    if not len(late):
      continue
    out[seed] = (rows[0][LOGGED], float(np.mean(late)),
                 float(np.ptp(late) / max(abs(np.mean(late)), 1e-12)))
  return out


def measure(cell: dict) -> dict:
  """The fault's numbers (means over seeds) and its three tests."""
  curves = seed_curves(cell)
  first = st.interval([v[0] for v in curves.values()])
  late = st.interval([v[1] for v in curves.values()])
  r1 = st.interval(list(st.seed_values(cell).values()))
  r1_chance = float(cell["results"].get("test/chance_i2t_recall@1", math.nan))
  spread = float(np.mean([v[2] for v in curves.values()])) if curves else (
      math.nan)
  tests = {"flat": spread <= FLAT_SPREAD,
           "at_level": abs(late[0] - SEED_LOSS) <= LEVEL_TOLERANCE,
           "at_chance": r1[0] <= CHANCE_FACTOR * r1_chance}
  return {"first": first, "late": late, "r1": r1, "r1_chance": r1_chance,
          "spread": spread,
          "chance": chance(cell), "floor": align_faults.floor_level(
              cell["factors"].get("fault", "none"),
              cell["config"]["batch_size"]), **tests,
          "reproduces": all(tests.values())}


def table(cells: Sequence[dict]) -> tuple[str, list[str]]:
  """The Markdown table and the sentences that read it."""
  rows = ["| fault | what it does | batch | steps | chance level of the "
          "logged loss | floor | logged loss, first log | logged loss, 2nd "
          "half [95% CI] | 2nd-half spread | i2t R@1 (%) [95% CI] | chance R@1 (%) | flat | "
          f"within {LEVEL_TOLERANCE} of {SEED_LOSS} | R@1 <= "
          f"{CHANCE_FACTOR:g} x chance |",
          "|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|---|---|---|"]
  found = []
  for c in cells:
    m = measure(c)
    found.append((fault_name(c), m))
    floor = "—" if m["floor"] is None else f"{m['floor']:.2f}"
    rows.append(
        f"| {fault_name(c)} | {_what(c)} | {c['config']['batch_size']} | "
        f"{c['config']['num_train_steps']} | {m['chance']:.2f} | {floor} | "
        f"{m['first'][0]:.2f} | {st.fmt_interval(m['late'])} | "
        f"{m['spread']:.3f} | "
        f"{st.fmt_interval(m['r1'], 100, 1)} | {100 * m['r1_chance']:.2f} |"
        + "".join(f" {'yes' if m[k] else 'no'} |"
                  for k in ("flat", "at_level", "at_chance")))
  return "\n".join(rows), sentences(found)


def sentences(found: Sequence[tuple[str, dict]]) -> list[str]:
  if not found:
    return []
  yes = [(n, m) for n, m in found if m["reproduces"]]
  near = sorted(found, key=lambda x: abs(x[1]["chance"] - SEED_LOSS))
  out = [f"Chance levels of the logged loss closest to the seed's "
         f"{SEED_LOSS}: " + ", ".join(
             f"{n} {m['chance']:.2f}" for n, m in near[:3]) + "."]
  if yes:
    out.append(f"Faults whose run is flat at {SEED_LOSS} ± {LEVEL_TOLERANCE}"
               " with chance retrieval: " + ", ".join(
                   f"{n} (second half {m['late'][0]:.2f}, i2t R@1 "
                   f"{100 * m['r1'][0]:.2f}%)" for n, m in yes) + ".")
  else:
    out.append(f"No injected fault gives a flat loss at {SEED_LOSS} ± "
               f"{LEVEL_TOLERANCE} with chance retrieval.")
  partial = [(n, m) for n, m in found if not m["reproduces"] and
             m["flat"] and m["at_chance"]]
  if partial:
    out.append("Flat with chance retrieval but at another level: " +
               ", ".join(f"{n} ({m['late'][0]:.2f})" for n, m in partial)
               + ".")
  return out
