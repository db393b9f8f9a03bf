"""Metric kernels for comparing embedding spaces (pure JAX, jitted).

Retrieval: `recall_at_k`.
"""

from embtrans.metrics.retrieval import recall_at_k

__all__ = ["recall_at_k"]
