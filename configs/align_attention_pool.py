"""Attention-pooling head on frozen tokens -> Matryoshka (MRL) contrastive.

The seed report's baseline: AttentionPooling + projection to the MRL dim
(4096 at size=full), batch 128, lr 2e-4.

  python -m embtrans.main --config=configs/align_attention_pool.py --workdir=W
  ...:size=full,data=coco,tokens=DIR,targets=DIR   ViT-L/14 tokens on COCO
  ...:data=pydocs,queries=4          offline real pairs, four learned queries
  ...:seeds=3,tiny=True
"""

from embtrans import config_lib


def get_config(arg=None):
  a = config_lib.parse_align_arg(arg, queries=0, tiny=False)
  size = "tiny" if a.tiny else a.size
  overrides = {"num_queries": a.queries} if a.queries else {}
  model = config_lib.align_head_config("attention_pool", size, **overrides)
  return config_lib.align_from_arg(a, size, model)
