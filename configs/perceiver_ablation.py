"""The Perceiver init ablation: is the seed report's plateau the latent init?

One cell (three seeds, one vmapped program) through the normal entry point:
  python -m embtrans.main --config=configs/perceiver_ablation.py:\
latent_init=bug,lr=2e-3,latent_ln=False,batch=64 --workdir=W

The whole sweep (cells grouped into one program per shape: cells differing
only in latent init, lr and seed are members of one program), then the
report:
  python -m embtrans.sweep --config=configs/perceiver_ablation.py --workdir=W
  python -m embtrans.report W --out=docs/results/perceiver_ablation

Sweep: latent init {correct, std 0.02, bug} x lr {2e-4, 2e-3} x LayerNorm on
latents {on, off} x batch {64, 128} x 3 seeds, plus the attention-pool
baseline at both lrs and both batches x 3 seeds. `size=small` is the CPU size:
planted tokens (16 x 64), Perceiver with 64 latents of width 32, 2 heads, one
cross-attention + MLP and no self-attention block (self_blocks=0: the 2-core
budget; self_blocks=1 doubles the cost), MRL dim 256, every run seeing 32,000
training pairs (~3.9 epochs). `size=full` is the ViT-L/14 shape for a GPU/TPU.
"""

from embtrans import config_lib

LATENT_INITS = ("correct", "std", "bug")
LRS = (2e-4, 2e-3)
BATCHES = (64, 128)



def get_config(arg=None):
  a = config_lib.parse_align_arg(
      arg, head="perceiver", latent_init="correct", latent_init_std=0.02,
      latent_ln=True, tiny=False, seeds=3, width=32, heads=2, self_blocks=0,
      tokens_per_item=16, pairs=32000)
  size = "tiny" if a.tiny else a.size
  if a.head == "perceiver":
    overrides = dict(latent_init=a.latent_init,
                     latent_init_std=a.latent_init_std,
                     latent_layernorm=a.latent_ln)
  else:
    overrides = {}
  if size == "small" and a.head == "perceiver":
    overrides.update(width=a.width, num_heads=a.heads,
                     self_per_cross=a.self_blocks)
  model = config_lib.align_head_config(a.head, size, **overrides)
  data = config_lib.align_data_config(a.data, size, a.seed, a.tokens, a.targets)
  if size == "small" and a.data == "synthetic":
    data.update(num_tokens=a.tokens_per_item)
  batch = 32 if size == "tiny" else a.batch
  # Every cell sees the same number of training pairs (`pairs`), so batch
  # 64 runs twice the steps of batch 128 (as when training for N epochs).
  steps = a.steps or (a.pairs // batch if size == "small" else
                      config_lib.ALIGN_DEFAULT_STEPS[size])
  config = config_lib.alignment_config(
      model, data, config_lib.align_mrl_dim(size), a.lr, batch, steps, a.seed,
      a.seeds)
  config.log_every = max(1, steps // 40)
  return config


_SHORT = {"latent_init": "init", "latent_ln": "ln", "batch": "b"}


def cell_name(factors):
  """e.g. 'perceiver-init=bug-lr=0.002-ln=off-b=64'."""
  def fmt(v):
    if isinstance(v, bool):
      return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)
  return "-".join(fmt(v) if k == "head" else f"{_SHORT.get(k, k)}={fmt(v)}"
                  for k, v in factors.items())


def sweep(add, arg=None):
  """Calls `add(**overrides)` once per cell (each cell trains its seeds)."""
  del arg
  for batch in BATCHES:
    for lr in LRS:
      for init in LATENT_INITS:
        for ln in (True, False):
          add(head="perceiver", latent_init=init, lr=lr, latent_ln=ln,
              batch=batch)
      add(head="attention_pool", lr=lr, batch=batch)
