"""Grid members, the data they train on, and their grouping into programs.

A *member* is one translator of the grid (a directed pair of spaces and an
arch from `config.archs`) or one closed-form baseline row. Trained members
whose shapes agree — same arch, source dim and target dim — form one
*program*: they are stacked along a leading member axis and trained by one
compiled function (`engine.py`). A program whose stacked state would exceed
`config.max_program_gib` is split into several.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pathlib
import re
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from embtrans import baselines
from embtrans import config_lib
from embtrans import encoders as encoders_lib
from embtrans import models
from embtrans.data import build as build_lib
from embtrans.data import format as fmt
from embtrans.data import pairing

# Bytes per parameter of a train state: float32 params + two Adam moments.
STATE_BYTES_PER_PARAM = 12


def space_name(spec: str) -> str:
  """Short name of a space: the encoder name, or a dataset dir's basename."""
  if os.sep in spec or pathlib.Path(spec).is_dir():
    return pathlib.Path(spec).resolve().name
  return spec


def _safe(text: str) -> str:
  return re.sub(r"[^A-Za-z0-9_.+-]", "_", text)


@dataclasses.dataclass(frozen=True)
class Member:
  """One row of the grid.

  Attributes:
    source: spec of the source space (encoder name or dataset dir).
    target: spec of the target space.
    arch: a key of `config.archs`, or a baseline name for closed-form rows.
    baseline: True for closed-form rows (no training).
  """

  source: str
  target: str
  arch: str
  baseline: bool = False

  @property
  def name(self) -> str:
    return f"{space_name(self.source)}->{space_name(self.target)}/{self.arch}"

  @property
  def key(self) -> str:
    """File-system-safe unique name (a directory under `<workdir>/members`)."""
    return "__".join(_safe(p) for p in (space_name(self.source),
                                        space_name(self.target), self.arch))


@dataclasses.dataclass(frozen=True)
class Program:
  """Members trained together by one compiled program (same shapes)."""

  arch: str
  in_dim: int
  out_dim: int
  members: tuple[Member, ...]
  part: int = 0

  @property
  def key(self) -> str:
    base = f"{self.arch}-{self.in_dim}x{self.out_dim}"
    return f"{base}-part{self.part}" if self.part else base


def trained_members(config: ml_collections.ConfigDict) -> list[Member]:
  """The trained members of `config.members`, validated against the config."""
  spaces = tuple(config.data.spaces)
  out = []
  for m in config.members:
    if m["arch"] not in config.archs:
      raise ValueError(f"Member {m} names arch {m['arch']!r}, which is not in"
                       f" config.archs ({sorted(config.archs)}).")
    for side in ("source", "target"):
      if m[side] not in spaces:
        raise ValueError(f"Member {m} names {side} {m[side]!r}, which is not "
                         f"in config.data.spaces {spaces}.")
    if m["source"] == m["target"]:
      raise ValueError(f"Member {m} translates a space into itself.")
    out.append(Member(m["source"], m["target"], m["arch"]))
  keys = [m.key for m in out]
  if len(set(keys)) != len(keys):
    dup = sorted({k for k in keys if keys.count(k) > 1})
    raise ValueError(f"config.members lists some members twice: {dup[:3]}. "
                     "(Two dataset dirs with the same basename also clash.)")
  return out


def baseline_members(config: ml_collections.ConfigDict,
                     trained: Sequence[Member]) -> list[Member]:
  """One closed-form row per directed pair of `trained` and baseline name."""
  for name in config.baselines:
    if name not in baselines.BASELINES:
      raise ValueError(f"Unknown baseline {name!r} in config.baselines. "
                       f"Known: {sorted(baselines.BASELINES)}.")
  pairs = dict.fromkeys((m.source, m.target) for m in trained)
  return [Member(s, t, name, baseline=True) for s, t in pairs
          for name in config.baselines]


def load_spaces(config: ml_collections.ConfigDict
                ) -> dict[str, fmt.EmbeddingDataset]:
  """Opens (building on first use) every space of `config.data.spaces`."""
  d = config.data
  known = encoders_lib.known_encoders()
  bad = [s for s in d.spaces if not (os.sep in s or pathlib.Path(s).is_dir()
                                     or s in known)]
  if bad:  # Before building anything: a build can take minutes.
    raise ValueError(f"config.data.spaces: {bad} are neither embedding-"
                     f"dataset directories nor known encoders ({known}).")
  return {spec: build_lib.resolve_dataset(spec, d.source, d.limit or None,
                                          d.cache_dir or None)
          for spec in d.spaces}


def pair_spaces(config: ml_collections.ConfigDict,
                spaces: Mapping[str, fmt.EmbeddingDataset]
                ) -> dict[tuple[str, str], pairing.Paired]:
  """Every ordered pair (source, target) -> its paired train/test split.

  Each unordered pair is joined once, with the space listed first in
  `config.data.spaces` as A, exactly as the single trainer pairs
  `data.a`, `data.b` (`member_config`), so row order and batches agree.
  """
  out = {}
  for a, b in itertools.combinations(config.data.spaces, 2):
    paired = pairing.pair_datasets(spaces[a], spaces[b])
    out[(a, b)], out[(b, a)] = paired, paired.swapped()
  return out


def member_config(config: ml_collections.ConfigDict, member: Member
                  ) -> ml_collections.ConfigDict:
  """The single-trainer config (`embtrans.main`) that trains `member` alone.

  `python -m embtrans.main` with this config sees the same data, batches,
  initialisation, optimizer and steps as the member does inside the grid.
  """
  arch = config.archs[member.arch]
  spaces = list(config.data.spaces)
  forward = spaces.index(member.source) < spaces.index(member.target)
  a, b = (member.source, member.target) if forward else (member.target,
                                                         member.source)
  c = config_lib.translator_config(dict(arch.model), None)
  c.seed = config.seed
  c.data.update(source=config.data.source, a=a, b=b,
                direction="a_to_b" if forward else "b_to_a",
                limit=config.data.limit, cache_dir=config.data.cache_dir)
  c.loss = config.loss.copy_and_resolve_references()
  c.optimizer = config.optimizer.copy_and_resolve_references()
  c.optimizer.learning_rate = arch.learning_rate
  c.optimizer.warmup_steps = arch.warmup_steps
  c.batch_size = arch.batch_size
  c.num_train_steps = arch.steps
  for key in ("log_every", "checkpoint_every", "max_checkpoints",
              "num_devices", "max_inflight_steps", "eval_batch_size",
              "recall_ks"):
    c[key] = config[key]
  c.baselines = ()
  c.evals = config.evals.copy_and_resolve_references()
  return c


def param_count(model, in_dim: int) -> int:
  """Number of parameters of `model` on `in_dim`-d inputs (no allocation)."""
  shapes = jax.eval_shape(model.init, jax.random.key(0),
                          jnp.zeros((1, in_dim), jnp.float32))
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(shapes)))


def build_model(config: ml_collections.ConfigDict, arch: str, out_dim: int):
  spec = dict(config.archs[arch].model)
  return models.get_model(spec.pop("name"), out_dim=out_dim, **spec)


def plan_programs(config: ml_collections.ConfigDict,
                  members: Sequence[Member], dims: Mapping[str, int]
                  ) -> list[Program]:
  """Groups trained members by (arch, source dim, target dim).

  Groups are split so that no program's stacked state exceeds
  `config.max_program_gib`; programs come cheapest first.
  """
  groups: dict[tuple[str, int, int], list[Member]] = {}
  for m in members:
    groups.setdefault((m.arch, dims[m.source], dims[m.target]), []).append(m)
  programs, cost = [], {}
  budget = config.max_program_gib * 2**30
  for (arch, d_in, d_out), group in groups.items():
    params = param_count(build_model(config, arch, d_out), d_in)
    per_program = max(1, int(budget // (params * STATE_BYTES_PER_PARAM)))
    parts = [group[i:i + per_program]
             for i in range(0, len(group), per_program)]
    for k, part in enumerate(parts):
      p = Program(arch, d_in, d_out, tuple(part), k + 1 if len(parts) > 1
                  else 0)
      programs.append(p)
      cost[p.key] = (params * config.archs[arch].steps *
                     config.archs[arch].batch_size * len(part))
  return sorted(programs, key=lambda p: (cost[p.key], p.key))
