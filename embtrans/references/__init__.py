"""Plain NumPy reference implementations, independent of embtrans's kernels.

`numpy_metrics` is the one reference set for the metric kernels: the tests
check the kernels against it and `python -m embtrans.bench metrics` times the
kernels against it. It imports NumPy only (a test checks this), so it cannot
share a bug with the code it checks.
"""
