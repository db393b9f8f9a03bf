"""Two-stage retrieval: candidates from an embedding space, decisions from
attributes.

Stage 1 (`candidates`): the k most similar items from an exact jit top-k
(`ExactIndex`, the metrics kernel `knn_search`) or a ChromaDB HNSW collection
(`ChromaIndex`); queries from another space are first put into the index
space by a translator. Stage 2 (`filters`, `decide`): hard constraints on
attributes (equality, set, range; the caller's tenant always), then a
decision ranked on exact attributes, the similarity kept for telemetry and
tie-breaks only (`decide.decide`). `paths` applies a filter three ways: filter then exact
search, search then filter with an over-fetch factor, ChromaDB's `where`
during its graph search.

    from embtrans.retrieval import Access, Catalog, ExactIndex, Filter, Eq
    from embtrans.retrieval import paths
    cat = Catalog.create(ids, vectors, {"tenant": tenants, "module": modules})
    results = paths.prefilter(ExactIndex(cat), queries, k=10,
                              access=Access("acme"),
                              f=Filter.of(Eq("module", "gzip")))

The experiment on the pydocs corpus and its report:
`python -m embtrans.retrieval --config=configs/two_stage.py --workdir=W`.
"""

from embtrans.retrieval.candidates import ChromaIndex
from embtrans.retrieval.candidates import ExactIndex
from embtrans.retrieval.catalog import Catalog
from embtrans.retrieval.decide import Decision
from embtrans.retrieval.decide import Rule
from embtrans.retrieval.filters import Access
from embtrans.retrieval.filters import Eq
from embtrans.retrieval.filters import Filter
from embtrans.retrieval.filters import In
from embtrans.retrieval.filters import Range
from embtrans.retrieval.paths import Result

__all__ = ["Access", "Catalog", "ChromaIndex", "Decision", "Eq",
           "ExactIndex", "Filter", "In", "Range", "Result", "Rule"]
