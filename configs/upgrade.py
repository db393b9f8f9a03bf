"""Translators for the pydocs model upgrade (MiniLM <-> E5), one sweep.

  python -m embtrans.upgrade prepare --workdir=W          # pair datasets
  python -m embtrans.sweep --config=configs/upgrade.py --workdir=W/sweep
  python -m embtrans.upgrade evaluate --workdir=W --report=docs/results/upgrade

A cell: arch (lstsq | procrustes closed-form; linear | lowrank | mlp
trained), n (training pairs; 0 = all), direction (new_to_old: E5 queries into
the MiniLM index; old_to_new: the reverse), lr, steps and loss (trained
only: choices made on the validation split), `seeds` seeds as one program.
data_dir: where `prepare` wrote the pair datasets (default: the embedding
cache's upgrade/ folder, prepare's default too). tiny=True: a smoke sweep
(one direction, 100 pairs, least squares and linear, 20 steps, one seed).
"""

from embtrans import config_lib
from embtrans.data import build

CLOSED_FORM = ("lstsq", "procrustes")
TRAINED = {"linear": dict(name="linear"),
           "lowrank": dict(name="lowrank", rank=64, residual=True),
           "mlp": dict(name="mlp", hidden_mult=1, layers=1,
                       activation="gelu")}
SIZES = (100, 1000, 0)
DIRECTIONS = {"new_to_old": "b_to_a", "old_to_new": "a_to_b"}
LRS = (1e-3, 3e-3)
STEPS = (400, 2000)
# A second loss, tried at the larger step count for linear and MLP only.
CONTRASTIVE = ("linear", "mlp")
OLD, NEW = "minilm", "e5_small"
TINY_STEPS = 20


def _args(arg):
  return config_lib.parse_arg(arg, data_dir="", arch="linear", n=0,
                              direction="new_to_old", lr=1e-3, steps=2000,
                              seeds=3, batch=64, loss="mse", tiny=False)


def default_data_dir() -> str:
  return str(build.default_cache_dir() / "upgrade")


def get_config(arg=None):
  arg = _args(arg)
  if arg.arch not in (*CLOSED_FORM, *TRAINED):
    raise ValueError(f"arch must be one of {[*CLOSED_FORM, *TRAINED]}, got "
                     f"{arg.arch!r}.")
  if arg.direction not in DIRECTIONS:
    raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got "
                     f"{arg.direction!r}.")
  steps, seeds = (TINY_STEPS, 1) if arg.tiny else (arg.steps, arg.seeds)
  data_dir = arg.data_dir or default_data_dir()
  size = "all" if arg.n == 0 else str(arg.n)
  model = TRAINED.get(arg.arch, dict(name=arg.arch))
  c = config_lib.translator_config(model, f"steps={steps},loss={arg.loss}")
  c.data.a = f"{data_dir}/fit-n{size}-{OLD}"
  c.data.b = f"{data_dir}/fit-n{size}-{NEW}"
  c.data.direction = DIRECTIONS[arg.direction]
  c.num_seeds = seeds if arg.arch in TRAINED else 1
  c.optimizer.learning_rate = arg.lr
  c.optimizer.warmup_steps = max(1, steps // 20)
  c.batch_size = arg.batch
  c.log_every = max(1, steps // 10)
  c.checkpoint_every = steps
  c.max_checkpoints = 1
  c.recall_ks = (1, 10)
  c.baselines = ()
  c.save_predictions = True  # float16 validation translations: selection.
  return c


def sweep(add, arg=None):
  if _args(arg).tiny:
    for arch in ("lstsq", "linear"):
      add(arch=arch, n=100, direction="new_to_old")
    return
  for direction in DIRECTIONS:
    for n in SIZES:
      for arch in CLOSED_FORM:
        add(arch=arch, n=n, direction=direction)
      for arch in TRAINED:
        for steps in STEPS:
          for lr in LRS:
            add(arch=arch, n=n, direction=direction, lr=lr, steps=steps)
      for arch in CONTRASTIVE:
        for lr in LRS:
          add(arch=arch, n=n, direction=direction, lr=lr, steps=STEPS[-1],
              loss="contrastive")
