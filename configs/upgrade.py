"""Translators for the pydocs model upgrade (MiniLM <-> E5), one sweep.

  python -m embtrans.upgrade prepare --workdir=W          # pair datasets
  python -m embtrans.sweep --config=configs/upgrade.py:data_dir=W/data \
      --workdir=W/sweep
  python -m embtrans.upgrade evaluate --workdir=W --report=docs/results/upgrade

A cell: arch (lstsq | procrustes closed-form; linear | lowrank | mlp
trained), n (training pairs; 0 = all), direction (new_to_old: E5 queries into
the MiniLM index; old_to_new: the reverse), lr, steps and loss (trained
only: choices made on the validation split), `seeds` seeds as one program.
"""

from embtrans import config_lib

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


def get_config(arg=None):
  arg = config_lib.parse_arg(arg, data_dir="", arch="linear", n=0,
                             direction="new_to_old", lr=1e-3, steps=2000,
                             seeds=3, batch=64, loss="mse")
  if not arg.data_dir:
    raise ValueError("configs/upgrade.py needs data_dir=<dir> (written by "
                     "python -m embtrans.upgrade prepare --workdir=W: W/data).")
  if arg.arch not in (*CLOSED_FORM, *TRAINED):
    raise ValueError(f"arch must be one of {[*CLOSED_FORM, *TRAINED]}, got "
                     f"{arg.arch!r}.")
  if arg.direction not in DIRECTIONS:
    raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got "
                     f"{arg.direction!r}.")
  size = "all" if arg.n == 0 else str(arg.n)
  model = TRAINED.get(arg.arch, dict(name=arg.arch))
  c = config_lib.translator_config(model, f"steps={arg.steps},loss={arg.loss}")
  c.data.a = f"{arg.data_dir}/fit-n{size}-{OLD}"
  c.data.b = f"{arg.data_dir}/fit-n{size}-{NEW}"
  c.data.direction = DIRECTIONS[arg.direction]
  c.num_seeds = arg.seeds if arg.arch in TRAINED else 1
  c.optimizer.learning_rate = arg.lr
  c.optimizer.warmup_steps = max(1, arg.steps // 20)
  c.batch_size = arg.batch
  c.log_every = max(1, arg.steps // 10)
  c.checkpoint_every = arg.steps
  c.max_checkpoints = 1
  c.recall_ks = (1, 10)
  c.baselines = ()
  c.save_predictions = True  # float16 validation translations: selection.
  return c


def sweep(add, arg=None):
  del arg
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
