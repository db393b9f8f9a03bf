"""Translators as portable files: export a trained one, load it anywhere.

    from embtrans.export import translator as tl
    tl.export("/tmp/run", "/tmp/e5_to_minilm")          # any run / member
    t = tl.load("/tmp/e5_to_minilm")
    y = t(x)                                            # [n, d_src] -> [n, d_tgt]

A translator directory holds
  model.safetensors  the parameters, flattened ('dense/kernel', ...; float32
                     for trained models, float64 for closed-form fits), with
                     config.json's content also in its metadata;
  config.json        format, task, arch (model name and settings), source and
                     target (model, fingerprints, dim, normalisation, dataset),
                     number of training pairs, training settings, test metrics;
  README.md          a model card.
No pickle is written or read: `load` refuses a pickle (or a torch zip) with
one line, as it does a truncated or corrupt file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any, Callable, Mapping

import numpy as np

from embtrans.data import format as fmt
from embtrans.export import card
from embtrans.export import portable
from embtrans.export import runtime

FORMAT, WEIGHTS, CONFIG, CARD = (portable.FORMAT, portable.WEIGHTS,
                                 portable.CONFIG, portable.CARD)
TranslatorFileError = portable.TranslatorFileError


def _side(path: str, name: str, dim: int) -> dict[str, Any]:
  """What a translator records of its source or target dataset."""
  try:
    manifest = fmt.open_dataset(path, verify=False).manifest
  except fmt.DatasetError as e:
    raise fmt.DatasetError(f"Cannot record the fingerprints of {name}: {e}"
                           ) from e
  return {"dataset": name, "dim": dim, "model": manifest.get("model"),
          "model_config": manifest.get("model_config") or {},
          "model_fingerprint": manifest.get("model_fingerprint"),
          "dataset_fingerprint": manifest.get("derived_from") or
                                 manifest.get("fingerprint"),
          "normalized": bool(manifest.get("normalized", False))}


def _dataset(path: str, text_source: str) -> dict[str, Any]:
  """The pairs' text source and how their train / test split was made."""
  manifest = fmt.open_dataset(path, verify=False).manifest
  split = manifest.get("split") or {}
  return {"text_source": text_source,
          "source_texts": manifest.get("text_source") or text_source,
          "split": split.get("method", "sha1(id) % 100 < 80 -> train")}


def _metrics(results: Mapping[str, Any], seed: int, several: bool
             ) -> dict[str, float]:
  prefix = f"seed_{seed}/" if several else ""
  return {k.removeprefix(prefix): v for k, v in results.items()
          if k.startswith(f"{prefix}test/") and isinstance(v, (int, float))}


def describe(run, step: int) -> dict[str, Any]:
  """config.json of `run` (an `inference.Run`) restored at `step`."""
  c, info = run.config, run.info
  arch = ({"name": portable.AFFINE, "fit": c.model.name,
           "out_dim": info["target_dim"]} if run.closed_form else {**c.model.to_dict(),
                                   "out_dim": info["target_dim"]})
  return {
      "format": FORMAT, "version": portable.VERSION, "task": c.get("task", "translate"),
      "arch": arch,
      "source": _side(info["source_path"], info["source"], info["source_dim"]),
      "target": _side(info["target_path"], info["target"], info["target_dim"]),
      "num_train_pairs": info["num_train"], "num_test_pairs": info["num_test"],
      "dataset": _dataset(info["source_path"], c.data.source),
      "training": {"seed": run.seed, "step": step, "loss": c.loss.name,
                   "learning_rate": c.optimizer.learning_rate,
                   "batch_size": c.batch_size,
                   "num_train_steps": 0 if run.closed_form else
                                      c.num_train_steps,
                   "text_source": c.data.source,
                   "direction": c.data.direction},
      "metrics": _metrics(run.results, run.seed, c.get("num_seeds", 1) > 1),
      "trained_in": run.path.name}


def _params(run) -> tuple[dict[str, np.ndarray], int]:
  """Flat parameters and the checkpoint step (0 for closed forms)."""
  from embtrans import inference  # pylint: disable=g-import-not-at-top
  if run.closed_form:
    fit = inference.closed_form_fit(run)
    return {k: np.asarray(getattr(fit, k), np.float64).reshape(
        np.shape(getattr(fit, k))) for k in portable.AFFINE_KEYS}, 0
  params, step = inference.restore_params(run)
  return {k: v.astype(np.float32)
          for k, v in portable.flatten(params).items()}, step


def export(workdir: str | os.PathLike, out: str | os.PathLike,
           seed: int | None = None, overwrite: bool = False) -> pathlib.Path:
  """Writes model.safetensors, config.json and README.md into `out`.

  Raises:
    ValueError / FileNotFoundError / CheckpointError: not a translator,
      an ambiguous seed, no checkpoint, `out` not empty (without
      `overwrite`). Nothing is written then.
  """
  from embtrans import inference  # pylint: disable=g-import-not-at-top
  out = pathlib.Path(out)
  if out.exists() and any(out.iterdir()) and not overwrite:
    raise ValueError(f"{out} is not empty; choose another --out or pass "
                     "--overwrite.")
  run = inference.find_run(workdir, seed)
  flat, step = _params(run)
  config = describe(run, step)
  runtime.build(config, flat, 1, str(workdir))  # Loadable, before writing.
  out.mkdir(parents=True, exist_ok=True)
  text = portable.write_weights(out / WEIGHTS, flat, config)
  (out / CONFIG).write_text(text + "\n")
  (out / CARD).write_text(card.model_card(config, flat))
  return out


@dataclasses.dataclass(frozen=True)
class Exported:
  """A loaded translator; call it on `[n, source_dim]` arrays."""

  path: pathlib.Path
  config: dict
  _apply: Callable[[np.ndarray], np.ndarray] = dataclasses.field(repr=False)

  @property
  def source(self) -> dict:
    return self.config["source"]

  @property
  def target(self) -> dict:
    return self.config["target"]

  @property
  def source_dim(self) -> int:
    return int(self.source["dim"])

  @property
  def target_dim(self) -> int:
    return int(self.target["dim"])

  @property
  def arch(self) -> str:
    return str(self.config["arch"]["name"])

  def __call__(self, x: np.ndarray) -> np.ndarray:
    """x: [n, source_dim] -> [n, target_dim] float32."""
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or x.shape[1] != self.source_dim:
      raise ValueError(
          f"The translator {self.path} maps {self.source_dim}-d vectors of "
          f"{self.source['model']} to {self.target_dim}-d ones of "
          f"{self.target['model']}; got an array of shape {x.shape}.")
    return self._apply(x)


def load(path: str | os.PathLike, batch_size: int = 1024) -> Exported:
  """Loads an exported translator directory (see the module docstring).

  Raises:
    TranslatorFileError: a missing file, a pickle, a corrupt or truncated
      safetensors file, config.json disagreeing with it, or parameters of
      the wrong names or shapes for the architecture.
  """
  path = pathlib.Path(path)
  flat, config = portable.read_weights(path / WEIGHTS)
  if (path / CONFIG).is_file():
    on_disk = json.loads((path / CONFIG).read_text())
    if on_disk != config:
      raise TranslatorFileError(
          f"{path / CONFIG} disagrees with the config inside {WEIGHTS}; "
          "one of them was edited or replaced. Export the translator again.")
  apply = runtime.build(config, flat, batch_size, str(path))
  return Exported(path, config, apply)
