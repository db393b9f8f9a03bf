"""bench apply: its translators are the exported kind and compute y = f(x)."""

import numpy as np
import pytest

from embtrans.bench import apply as bench
from embtrans.bench import known_benchmarks
from embtrans.export import portable


def test_apply_is_a_known_benchmark():
  assert "apply" in known_benchmarks()


@pytest.mark.parametrize("arch", ["affine", "linear"])
def test_bench_translators_are_loaded_exports(tmp_path, arch):
  t = bench.write_translator(tmp_path / arch, arch, 5, 3)
  flat, _ = portable.read_weights(tmp_path / arch / portable.WEIGHTS)
  x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
  if arch == "linear":
    want = x @ flat["dense/kernel"] + flat["dense/bias"]
  else:  # The AffineTranslator formula, in float64.
    z = (x - flat["x_mean"]) / flat["x_scale"]
    want = (z @ flat["w"][:5])[:, :3] * flat["y_scale"] + flat["y_mean"]
  np.testing.assert_allclose(t(x), want, rtol=1e-4, atol=1e-4)
  ours, ref = bench.time_apply(t, 2, calls=2, repeats=1)
  assert ours > 0 and ref > 0
