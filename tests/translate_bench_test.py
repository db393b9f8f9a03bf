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


def test_a_folded_lowrank_equals_the_flax_model(tmp_path):
  import jax  # pylint: disable=g-import-not-at-top
  from embtrans import models  # pylint: disable=g-import-not-at-top
  for d_in, d_out in ((5, 3), (3, 5)):
    t = bench.write_translator(tmp_path / f"l{d_in}", "lowrank", d_in, d_out)
    flat, _ = portable.read_weights(tmp_path / f"l{d_in}" / portable.WEIGHTS)
    flat["up/kernel"] = np.random.default_rng(1).standard_normal(
        flat["up/kernel"].shape).astype(np.float32)  # Not the zero init.
    portable.write_weights(tmp_path / f"l{d_in}" / portable.WEIGHTS, flat,
                           t.config)
    t = bench.tl.load(tmp_path / f"l{d_in}")
    model = models.get_model("lowrank", out_dim=d_out, rank=64)
    x = np.random.default_rng(0).standard_normal((4, d_in)).astype(np.float32)
    want = model.apply({"params": portable.unflatten(flat)}, x)
    np.testing.assert_allclose(t(x), np.asarray(jax.device_get(want)),
                               rtol=1e-5, atol=1e-5)
