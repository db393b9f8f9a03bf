"""Benchmark of the metric kernels: JAX vs NumPy, and peak memory at scale.

  python -m embtrans.bench metrics            # n = 10,000; memory at 100,000
  python -m embtrans.bench metrics --quick    # small sizes, a few seconds
  python -m embtrans.bench metrics --only=cknna,svcca   # rows whose name
                                              # contains one of these

Part 1 times each kernel and a straightforward NumPy version of it (the
shared reference set, embtrans/references/numpy_metrics.py, which the tests
check the kernels against) side by side, in one run, on the same float32 data:
x: [n, 384], y: [n, 768]. JAX is called through its public function on
device arrays; each time is the median of --repeats calls after a warm-up
call, with block_until_ready. Compile time (first call minus the median) is
reported separately. A NumPy reference that takes over 2 s runs once. The
"matmul" column times the bare matrix products the kernel cannot avoid (for
example x^T x, y^T y, x^T y for feature-space CKA; x x^T for k-NN), as a
floor.

Part 2 runs streaming linear CKA, blocked Recall@K, blocked k-NN and CKNNA
at n = 100,000, each in a fresh subprocess that builds its inputs, resets the
peak-RSS counter (Linux /proc/self/clear_refs) and reports the RSS before the
call and the peak during it, next to the size of one n x n float32 matrix.
Recall@K, k-NN and CKNNA use d = --memory_dim (default 256): their memory
does not depend on d, their time is proportional to it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from embtrans import metrics
from embtrans.references import numpy_metrics as ref

D1, D2, K = 384, 768, 10
SLOW_NUMPY_S = 2.0


@dataclasses.dataclass
class Case:
  """One row of the timing table."""
  kernel: str
  shape: tuple[int, int, int]  # n, d1, d2
  run_jax: Callable[[], Any]
  run_numpy: Callable[[], Any]
  numpy_ref: str
  matmul: str  # key into the bare-matmul functions
  # A NumPy step shared by several rows (the k-NN lists): timed once, its
  # time added to each such row, its output passed to run_numpy.
  numpy_setup: Callable[[], Any] | None = None


FLAGS = flags.FlagValues()  # This benchmark's own flags.
_QUICK = flags.DEFINE_bool("quick", False, "Small sizes (n=200, memory "
                           "n=5000), 1 repeat.", flag_values=FLAGS)
_N = flags.DEFINE_integer("n", 10_000, "Points per timing case.",
                          flag_values=FLAGS)
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats (median).",
                                flag_values=FLAGS)
_BATCH = flags.DEFINE_integer("batch", 1000, "Minibatch CKA batch size.",
                              flag_values=FLAGS)
_MEMORY_N = flags.DEFINE_integer("memory_n", 100_000, "Points per memory "
                                 "case.", flag_values=FLAGS)
_MEMORY_DIM = flags.DEFINE_integer("memory_dim", 256, "Vector width of the "
                                   "memory cases.", flag_values=FLAGS)
_SKIP_MEMORY = flags.DEFINE_bool("skip_memory", False, "No memory table.",
                                 flag_values=FLAGS)
_ONLY = flags.DEFINE_list("only", None, "Parts of kernel names: run only the"
                          " rows whose name contains one of them.",
                          flag_values=FLAGS)
_MEMORY_CHILD = flags.DEFINE_string("memory_child", None, "(internal) run "
                                    "one memory case in this process.",
                                    flag_values=FLAGS)

def _matmuls(x: jax.Array, y: jax.Array, pool: jax.Array,
             batch: int) -> dict[str, Callable[[], Any]]:
  """The bare products behind each kernel, jitted, on the same operands."""
  nb = x.shape[0] // batch
  grams = lambda a: jnp.einsum("bid,bjd->bij", a, a)
  fns = {
      "xTx+yTy+xTy": (lambda x, y: (x.T @ x, y.T @ y, x.T @ y), (x, y)),
      "xTx+yTy": (lambda x, y: (x.T @ x, y.T @ y), (x, y)),
      "xxT+yyT": (lambda x, y: (x @ x.T, y @ y.T), (x, y)),
      "xxT": (lambda x: x @ x.T, (x,)),
      "yyT": (lambda y: y @ y.T, (y,)),
      "batch grams": (lambda xb, yb: (grams(xb), grams(yb)),
                      (x[:nb * batch].reshape(nb, batch, -1),
                       y[:nb * batch].reshape(nb, batch, -1))),
      "y pool^T": (lambda y, pool: y @ pool.T, (y, pool)),
  }
  # Operands are arguments, not constants, so nothing is folded at compile.
  return {name: functools.partial(jax.jit(fn), *args)
          for name, (fn, args) in fns.items()}


def _cka_cases(x: np.ndarray, y: np.ndarray, batch: int) -> list[Case]:
  """CKA, CKNNA and SVCCA rows: x: [n, d1], y: [n, d2]."""
  xj, yj = jnp.asarray(x), jnp.asarray(y)
  both = (x.shape[0], x.shape[1], y.shape[1])
  return [
      Case("linear_cka", both, lambda: metrics.linear_cka(xj, yj),
           lambda: ref.cka(x, y), "Gram form (n x n)", "xTx+yTy+xTy"),
      Case("linear_cka", both, lambda: metrics.linear_cka(xj, yj),
           lambda: ref.feature_linear_cka(x, y), "feature form (d x d)",
           "xTx+yTy+xTy"),
      Case("linear_cka debiased", both,
           lambda: metrics.linear_cka(xj, yj, debiased=True),
           lambda: ref.cka(x, y, debiased=True), "Gram form (n x n)",
           "xTx+yTy+xTy"),
      Case("streaming_linear_cka (host input)", both,
           lambda: metrics.streaming_linear_cka(x, y),
           lambda: ref.feature_linear_cka(x, y), "feature form (d x d)",
           "xTx+yTy+xTy"),
      Case("rbf_cka", both, lambda: metrics.rbf_cka(xj, yj),
           lambda: ref.cka(x, y, "rbf"), "Gram form, np.median", "xxT+yyT"),
      Case(f"minibatch_cka linear b={batch}", both,
           lambda: metrics.minibatch_cka(xj, yj, batch),
           lambda: ref.minibatch_cka(x, y, batch), "loop over batches",
           "batch grams"),
      Case(f"minibatch_cka rbf b={batch}", both,
           lambda: metrics.minibatch_cka(xj, yj, batch, kernel="rbf"),
           lambda: ref.minibatch_cka(x, y, batch, "rbf"),
           "loop over batches", "batch grams"),
      Case(f"cknna k={K}", both, lambda: metrics.cknna(xj, yj, K),
           lambda: ref.cknna(x, y, K), "dense n x n masks + HSIC",
           "xxT+yyT"),
      Case("svcca cca_dim=10", both, lambda: metrics.svcca(xj, yj),
           lambda: ref.svcca(x, y), "np.linalg.svd + CCA", "xTx+yTy"),
  ]


def _knn_cases(x: np.ndarray, y: np.ndarray) -> list[Case]:
  """k-NN rows; the NumPy lists are built once and shared by the rows."""
  xj, yj = jnp.asarray(x), jnp.asarray(y)
  n, both = x.shape[0], (x.shape[0], x.shape[1], y.shape[1])

  def lists():
    return ref.knn_pair(x, y, K)

  return [
      Case(f"knn_indices k={K}", (n, x.shape[1], 0),
           lambda: metrics.knn_indices(xj, K), lambda: ref.knn(x, K),
           "full argsort", "xxT"),
      Case(f"knn_jaccard k={K}", both, lambda: metrics.knn_jaccard(xj, yj, K),
           ref.jaccard, "argsort kNN + sets", "xxT+yyT", lists),
      Case(f"mutual_knn k={K}", both, lambda: metrics.mutual_knn(xj, yj, K),
           ref.mutual_knn, "argsort kNN + sets", "xxT+yyT", lists),
      Case(f"knn_rank_agreement k={K}", both,
           lambda: metrics.knn_rank_agreement(xj, yj, K), ref.rank_agreement,
           "argsort kNN + Python RBO", "xxT+yyT", lists),
      Case(f"knn_edit_distance k={K}", both,
           lambda: metrics.knn_edit_distance(xj, yj, K), ref.edit_distance,
           "argsort kNN + Python DP", "xxT+yyT", lists),
      Case(f"knn_edit_similarity k={K}", both,
           lambda: metrics.knn_edit_similarity(xj, yj, K),
           ref.edit_similarity, "argsort kNN + Python DP", "xxT+yyT", lists),
      Case(f"lcs_knn k={K}", both, lambda: metrics.lcs_knn(xj, yj, K),
           ref.lcs_knn, "argsort kNN + Python DP", "xxT+yyT", lists),
      Case(f"cycle_knn k={K}", both, lambda: metrics.cycle_knn(xj, yj, K),
           ref.cycle_knn, "argsort kNN + sets", "xxT+yyT", lists),
  ]


def _retrieval_cases(x: np.ndarray, y: np.ndarray,
                     pool: np.ndarray) -> list[Case]:
  """Recall@K and alignment accuracy of a translation t of x against y."""
  n = x.shape[0]
  yj, pj = jnp.asarray(y), jnp.asarray(pool)
  t = y + np.float32(0.5) * x @ np.ones((D1, D2), np.float32) / D1
  tj = jnp.asarray(t)
  return [
      Case("recall_at_k (1,5,10)", (n, y.shape[1], y.shape[1]),
           lambda: metrics.recall_at_k(tj, yj),
           lambda: ref.recall_at_k(t, y), "full lexsort", "yyT"),
      Case(f"alignment_accuracy pool={len(pool)}",
           (n, y.shape[1], y.shape[1]),
           lambda: metrics.alignment_accuracy(tj, yj, pj),
           lambda: ref.alignment_accuracy(t, y, pool), "dense scores",
           "y pool^T"),
  ]


def _cases(x: np.ndarray, y: np.ndarray, pool: np.ndarray,
           batch: int) -> list[Case]:
  return (_cka_cases(x, y, batch) + _knn_cases(x, y)
          + _retrieval_cases(x, y, pool))


def _time(fn: Callable[[], Any], repeats: int,
          slow_s: float | None = None) -> tuple[float, float]:
  """(first call s, median of later calls s); one call if slower than slow_s."""
  start = time.perf_counter()
  jax.block_until_ready(fn())
  first = time.perf_counter() - start
  if slow_s is not None and first > slow_s:
    return first, first
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return first, float(np.median(times))


def _time_numpy(case: Case, repeats: int, setups: dict[Any, Any]) -> float:
  """Seconds of the NumPy reference, plus its shared setup step if any."""
  if case.numpy_setup is None:
    return _time(case.run_numpy, repeats, slow_s=SLOW_NUMPY_S)[1]
  if case.numpy_setup not in setups:
    start = time.perf_counter()
    out = case.numpy_setup()
    setups[case.numpy_setup] = (out, time.perf_counter() - start)
  out, setup_s = setups[case.numpy_setup]
  fn = functools.partial(case.run_numpy, *out)
  return setup_s + _time(fn, repeats, slow_s=SLOW_NUMPY_S)[1]


def _selected(name: str, only: list[str] | None) -> bool:
  return not only or any(part in name for part in only)


def _timing_table(n: int, repeats: int, batch: int,
                  only: list[str] | None = None) -> None:
  rng = np.random.default_rng(0)
  x = rng.standard_normal((n, D1), dtype=np.float32)
  y = (x @ rng.standard_normal((D1, D2), dtype=np.float32) / np.sqrt(D1)
       + rng.standard_normal((n, D2), dtype=np.float32))
  pool = rng.standard_normal((min(1000, n), D2), dtype=np.float32)
  matmuls = _matmuls(jnp.asarray(x), jnp.asarray(y), jnp.asarray(pool), batch)
  matmul_ms, setups = {}, {}
  print("| kernel | n | d1 | d2 | jax ms | first call ms (incl. compile) |"
        " numpy ms | numpy reference | speedup | matmul ms | jax / matmul |")
  print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
  for case in _cases(x, y, pool, batch):
    if not _selected(case.kernel, only):
      continue
    first, jax_s = _time(case.run_jax, repeats)
    numpy_s = _time_numpy(case, repeats, setups)
    if case.matmul not in matmul_ms:
      matmul_ms[case.matmul] = _time(matmuls[case.matmul], repeats)[1] * 1e3
    mm = matmul_ms[case.matmul]
    n_, d1, d2 = case.shape
    print(
        f"| {case.kernel} | {n_:,} | {d1} | {d2 or '-'} | {jax_s * 1e3:,.1f} |"
        f" {first * 1e3:,.0f} | {numpy_s * 1e3:,.1f} | {case.numpy_ref} |"
        f" {numpy_s / jax_s:,.1f}x | {mm:,.1f} | {jax_s * 1e3 / mm:.2f} |",
        flush=True)


# --------------------------------------------------------------------------
# Peak memory, one fresh subprocess per case.
# --------------------------------------------------------------------------


def _memory_inputs(kind: str, n: int, dim: int) -> tuple[Any, Any]:
  rng = np.random.default_rng(0)
  if kind.startswith("streaming"):  # host arrays, moved chunk by chunk
    return (rng.standard_normal((n, D1), dtype=np.float32),
            rng.standard_normal((n, D2), dtype=np.float32))
  keys = rng.standard_normal((n, dim), dtype=np.float32)
  queries = keys + rng.standard_normal((n, dim), dtype=np.float32)
  return jnp.asarray(queries), jnp.asarray(keys)


def _rss_mb(field: str) -> float:
  """VmRSS (now) or VmHWM (peak since the last reset) of this process, MB."""
  with open("/proc/self/status") as status:
    for line in status:
      if line.startswith(field + ":"):
        return int(line.split()[1]) / 1024
  raise RuntimeError(f"{field} not in /proc/self/status")


def _memory_child(kind: str, n: int, dim: int) -> None:
  """Runs one case in this fresh process; prints its memory as JSON.

  The peak is reset (/proc/self/clear_refs) after the inputs are built, so
  it measures the kernel call alone (its compilation included).
  """
  a, b = _memory_inputs(kind, n, dim)
  jax.block_until_ready(jax.jit(lambda v: v + 1)(jnp.ones(8)))
  before = _rss_mb("VmRSS")
  with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # resets VmHWM to the current RSS
  start = time.perf_counter()
  if kind == "streaming":
    value = float(metrics.streaming_linear_cka(a, b))
  elif kind == "recall":
    value = float(metrics.recall_at_k(a, b)["recall@1"])
  elif kind == "cknna":
    value = float(metrics.cknna(a, b, K))
  else:
    value = int(metrics.knn_indices(b, K)[0, 0])
  print(json.dumps({"before_mb": before, "peak_mb": _rss_mb("VmHWM"),
                    "value": value, "seconds": time.perf_counter() - start}))


def _run_child(kind: str, n: int, dim: int) -> dict[str, Any]:
  root = os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))))
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [root, os.environ.get("PYTHONPATH", "")]))
  out = subprocess.run(
      [sys.executable, "-m", "embtrans.bench", "metrics",
       f"--memory_child={kind}", f"--memory_n={n}", f"--memory_dim={dim}"],
      check=True, capture_output=True, text=True, env=env)
  return json.loads(out.stdout.strip().splitlines()[-1])


def _memory_table(n: int, dim: int, only: list[str] | None = None) -> None:
  print("| kernel | n | d1 | d2 | RSS before call MB (inputs + runtime) |"
        " peak RSS during call MB | call's extra MB | one n x n float32 MB |"
        " seconds (incl. compile) |")
  print("|---|---|---|---|---|---|---|---|---|", flush=True)
  nxn_mb = n * n * 4 / 2**20
  for kind, name, d1, d2 in [
      ("streaming", "streaming_linear_cka (host input)", D1, D2),
      ("recall", "recall_at_k (block 256)", dim, dim),
      ("knn", f"knn_indices k={K} (block 512)", dim, 0),
      ("cknna", f"cknna k={K} (block 512)", dim, dim)]:
    if not _selected(name, only):
      continue
    out = _run_child(kind, n, dim)
    print(f"| {name} | {n:,} | {d1} | {d2 or '-'} | {out['before_mb']:,.0f} |"
          f" {out['peak_mb']:,.0f} | {out['peak_mb'] - out['before_mb']:,.0f}"
          f" | {nxn_mb:,.0f} | {out['seconds']:.1f} |", flush=True)


def _sizes() -> tuple[int, int, int, int, int]:
  """(n, repeats, batch, memory_n, memory_dim) from the flags."""
  if _QUICK.value:
    return 200, 1, 50, 5_000, 32
  return (_N.value, _REPEATS.value, _BATCH.value, _MEMORY_N.value,
          _MEMORY_DIM.value)


def main(argv: list[str]) -> int:
  del argv
  n, repeats, batch, memory_n, memory_dim = _sizes()
  if _MEMORY_CHILD.value:
    _memory_child(_MEMORY_CHILD.value, memory_n, memory_dim)
    return 0
  print(f"# Metric kernels: JAX {jax.__version__} on"
        f" {jax.devices()[0].platform} ({os.cpu_count()} cores) vs NumPy"
        f" {np.__version__}; load average at start"
        f" {os.getloadavg()[0]:.1f}\n")
  print(f"## Time, n = {n:,}: median of {repeats} after a warm-up\n")
  _timing_table(n, repeats, batch, _ONLY.value)
  if not _SKIP_MEMORY.value:
    print(f"\n## Peak memory, n = {memory_n:,}, fresh process each\n")
    _memory_table(memory_n, memory_dim, _ONLY.value)
  print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}. Above the core"
        " count, other processes share the CPU and every time here is longer.")
  return 0
