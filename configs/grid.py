"""The translator grid: every directed pair of spaces x architecture x width.

  python -m embtrans.sweep --config=configs/grid.py --workdir=/tmp/grid
  python -m embtrans.report /tmp/grid

  --config=configs/grid.py:spaces=minilm+tfidf_lsa   a subset of the spaces
  --config=configs/grid.py:spaces=/data/a+/data/b    embedding-dataset dirs
  --config=configs/grid.py:archs=linear+mlp1_w8      a subset of the archs
  --config=configs/grid.py:tiny=True                 400 texts, 20 steps,
                                                     the small archs
  --config=configs/grid.py:steps_scale=4             4x every step budget

Members: for each ordered pair (source, target) of distinct spaces, one
translator per entry of ARCHS, trained with MSE on the 80% train split; plus
one closed-form row per pair and `config.baselines` entry, fitted on the same
split. Members whose shapes agree (arch, source dim, target dim) train
together in one compiled program (`embtrans.sweep`).

Step budgets are per arch (`ARCHS`). They are set so that the default grid
(3 spaces, 42 trained members) runs in under 10 minutes on a 2-core CPU;
the wide members get fewer steps there, and `steps_scale` raises every
budget on faster hardware. The report states the steps each member got.
"""

import itertools

import ml_collections

from embtrans import config_lib

# name -> model, training steps, batch size, peak learning rate, warmup.
# hidden width = hidden_mult x the source dim.
ARCHS = {
    "linear": dict(model=dict(name="linear"), steps=400, batch_size=256,
                   learning_rate=1e-2, warmup_steps=20),
    "mlp1_w1": dict(model=dict(name="mlp", layers=1, hidden_mult=1),
                    steps=400, batch_size=256, learning_rate=1e-2,
                    warmup_steps=20),
    "mlp1_w8": dict(model=dict(name="mlp", layers=1, hidden_mult=8),
                    steps=150, batch_size=256, learning_rate=3e-3,
                    warmup_steps=10),
    "mlp1_w32": dict(model=dict(name="mlp", layers=1, hidden_mult=32),
                     steps=50, batch_size=256, learning_rate=1e-3,
                     warmup_steps=5),
    "mlp2_w1": dict(model=dict(name="mlp", layers=2, hidden_mult=1),
                    steps=400, batch_size=256, learning_rate=5e-3,
                    warmup_steps=40),
    "mlp2_w8": dict(model=dict(name="mlp", layers=2, hidden_mult=8),
                    steps=60, batch_size=256, learning_rate=1e-3,
                    warmup_steps=6),
    "mlp2_w32": dict(model=dict(name="mlp", layers=2, hidden_mult=32),
                     steps=10, batch_size=64, learning_rate=3e-4,
                     warmup_steps=2),
}

# tiny=True on 384-d data: the archs that stay small (unless archs= is given).
TINY_ARCHS = ("linear", "mlp1_w1", "mlp1_w8", "mlp2_w1")

# The offline default: three spaces of the same stdlib docstrings.
DEFAULT_SPACES = "minilm+minilm_static+tfidf_lsa"


def sweep(add, spaces, archs):
  """Calls `add(source=, target=, arch=)` once per trained member."""
  for source, target in itertools.permutations(spaces, 2):
    for arch in archs:
      add(source=source, target=target, arch=arch)


def _arch_config(name: str, steps_scale: float, tiny: bool) -> dict:
  spec = dict(ARCHS[name])
  spec["model"] = dict(spec["model"])
  if spec["model"]["name"] == "mlp":
    spec["model"].setdefault("activation", "gelu")
  if tiny:  # Small enough for a unit test: tens of steps on 400 texts.
    spec.update(steps=20, batch_size=32, warmup_steps=5)
  spec["steps"] = max(1, round(spec["steps"] * steps_scale))
  return spec


def get_config(arg=None):
  arg = config_lib.parse_arg(
      arg, spaces=DEFAULT_SPACES, archs="", seed=0, steps_scale=1.0,
      tiny=False)
  spaces = tuple(s for s in arg.spaces.split("+") if s)
  archs = tuple(a for a in arg.archs.split("+") if a) or (
      TINY_ARCHS if arg.tiny else tuple(ARCHS))
  unknown = [a for a in archs if a not in ARCHS]
  if unknown:
    raise ValueError(f"Unknown archs {unknown}; known: {sorted(ARCHS)}.")
  if len(spaces) < 2 or len(set(spaces)) != len(spaces):
    raise ValueError(f"spaces must name at least two distinct spaces joined "
                     f"by '+', got {arg.spaces!r}.")
  if arg.steps_scale <= 0:
    raise ValueError(f"steps_scale must be > 0, got {arg.steps_scale}.")

  # Loss, optimizer and evaluation defaults are the single trainer's.
  base = config_lib.translator_config(dict(name="linear"), None)
  c = ml_collections.ConfigDict()
  c.trainer = "grid"  # Run with embtrans.sweep, not embtrans.main.
  c.seed = arg.seed
  c.data = dict(source="pydocs", spaces=spaces, limit=0, cache_dir="",
                label_column="package")
  c.loss = base.loss
  c.optimizer = base.optimizer  # learning_rate, warmup_steps: per arch.
  c.num_devices = base.num_devices
  c.max_inflight_steps = base.max_inflight_steps
  c.eval_batch_size = base.eval_batch_size
  c.recall_ks = base.recall_ks
  c.baselines = base.baselines
  c.archs = {a: _arch_config(a, arg.steps_scale, arg.tiny) for a in archs}
  members = []
  sweep(lambda **m: members.append(m), spaces, archs)
  c.members = tuple(members)
  c.evals = dict(cka=dict(type="cka"), knn=dict(type="knn", k=10))
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
    c.data.limit = 400
    c.eval_batch_size = 64
    c.log_every, c.checkpoint_every = 10, 10
  return c
