"""An exported translator's apply speed next to a bare NumPy matmul.

  python -m embtrans.bench apply                    # 384 -> 384, all archs
  python -m embtrans.bench apply --archs=affine,mlp --chroma_rows=2000

For each architecture a translator with random parameters is written in the
export format (model.safetensors + config) and loaded back with
`embtrans.export.translator.load`, then timed, interleaved with a NumPy
`x @ W + b` of the same [batch, d_in] x [d_in, d_out] shape, at batch 1 and
batch 1,024 (microseconds per query; the median of `--repeats` timed runs
of `--calls` calls each, after a warm-up that compiles). The ChromaDB part
writes `--chroma_rows` random vectors into a local collection (that write
timed as the reference) and times `apply_collection` translating it into a
new one. Every ratio is of two figures measured in this one run.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import tempfile
import time
from typing import Callable

import numpy as np
from absl import flags

from embtrans.export import apply as apply_lib
from embtrans.export import chroma
from embtrans.export import portable
from embtrans.export import translator as tl

FLAGS = flags.FlagValues()  # This benchmark's own flags.
_ARCHS = flags.DEFINE_list("archs", ["affine", "linear", "lowrank", "mlp"],
                           "Architectures to time.", flag_values=FLAGS)
_DIM = flags.DEFINE_integer("dim", 384, "Source dim.", flag_values=FLAGS)
_OUT_DIM = flags.DEFINE_integer("out_dim", 384, "Target dim.",
                                flag_values=FLAGS)
_BATCHES = flags.DEFINE_list("batches", ["1", "1024"], "Rows per call.",
                             flag_values=FLAGS)
_CALLS = flags.DEFINE_integer("calls", 200, "Calls per timed run (batch 1;"
                              " batch b uses max(3, calls * 8 // b)).",
                              flag_values=FLAGS)
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs (median taken).",
                                flag_values=FLAGS)
_CHROMA_ROWS = flags.DEFINE_integer("chroma_rows", 5000, "Collection size "
                                    "(0 skips ChromaDB).", flag_values=FLAGS)

_ARCH_CONFIGS = {"linear": {"name": "linear"},
                 "lowrank": {"name": "lowrank", "rank": 64, "residual": True},
                 "mlp": {"name": "mlp", "hidden_mult": 1, "layers": 1,
                         "activation": "gelu"}}


def _random_params(arch: str, d_in: int, d_out: int, rng
                   ) -> dict[str, np.ndarray]:
  if arch == "affine":
    d = max(d_in, d_out)
    return {"w": rng.standard_normal((d, d)) / np.sqrt(d),
            "x_mean": rng.standard_normal(d_in) * 0.01,
            "x_scale": np.full(d_in, 0.05), "y_mean": np.zeros(d_out),
            "y_scale": np.full(d_out, 0.05)}
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from embtrans import models  # pylint: disable=g-import-not-at-top
  cfg = dict(_ARCH_CONFIGS[arch])
  model = models.get_model(cfg.pop("name"), out_dim=d_out, **cfg)
  params = model.init(jax.random.key(0), jnp.zeros((1, d_in)))["params"]
  return {k: np.asarray(v, np.float32)
          for k, v in portable.flatten(jax.device_get(params)).items()}


def write_translator(path: pathlib.Path, arch: str, d_in: int, d_out: int,
                     seed: int = 0) -> tl.Exported:
  """A random-parameter translator in the export format, loaded back."""
  rng = np.random.default_rng(seed)
  side = lambda name, d: {"model": name, "dim": d, "dataset": name,
                          "model_fingerprint": f"fp-{name}"}
  arch_cfg = ({"name": portable.AFFINE, "fit": "lstsq"} if arch == "affine"
              else dict(_ARCH_CONFIGS[arch]))
  config = {"format": portable.FORMAT, "version": portable.VERSION,
            "arch": {**arch_cfg, "out_dim": d_out},
            "source": side("bench-src", d_in), "target": side("bench-tgt",
                                                              d_out)}
  path.mkdir(parents=True, exist_ok=True)
  portable.write_weights(path / portable.WEIGHTS,
                         _random_params(arch, d_in, d_out, rng), config)
  return tl.load(path)


def _median_seconds(fn: Callable[[], object], calls: int, repeats: int
                    ) -> float:
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(calls):
      fn()
    times.append((time.perf_counter() - t0) / calls)
  return statistics.median(times)


def time_apply(t: tl.Exported, batch: int, calls: int, repeats: int
               ) -> tuple[float, float]:
  """(translator, NumPy matmul) seconds per call at `batch` rows."""
  rng = np.random.default_rng(1)
  x = rng.standard_normal((batch, t.source_dim)).astype(np.float32)
  w = rng.standard_normal((t.source_dim, t.target_dim)).astype(np.float32)
  b = rng.standard_normal(t.target_dim).astype(np.float32)
  t(x)  # Compiles.
  ours, ref = [], []
  for _ in range(repeats):  # Interleaved.
    ours.append(_median_seconds(lambda: t(x), calls, 1))
    ref.append(_median_seconds(lambda: x @ w + b, calls, 1))
  return statistics.median(ours), statistics.median(ref)


def time_collection(t: tl.Exported, rows: int, root: pathlib.Path
                    ) -> tuple[float, float]:
  """(seconds to translate a `rows` collection, seconds to write it)."""
  rng = np.random.default_rng(2)
  x = rng.standard_normal((rows, t.source_dim)).astype(np.float32)
  db = chroma.client(root / "chroma")
  col = db.create_collection("bench", embedding_function=None, metadata={
      "target_model": t.source["model"], "dim": t.source_dim,
      "model_fingerprint": t.source["model_fingerprint"]})
  step = db.get_max_batch_size()
  t0 = time.perf_counter()
  for i in range(0, rows, step):
    col.add(ids=[str(k) for k in range(i, min(rows, i + step))],
            embeddings=x[i:i + step],
            metadatas=[{"k": k % 7} for k in range(i, min(rows, i + step))])
  write = time.perf_counter() - t0
  t0 = time.perf_counter()
  apply_lib.apply_collection(t, root / "chroma", "bench")
  return time.perf_counter() - t0, write


def main(argv):
  del argv
  d_in, d_out = _DIM.value, _OUT_DIM.value
  print(f"apply: {d_in} -> {d_out}, load average {os.getloadavg()[0]:.1f}, "
        f"{os.cpu_count()} CPUs; microseconds per query (median of "
        f"{_REPEATS.value} runs); ratio = translator / NumPy matmul.")
  with tempfile.TemporaryDirectory() as tmp:
    root = pathlib.Path(tmp)
    for arch in _ARCHS.value:
      if arch != "affine" and arch not in _ARCH_CONFIGS:
        raise ValueError(f"Unknown arch {arch!r}; known: "
                             f"{['affine', *_ARCH_CONFIGS]}.")
      t = write_translator(root / arch, arch, d_in, d_out)
      for batch in map(int, _BATCHES.value):
        calls = _CALLS.value if batch == 1 else max(
            3, _CALLS.value * 8 // batch)
        ours, ref = time_apply(t, batch, calls, _REPEATS.value)
        print(f"  {arch:8s} batch {batch:5d}: {ours / batch * 1e6:9.2f} "
              f"us/query   numpy matmul {ref / batch * 1e6:9.2f} us/query   "
              f"ratio {ours / ref:6.2f}")
    if _CHROMA_ROWS.value:
      t = write_translator(root / "chroma_affine", "affine", d_in, d_out)
      rows = _CHROMA_ROWS.value
      seconds, write = time_collection(t, rows, root)
      print(f"  chromadb: translated a {rows}-record collection into a new "
            f"one at {rows / seconds:,.0f} records/s; writing it took "
            f"{write:.2f} s ({rows / write:,.0f} records/s), translation / "
            f"write time {seconds / write:.2f}.")
  print(f"load average at the end {os.getloadavg()[0]:.1f}.")
  return 0
