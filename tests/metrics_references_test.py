"""The NumPy reference set stands alone: NumPy in, nothing from embtrans."""

import ast
import pathlib
import subprocess
import sys

from embtrans.references import numpy_metrics

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_source_imports_numpy_only():
  tree = ast.parse(pathlib.Path(numpy_metrics.__file__).read_text())
  imported = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      imported |= {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
      imported.add(node.module)
  assert imported == {"__future__", "typing", "numpy"}, imported


def test_loading_it_loads_no_jax_and_no_other_embtrans_module():
  code = ("import sys; import embtrans.references.numpy_metrics;"
          " print(sorted(m for m in sys.modules"
          " if m.split('.')[0] in ('embtrans', 'jax', 'jaxlib', 'flax')))")
  out = subprocess.run([sys.executable, "-c", code], check=True,
                       capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT), "PATH": ""})
  assert ast.literal_eval(out.stdout.strip()) == [
      "embtrans", "embtrans.references", "embtrans.references.numpy_metrics"]
