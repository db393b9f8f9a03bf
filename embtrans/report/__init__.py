"""Reports of translator grids: `python -m embtrans.report <workdir>`.

`grid.write_report` writes results.csv, README.md (tables from `tables`,
answers from `findings`, text from `readme`) and the PNG figures of `plots`.
"""

from embtrans.report.grid import write_report

__all__ = ["write_report"]
