"""Config files and `:arg` parsing."""

import pytest

from embtrans import config_lib
from embtrans import sweeps
from tests import helpers

CONFIGS = sorted(p.stem for p in (helpers.ROOT / "configs").glob("*.py")
                 if not p.stem.startswith("_"))


@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_loads_and_tiny_is_strictly_smaller(name):
  full, tiny = _total_work(name, None), _total_work(name, "tiny=True")
  assert 0 < tiny < full, (name, tiny, full)


def _total_work(name: str, arg) -> int:
  """Member-steps of a run (summed over a sweep's cells); for an evaluation
  without training (two_stage), the queries per draw."""
  module = sweeps.load_config_module(str(helpers.ROOT / "configs" /
                                         f"{name}.py")) if _has_sweep(
                                             name) else None
  configs = ([c.config for c in sweeps.collect_cells(module, arg)]
             if module else [helpers.load_config(name, arg)])
  total = 0
  for c in configs:
    if "num_train_steps" not in c:
      total += c.filters.num_queries
    else:
      total += c.num_train_steps * c.get("num_seeds", 1) * (
          c.get("data", {}).get("limit", 0) or 10**5)
  return total


def _has_sweep(name: str) -> bool:
  return "def sweep(" in (helpers.ROOT / "configs" / f"{name}.py").read_text()


def test_mlp_layers_and_width():
  c = helpers.load_config("mlp32x", "layers=2")
  assert (c.model.name, c.model.hidden_mult, c.model.layers) == ("mlp", 32, 2)
  assert helpers.load_config("mlp8x").model.hidden_mult == 8


def test_unknown_arg_key_lists_known_ones():
  with pytest.raises(ValueError, match="Unknown config arg 'widht=3'.*layers"):
    helpers.load_config("mlp32x", "widht=3")


def test_bad_arg_value():
  with pytest.raises(ValueError, match="expected int"):
    config_lib.parse_arg("layers=two", layers=1)
  with pytest.raises(ValueError, match="true/false"):
    config_lib.parse_arg("tiny=maybe", tiny=False)
