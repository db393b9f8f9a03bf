"""Models, one file each, chosen by `config.model.name`.

Every module `embtrans/models/<name>.py` that defines a Flax `Model` class is
a registered model; `get_model(name, **kwargs)` builds `Model(**kwargs)`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import flax.linen as nn


def known_models() -> list[str]:
  """Names of the modules here that define `Model`."""
  names = []
  for info in pkgutil.iter_modules(__path__):
    if info.name.startswith("_"):
      continue
    module = importlib.import_module(f"{__name__}.{info.name}")
    if isinstance(getattr(module, "Model", None), type):
      names.append(info.name)
  return sorted(names)


def get_model(name: str, **kwargs: Any) -> nn.Module:
  """`embtrans.models.<name>.Model(**kwargs)`; unknown names list the known."""
  known = known_models()
  if name not in known:
    raise ValueError(f"Unknown model {name!r}. Known models: {known}.")
  module = importlib.import_module(f"{__name__}.{name}")
  return module.Model(**kwargs)
