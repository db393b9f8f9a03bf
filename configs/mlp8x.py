"""MLP translator A -> B, hidden width 8 x the input dim.

  python -m embtrans.main --config=configs/mlp8x.py --workdir=/tmp/mlp8x
  --config=configs/mlp8x.py:layers=2   two hidden layers
  --config=configs/mlp8x.py:tiny=True  a few hundred texts and steps
  other args: a, b, direction, loss, seed, steps (see config_lib).
"""

from embtrans import config_lib


def get_config(arg=None):
  return config_lib.mlp_config(8, arg)
