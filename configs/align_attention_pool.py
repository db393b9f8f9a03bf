"""Attention-pooling head on frozen tokens -> Matryoshka (MRL) contrastive.

The seed report's baseline: AttentionPooling + projection to the MRL dim
(4096 at size=full), batch 128, lr 2e-4.

  python -m embtrans.main --config=configs/align_attention_pool.py --workdir=W
  ...:size=full,data=coco,tokens=DIR,targets=DIR   ViT-L/14 tokens on COCO
  ...:data=pydocs,queries=4          offline real pairs, four learned queries
  ...:seeds=3,tiny=True
"""

from embtrans.alignment import config as align_config


def get_config(arg=None):
  a = align_config.parse_common(arg, queries=0, tiny=False)
  size = "tiny" if a.tiny else a.size
  overrides = {"num_queries": a.queries} if a.queries else {}
  model = align_config.head_config("attention_pool", size, **overrides)
  data = align_config.data_config(a.data, size, a.seed, a.tokens, a.targets)
  batch = 32 if size == "tiny" else a.batch
  steps = a.steps or align_config.DEFAULT_STEPS[size]
  return align_config.alignment_config(
      model, data, align_config.mrl_dim(size), a.lr, batch, steps, a.seed,
      a.seeds)
