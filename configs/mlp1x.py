"""MLP translator A -> B, hidden width 1 x the input dim.

  python -m embtrans.main --config=configs/mlp1x.py --workdir=/tmp/mlp1x
  --config=configs/mlp1x.py:layers=2   two hidden layers
  --config=configs/mlp1x.py:tiny=True  a few hundred texts and steps
"""

from embtrans import config_lib


def get_config(arg=None):
  arg = config_lib.parse_arg(arg, layers=1, a="minilm", b="tfidf_lsa",
                             direction="a_to_b", loss="mse", seed=0, steps=0,
                             tiny=False)
  if arg.layers not in (1, 2):
    raise ValueError(f"layers must be 1 or 2, got {arg.layers}.")
  rest = ",".join(f"{k}={v}" for k, v in arg.items() if k != "layers")
  model = dict(name="mlp", hidden_mult=1, layers=arg.layers,
               activation="gelu")
  return config_lib.translator_config(model, rest)
