"""The Perceiver latent-init ablation, its mechanism and the fault table.

One cell (its seeds trained as one vmapped program) through the normal entry:
  python -m embtrans.main --config=configs/perceiver_ablation.py:\
latent_init=bug,lr=2e-3,latent_ln=False,batch=64 --workdir=W

The whole sweep (cells differing only in latent init, init std, lr and seed
are members of one program), then the report:
  python -m embtrans.sweep --config=configs/perceiver_ablation.py --workdir=W
  python -m embtrans.report W --out=docs/results/perceiver_ablation

Parts of the sweep (`sweep`; factors not named keep their defaults: LN on
latents, batch 64, steps = `pairs` / batch, one signal token, no fault):
  main      latent std {0.02 (`bug`, the seed's code), 0.1, 0.3 (`std`,
            truncated normal), 1.0 (`correct`)} x lr {2e-4, 2e-3} x LN on
            latents {on, off} at batch 64; 5 seeds where LN is off and lr is
            2e-4 (the cells that decide the verdict), 3 elsewhere.
  batch     batch 128 at the same examples (250 steps) and at the same
            updates (500 steps) as batch 64: inits bug / correct, LN off
            and on, lr 2e-4, 3 seeds.
  control   uniform=True: cross-attention weights fixed uniform; and the
            attention pool at lr 2e-4.
  fraction  fraction=f: a share f of each item's tokens carries the signal
            (from one token to all), inits bug / correct, LN off, lr 2e-4.
  faults    fault=<name> (`tasks/align_faults.py`) at the seed's setting
            (bug init, lr 2e-3, batch 64, LN on), FAULT_STEPS steps; plus
            a batch of 8 x 64 (a loss over a gathered global batch).
`size=small` (the CPU size): planted tokens (16 x 64), Perceiver with 64
latents of width 32, 2 heads, one cross-attention + MLP and no
self-attention block; MRL dim 256; 32,000 training pairs per run unless
`steps` is given. `size=full` is the ViT-L/14 shape for a GPU/TPU.
"""

from embtrans import config_lib

# (latent_init, latent_init_std): latent std 0.02, 0.1, 0.3, 1.0.
INITS = (("bug", 0.02), ("std", 0.1), ("std", 0.3), ("correct", 0.02))
LRS = (2e-4, 2e-3)
FRACTIONS = (0.25, 0.5, 1.0)
FAULTS = ("none", "shifted_pairs", "stop_gradient", "frozen_temperature",
          "collapsed_temperature", "unit_temperature", "gather_labels",
          "mrl_sum_logged", "loss_bits", "shifted_pairs+loss_bits",
          "shifted_pairs+collapsed_temperature")
FAULT_STEPS = 100
GATHER_DEVICES = 8



def get_config(arg=None):
  a = config_lib.parse_align_arg(
      arg, head="perceiver", latent_init="correct", latent_init_std=0.02,
      latent_ln=True, tiny=False, seeds=3, width=32, heads=2, self_blocks=0,
      tokens_per_item=16, pairs=32000, uniform=False, fraction=0.0,
      fault="none")
  size = "tiny" if a.tiny else a.size
  if a.head == "perceiver":
    overrides = dict(latent_init=a.latent_init,
                     latent_init_std=a.latent_init_std,
                     latent_layernorm=a.latent_ln,
                     uniform_attention=a.uniform)
  else:
    overrides = {}
  if size == "small" and a.head == "perceiver":
    overrides.update(width=a.width, num_heads=a.heads,
                     self_per_cross=a.self_blocks)
  model = config_lib.align_head_config(a.head, size, **overrides)
  data = config_lib.align_data_config(a.data, size, a.seed, a.tokens, a.targets)
  if size == "small" and a.data == "synthetic":
    data.update(num_tokens=a.tokens_per_item)
  if a.fraction and a.data == "synthetic":
    data.update(signal_fraction=a.fraction)
  batch = 32 if size == "tiny" else a.batch
  # Every cell sees the same number of training pairs (`pairs`), so batch
  # 64 runs twice the steps of batch 128 (as when training for N epochs).
  steps = a.steps or (a.pairs // batch if size == "small" else
                      config_lib.ALIGN_DEFAULT_STEPS[size])
  config = config_lib.alignment_config(
      model, data, config_lib.align_mrl_dim(size), a.lr, batch, steps, a.seed,
      a.seeds)
  config.log_every = max(1, steps // 40)
  config.fault = a.fault
  return config


_SHORT = {"latent_init": "init", "latent_init_std": "sd", "latent_ln": "ln",
          "batch": "b"}
_UNNAMED = ("seeds",)


def cell_name(factors):
  """e.g. 'perceiver-init=bug-lr=0.002-ln=off-b=64'."""
  def fmt(v):
    if isinstance(v, bool):
      return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)
  return "-".join(fmt(v) if k == "head" else f"{_SHORT.get(k, k)}={fmt(v)}"
                  for k, v in factors.items() if k not in _UNNAMED)


def _inits(add, **factors):
  for init, std in INITS:
    extra = {"latent_init_std": std} if init == "std" else {}
    add(head="perceiver", latent_init=init, **extra, **factors)


def sweep(add, arg=None):
  """Calls `add(**overrides)` once per cell (each cell trains its seeds),
  in the order the parts should run (the verdict's cells first)."""
  del arg
  for ln in (False, True):                                   # main
    for lr in LRS:
      _inits(add, lr=lr, latent_ln=ln, batch=64,
             seeds=5 if (lr, ln) == (2e-4, False) else 3)
  for fault in FAULTS:                                       # faults
    add(head="perceiver", latent_init="bug", lr=2e-3, latent_ln=True,
        batch=64, steps=FAULT_STEPS, fault=fault)
  add(head="perceiver", latent_init="bug", lr=2e-3, latent_ln=True,
      batch=64 * GATHER_DEVICES, steps=FAULT_STEPS // 2, fault="none")
  for lr in LRS:                                             # control
    add(head="perceiver", latent_init="bug", lr=lr, latent_ln=True,
        batch=64, uniform=True)
  add(head="attention_pool", lr=2e-4, batch=64)
  for ln in (False, True):                                   # batch
    for steps in (250, 500):
      for init in ("bug", "correct"):
        add(head="perceiver", latent_init=init, lr=2e-4, latent_ln=ln,
            batch=128, steps=steps)
  for fraction in FRACTIONS:                                 # fraction
    for init in ("bug", "correct"):
      add(head="perceiver", latent_init=init, lr=2e-4, latent_ln=False,
          batch=64, fraction=fraction)
