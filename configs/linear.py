"""Full-rank linear (affine) translator A -> B.

  python -m embtrans.main --config=configs/linear.py --workdir=/tmp/linear
  python -m embtrans.main --config=configs/linear.py:direction=b_to_a,tiny=True ...
"""

from embtrans import config_lib


def get_config(arg=None):
  return config_lib.translator_config(dict(name="linear"), arg)
