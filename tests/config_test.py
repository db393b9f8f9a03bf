"""Config files and `:arg` parsing."""

import pathlib

import pytest

from embtrans import config_lib
from tests import helpers

CONFIGS = sorted(p.stem for p in (helpers.ROOT / "configs").glob("*.py")
                 if not p.stem.startswith("_"))


@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_loads_and_has_a_tiny_variant(name):
  config = helpers.load_config(name)
  assert config is not None
  tiny = helpers.load_config(name, "tiny=True")
  assert _total_steps(tiny) <= _total_steps(config)


def _total_steps(config) -> int:
  """Training steps of a run config, or summed over a sweep's archs; for an
  evaluation without training (two_stage), the queries per draw."""
  if "archs" in config:
    return sum(arch.steps for arch in config.archs.values())
  if "num_train_steps" not in config:
    return config.filters.num_queries
  return config.num_train_steps


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


def test_locked_config_rejects_unknown_keys():
  config = helpers.load_config("linear")
  config.lock()
  with pytest.raises(AttributeError, match="learning_rat"):
    config.optimizer.learning_rat = 0.1  # typo of learning_rate


def test_configs_are_in_the_repo_root():
  assert pathlib.Path(helpers.ROOT / "configs" / "mlp32x.py").is_file()
