"""The translator grid: every directed pair of spaces x architecture x width.

  python -m embtrans.sweep --config=configs/grid.py --workdir=/tmp/grid
  python -m embtrans.report /tmp/grid
  python -m embtrans.main --config=configs/grid.py:source=minilm,target=tfidf_lsa,arch=mlp1_w8 --workdir=W
                                                     one cell alone

  --config=configs/grid.py:spaces=minilm+tfidf_lsa   a subset of the spaces
  --config=configs/grid.py:spaces=/data/a+/data/b    embedding-dataset dirs
  --config=configs/grid.py:archs=linear+mlp1_w8      a subset of the archs
  --config=configs/grid.py:archs=all                 every arch of ARCHS (the
                                                     wide ones need a GPU)
  --config=configs/grid.py:tiny=True                 400 texts, 20 steps,
                                                     one seed, the small archs
  --config=configs/grid.py:steps_scale=4             4x every step budget
  --config=configs/grid.py:seeds=5                   5 seeds per cell
  --config=configs/grid.py:val_percent=0             no validation carve (the
                                                     report then refuses)

Members: for each ordered pair (source, target) of distinct spaces, one
translator per arch and seed (`seeds` of them, stacked as members of one
program), trained with MSE on the train split less a validation carve
(`VAL_PERCENT` % of the train ids, by a salted hash of the id); plus one
closed-form cell per pair and CLOSED_FORM entry, fitted on the same rows.
Every member is scored on the validation carve (`val/...`, where the report
makes its choices) and on the 20% test split (`test/...`, final numbers).
Cells whose shapes agree (arch, source dim, target dim) train together in
one compiled program (`embtrans.sweep`); any cell runs alone through
`embtrans.main` with the same numbers.

Every arch gets the same step budget and batch (`STEPS`, `BATCH`), so archs
are compared at equal epochs; learning rate and warmup are fixed per arch in
ARCHS (not tuned). The default (4 spaces, 12 directed pairs, 4 archs, 3
seeds: 144 trained members) is sized for about 20 minutes on a 2-core CPU:
the wide archs (1L 32x, 2L 8x, 2L 32x: 9-160M parameters) are left out of
it (`archs=all` adds them) and `steps_scale` raises every budget on faster
hardware. The report states what ran and what was cut.
"""

import itertools
import os
import pathlib
import re

import ml_collections

from embtrans import config_lib

# Every arch: this many steps at this batch (x steps_scale), so ~6.6 epochs
# of the 5,858 pydocs train-fit pairs.
STEPS, BATCH = 150, 256
WARMUP_FRACTION = 0.05

# name -> model and peak learning rate (fixed, not tuned on any split).
# hidden width = hidden_mult x the source dim.
ARCHS = {
    "linear": dict(model=dict(name="linear"), learning_rate=1e-2),
    "mlp1_w1": dict(model=dict(name="mlp", layers=1, hidden_mult=1),
                    learning_rate=1e-2),
    "mlp1_w8": dict(model=dict(name="mlp", layers=1, hidden_mult=8),
                    learning_rate=3e-3),
    "mlp1_w32": dict(model=dict(name="mlp", layers=1, hidden_mult=32),
                     learning_rate=1e-3),
    "mlp2_w1": dict(model=dict(name="mlp", layers=2, hidden_mult=1),
                    learning_rate=5e-3),
    "mlp2_w8": dict(model=dict(name="mlp", layers=2, hidden_mult=8),
                    learning_rate=1e-3),
    "mlp2_w32": dict(model=dict(name="mlp", layers=2, hidden_mult=32),
                     learning_rate=3e-4),
}

# The default archs (and tiny=True's): width 1x -> 8x at one hidden layer,
# depth 1 -> 2 at width 1x. The rest of ARCHS costs 3-50x more per step.
DEFAULT_ARCHS = ("linear", "mlp1_w1", "mlp1_w8", "mlp2_w1")

# The offline default: four spaces of the same stdlib docstrings, two of
# them real neural encoders (MiniLM, E5 in passage mode).
DEFAULT_SPACES = "minilm+e5_small+minilm_static+tfidf_lsa"

# Share of the train ids carved out as the validation split.
VAL_PERCENT = 10
DEFAULT_SEEDS = 3


CLOSED_FORM = ("lstsq", "procrustes")


def _names(arg) -> tuple[tuple[str, ...], tuple[str, ...]]:
  spaces = tuple(s for s in arg.spaces.split("+") if s)
  archs = tuple(a for a in arg.archs.split("+") if a) or DEFAULT_ARCHS
  if archs == ("all",):
    archs = tuple(ARCHS)
  unknown = [a for a in archs if a not in ARCHS]
  if unknown:
    raise ValueError(f"Unknown archs {unknown}; known: {sorted(ARCHS)}.")
  if len(spaces) < 2 or len(set(spaces)) != len(spaces):
    raise ValueError(f"spaces must name at least two distinct spaces joined "
                     f"by '+', got {arg.spaces!r}.")
  return spaces, archs


def _arg(arg):
  return config_lib.parse_arg(
      arg, source="", target="", arch="linear", spaces=DEFAULT_SPACES,
      archs="", seed=0, seeds=0, steps_scale=1.0, tiny=False,
      val_percent=VAL_PERCENT)


def sweep(add, arg=None):
  """One trained cell per (ordered pair of spaces, arch), plus one closed-form
  cell per pair and CLOSED_FORM entry."""
  spaces, archs = _names(_arg(arg))
  for source, target in itertools.permutations(spaces, 2):
    for arch in archs + CLOSED_FORM:
      add(source=source, target=target, arch=arch)


def cell_name(factors) -> str:
  """'minilm->tfidf_lsa~mlp1_w8' (dataset dirs by their basename)."""
  short = lambda s: re.sub(r"[^A-Za-z0-9_.+-]", "_",  # pylint: disable=g-long-lambda
                           pathlib.Path(s).name if os.sep in s else s)
  return (f"{short(factors['source'])}->{short(factors['target'])}"
          f"~{factors['arch']}")


def _arch_config(name: str, steps_scale: float, tiny: bool) -> dict:
  spec = dict(ARCHS[name], steps=STEPS, batch_size=BATCH)
  spec["model"] = dict(spec["model"])
  if spec["model"]["name"] == "mlp":
    spec["model"].setdefault("activation", "gelu")
  if tiny:  # Small enough for a unit test: tens of steps on 400 texts.
    spec.update(steps=20, batch_size=32)
  spec["steps"] = max(1, round(spec["steps"] * steps_scale))
  spec["warmup_steps"] = max(1, round(WARMUP_FRACTION * spec["steps"]))
  return spec


def get_config(arg=None):
  """One cell: the translator `source -> target` with arch `arch`.

  The pair is stored as data.a / data.b in the order of `spaces` plus a
  direction, so both directions of a pair share one pairing by id.
  """
  arg = _arg(arg)
  spaces, _ = _names(arg)
  source, target = arg.source or spaces[0], arg.target or spaces[1]
  for s in (source, target):
    if s not in spaces:
      raise ValueError(f"{s!r} is not one of spaces={arg.spaces!r}.")
  if arg.arch not in ARCHS and arg.arch not in CLOSED_FORM:
    raise ValueError(f"Unknown arch {arg.arch!r}; known: "
                     f"{sorted(ARCHS) + list(CLOSED_FORM)}.")
  forward = spaces.index(source) < spaces.index(target)
  a, b = (source, target) if forward else (target, source)
  spec = (_arch_config(arg.arch, arg.steps_scale, arg.tiny)
          if arg.arch in ARCHS else dict(model=dict(name=arg.arch), steps=1,
                                         batch_size=32, learning_rate=1e-3,
                                         warmup_steps=0))
  c = config_lib.translator_config(
      spec["model"], f"a={a},b={b},direction="
      f"{'a_to_b' if forward else 'b_to_a'},seed={arg.seed},tiny={arg.tiny}")
  c.num_train_steps = spec["steps"]
  c.batch_size = spec["batch_size"]
  c.optimizer.learning_rate = spec["learning_rate"]
  c.optimizer.warmup_steps = spec["warmup_steps"]
  c.data.label_column = "package"
  c.data.val_percent = arg.val_percent
  if arg.seeds < 0:
    raise ValueError(f"seeds={arg.seeds} must be >= 1 (0: the default).")
  c.num_seeds = arg.seeds or (1 if arg.tiny else DEFAULT_SEEDS)
  c.baselines = ()  # Closed-form fits are cells of their own.
  # CKNNA and SVCCA of the raw spaces (source vs target) do not depend on
  # the translator, and each costs about as much as the translated one, so
  # trained cells score only translated vs target; a pair's closed-form
  # cells also score source vs target (the report reads it from them) and
  # source vs translated.
  pairs = (("translated", "source", "source_translated")
           if arg.arch in CLOSED_FORM else ("translated",))
  c.evals = dict(cka=dict(type="cka"), knn=dict(type="knn", k=10),
                 platonic=dict(type="cknna", k=10, pairs=pairs),
                 svcca=dict(type="svcca", cca_dim=10, pairs=pairs))
  c.overlap_k = 10
  c.log_every = 10  # Steps per compiled chunk; losses are fetched per chunk.
  c.checkpoint_every = 200
  c.max_checkpoints = 1
  # A shape group whose stacked train state (params + Adam moments) exceeds
  # this many GiB is split into several programs, run one after another.
  c.max_program_gib = 6.0
  # Programs whose stacked state exceeds this many GiB are not checkpointed:
  # writing one (2L 32x: 3.5 GiB, ~35 s here) costs more than redoing its few
  # steps. A killed run retrains them from step 0 (same numbers).
  c.max_checkpoint_gib = 1.0
  c.save_predictions = True  # float16 test translations, for the report.
  if arg.tiny:
    c.eval_batch_size = 64
    c.log_every, c.checkpoint_every = 10, 100
  return c
