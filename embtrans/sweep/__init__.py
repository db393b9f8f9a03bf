"""The translator grid: many members, one compiled program per shape.

  python -m embtrans.sweep --config=configs/grid.py --workdir=/tmp/grid

`plan` enumerates members and groups them by shape, `engine` trains a stack
of same-shape members with one vmapped, scanned step, `scores` evaluates a
member on the test split, and `run.run_sweep` ties them together with
per-member resume.
"""

from embtrans.sweep.run import run_sweep

__all__ = ["run_sweep"]
