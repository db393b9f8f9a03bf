"""Host-streaming batches: the engine's StreamFeed source vs grain.

  python -m embtrans.bench feed            planted size and ViT-L/14 size
  python -m embtrans.bench feed --quick    small stores, a few seconds

When token datasets are too big for the devices, the align task's
StreamFeed asks the host for each step's batch: `PairBatches.batch(step)`
(one fancy-indexed read of the memory-mapped token store, the step's
order a pure function of (seed, step), so resuming needs no iterator
state). Side by side on the same store, batch size and number of batches:
  embtrans     PairBatches.batch(step), one call per step;
  grain map    grain.MapDataset.source(items).shuffle(seed).repeat()
               .batch(B)[step]: random access, one __getitem__ per item;
  grain iter   the same dataset .to_iter_dataset(ReadOptions(threads)):
               grain's prefetching threads, read in order;
  grain batch  a source whose element s is embtrans' batch s, through
               grain's prefetching threads (what grain would add to ours).
Prints batches/s and each grain way's rate relative to embtrans'.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import time

import numpy as np
from absl import flags

from embtrans.data import token_pairs

FLAGS = flags.FlagValues()  # This benchmark's own flags.
_QUICK = flags.DEFINE_bool("quick", False, "Small stores, few batches.",
                           flag_values=FLAGS)
_BATCHES = flags.DEFINE_integer("batches", 200, "Batches read per way.",
                                flag_values=FLAGS)
_THREADS = flags.DEFINE_integer("threads", 16, "grain's read threads.",
                                flag_values=FLAGS)

# (name, items, tokens per item, token dim, batch): the ablation's planted
# store, and a COCO-sized store of CLIP ViT-L/14 patch tokens (float16).
SHAPES = (("planted 16x64", 8192, 16, 64, 128),
          ("ViT-L/14 257x1024", 2048, 257, 1024, 64))
QUICK_SHAPES = (("planted 16x64", 2048, 16, 64, 128),
                ("ViT-L/14 257x1024", 256, 257, 1024, 32))


def token_split(root: pathlib.Path, n: int, t: int, d: int) -> (
    token_pairs.TokenSplit):
  """A memory-mapped float16 store [n, t, d] with one 64-d target per item."""
  rng = np.random.default_rng(0)
  store = np.lib.format.open_memmap(root / f"tokens_{n}_{t}_{d}.npy", "w+",
                                    np.float16, (n, t, d))
  for start in range(0, n, 256):
    stop = min(n, start + 256)
    store[start:stop] = rng.standard_normal((stop - start, t, d))
  store.flush()
  tokens = np.load(root / f"tokens_{n}_{t}_{d}.npy", mmap_mode="r")
  return token_pairs.TokenSplit(
      tokens, np.arange(n), np.full(n, t, np.int32),
      rng.standard_normal((n, 64)).astype(np.float32),
      np.arange(n, dtype=np.int32), np.array([f"i{i}" for i in range(n)]))


class _Items:
  """grain's random-access source: item i -> (tokens [T, d], length, target)."""

  def __init__(self, split: token_pairs.TokenSplit):
    self.split = split

  def __len__(self) -> int:
    return self.split.num_items

  def __getitem__(self, i):
    s = self.split
    return (np.asarray(s.tokens[s.rows[i]], np.float32), s.lengths[i],
            s.targets[i])


class _Batches:
  """grain's source whose element s is `PairBatches.batch(s)`."""

  def __init__(self, batches: token_pairs.PairBatches, count: int):
    self.batches, self.count = batches, count

  def __len__(self) -> int:
    return self.count

  def __getitem__(self, step):
    return self.batches.batch(step)


def _rate(batches) -> float:
  """Batches per second of an iterable of batches (the first one excluded)."""
  it = iter(batches)
  next(it)
  start, count = time.perf_counter(), 0
  for _ in it:
    count += 1
  return count / (time.perf_counter() - start)


def time_shape(split, batch: int, count: int, threads: int) -> dict:
  import grain  # pylint: disable=g-import-not-at-top
  ours = token_pairs.PairBatches(split, batch, seed=0)
  mapped = grain.MapDataset.source(_Items(split)).shuffle(seed=0).repeat(
      ).batch(batch, drop_remainder=True)
  options = grain.ReadOptions(num_threads=threads,
                              prefetch_buffer_size=threads)
  it = iter(mapped.to_iter_dataset(options))
  whole = iter(grain.MapDataset.source(_Batches(ours, count + 1))
               .to_iter_dataset(options))
  return {
      "embtrans": _rate(ours.batch(s) for s in range(count + 1)),
      "grain map": _rate(mapped[s] for s in range(count + 1)),
      "grain iter": _rate(next(it) for _ in range(count + 1)),
      "grain batch": _rate(whole),
  }


def main(argv):
  del argv
  shapes = QUICK_SHAPES if _QUICK.value else SHAPES
  count = 20 if _QUICK.value else _BATCHES.value
  print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"{count} batches per way, grain threads {_THREADS.value}.")
  print(f"{'store':<20} {'B':>4} | {'embtrans':>9} {'grain map':>10} "
        f"{'grain iter':>11} {'grain batch':>12} | batches/s; ratio to "
        "embtrans")
  with tempfile.TemporaryDirectory() as tmp:
    for name, n, t, d, batch in shapes:
      r = time_shape(token_split(pathlib.Path(tmp), n, t, d), batch, count,
                     _THREADS.value)
      base = r["embtrans"]
      print(f"{name:<20} {batch:>4} | {base:>9.1f} "
            f"{r['grain map']:>10.1f} {r['grain iter']:>11.1f} "
            f"{r['grain batch']:>12.1f} | " + ", ".join(
                f"{k.split()[1]} {r[k] / base:.2f}x"
                for k in ("grain map", "grain iter", "grain batch")))
  print(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
  return 0
