"""Perceiver resampler head on frozen tokens -> Matryoshka (MRL) contrastive.

  python -m embtrans.main --config=configs/align_perceiver.py --workdir=W
  ...:size=full,data=coco,tokens=DIR,targets=DIR   ViT-L/14 tokens on COCO
  ...:data=pydocs                    offline real pairs (MiniLM body tokens)
  ...:latent_init=bug,latent_ln=False,lr=2e-3,batch=64   the seed's setting
  ...:seeds=3                        three seeds as one vmapped program
  ...:tiny=True                      a few hundred examples and steps

latent_init: correct (N(0,1)) | std (truncated normal, latent_init_std) | bug
(N(0,1) overwritten by N(0, 0.02^2), the seed report's code).
"""

from embtrans import config_lib


def get_config(arg=None):
  a = config_lib.parse_align_arg(arg, latent_init="correct",
                                latent_init_std=0.02, latent_ln=True,
                                tiny=False)
  size = "tiny" if a.tiny else a.size
  model = config_lib.align_head_config(
      "perceiver", size, latent_init=a.latent_init,
      latent_init_std=a.latent_init_std, latent_layernorm=a.latent_ln)
  return config_lib.align_from_arg(a, size, model)
