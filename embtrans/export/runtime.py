"""The apply function of an exported translator, from its config and params.

  affine (closed-form fits),  folded once into y = x W + b, float32 NumPy
  linear, lowrank            (one matmul: no dispatch cost at batch 1)
  other Flax models (mlp)    rebuilt from the registry, one jit per padded
                             row count (powers of two up to the batch size,
                             then blocks of it), on the default device
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from embtrans.export import portable as tl


def _fold_affine(flat: Mapping[str, np.ndarray], d_in: int, d_out: int
                 ) -> tuple[np.ndarray, np.ndarray]:
  """AffineTranslator's fields -> (W [d_in, d_out], b [d_out]), float64.

  y = ((x - x_mean) / x_scale, padded) @ w [:, :d_out] * y_scale + y_mean.
  """
  w = np.asarray(flat["w"], np.float64)[:d_in, :d_out]
  x_scale = np.broadcast_to(np.asarray(flat["x_scale"], np.float64), (d_in,))
  y_scale = np.broadcast_to(np.asarray(flat["y_scale"], np.float64), (d_out,))
  weight = w / x_scale[:, None] * y_scale[None, :]
  bias = np.asarray(flat["y_mean"], np.float64) - (
      np.asarray(flat["x_mean"], np.float64) / x_scale) @ w * y_scale
  return weight, bias


def _check(flat: Mapping[str, np.ndarray], want: Mapping[str, tuple],
           where: str) -> None:
  got = {k: tuple(v.shape) for k, v in flat.items()}
  if got != dict(want):
    diff = sorted(set(got.items()) ^ set(want.items()))[:4]
    raise tl.TranslatorFileError(
        f"{where}: the parameters do not fit the architecture in its config "
        f"(differences, name and shape: {diff}). Export the translator "
        "again.")


def _affine(config: dict, flat, where: str) -> Callable:
  d_in, d_out = int(config["source"]["dim"]), int(config["target"]["dim"])
  if set(flat) != set(tl.AFFINE_KEYS):
    raise tl.TranslatorFileError(
        f"{where}: an affine translator needs {list(tl.AFFINE_KEYS)}, "
        f"the file has {sorted(flat)}. Export the translator again.")
  w = flat["w"]
  if w.ndim != 2 or w.shape[0] < d_in or w.shape[1] < d_out:
    raise tl.TranslatorFileError(f"{where}: w has shape {w.shape}, too small"
                                 f" for {d_in} -> {d_out}.")
  weight, bias = _fold_affine(flat, d_in, d_out)
  weight, bias = weight.astype(np.float32), bias.astype(np.float32)
  return lambda x: x @ weight + bias


def _fold_flax_affine(name: str, arch: Mapping, flat, d_in: int, d_out: int
                      ) -> tuple[np.ndarray, np.ndarray] | None:
  """(W, b) of the Flax models that are affine maps (linear, lowrank), so
  they run as one NumPy matmul; None for others (e.g. mlp)."""
  f = {k: np.asarray(v, np.float64) for k, v in flat.items()}
  if name == "linear":
    return f["dense/kernel"], f["dense/bias"]
  if name == "lowrank":
    weight = f["down/kernel"] @ f["up/kernel"]
    if arch.get("residual", True):
      k = min(d_in, d_out)
      weight[np.arange(k), np.arange(k)] += 1.0  # x cropped or zero-padded.
    return weight, f["up/bias"]
  return None


def _bucket(n: int, batch_size: int) -> int:
  """Rows a call of n rows is padded to: a power of two up to batch_size."""
  return min(batch_size, 1 << max(0, (n - 1).bit_length()))


def _flax(config: dict, flat, batch_size: int, where: str) -> Callable:
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from flax import traverse_util  # pylint: disable=g-import-not-at-top
  from embtrans import models  # pylint: disable=g-import-not-at-top
  arch = dict(config["arch"])
  name = arch.pop("name")
  try:
    model = models.get_model(name, **arch)
  except (ValueError, TypeError) as e:
    raise tl.TranslatorFileError(f"{where}: architecture {name!r} cannot be "
                                 f"built here ({e}).") from e
  d_in = int(config["source"]["dim"])
  shapes = jax.eval_shape(lambda: model.init(
      jax.random.key(0), jnp.zeros((1, d_in), jnp.float32))["params"])
  want = {"/".join(k): tuple(v.shape) for k, v in
          traverse_util.flatten_dict(shapes).items()}
  _check(flat, want, where)
  folded = _fold_flax_affine(name, arch, flat, d_in, int(arch["out_dim"]))
  if folded is not None:
    weight, bias = (a.astype(np.float32) for a in folded)
    return lambda x: x @ weight + bias
  params = jax.device_put(tl.unflatten(flat))
  run = jax.jit(lambda p, x: model.apply({"params": p}, x))

  def apply(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    if n <= batch_size:
      rows = _bucket(max(n, 1), batch_size)
      return np.asarray(run(params, np.pad(x, ((0, rows - n), (0, 0)))))[:n]
    padded = np.pad(x, ((0, -n % batch_size), (0, 0)))
    outs = [run(params, padded[i:i + batch_size])
            for i in range(0, len(padded), batch_size)]
    return np.concatenate(jax.device_get(outs))[:n]
  return apply


def build(config: dict, flat: Mapping[str, np.ndarray], batch_size: int,
          where: str) -> Callable[[np.ndarray], np.ndarray]:
  """`x [n, d_in] float32 -> [n, d_out] float32` for an exported translator.

  Raises:
    TranslatorFileError: parameters that do not fit the architecture.
  """
  if config["arch"]["name"] == tl.AFFINE:
    return _affine(config, flat, where)
  return _flax(config, flat, batch_size, where)

