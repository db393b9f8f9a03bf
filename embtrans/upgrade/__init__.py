"""Model upgrades without re-embedding: translate queries into an old index.

`data` defines the pydocs query -> document task and writes the translator
pair datasets; `evaluate` scores old / new / translated retrieval; `report`
writes docs/results/upgrade. Entry: `python -m embtrans.upgrade`.
"""
