"""Two-stage retrieval on the pydocs corpus: candidates from the space,
decisions from attributes, filters applied three ways.

  python -m embtrans.retrieval --config=configs/two_stage.py --workdir=/tmp/ts
  python -m embtrans.retrieval --config=configs/two_stage.py:tiny=True ...
  python -m embtrans.retrieval --config=configs/two_stage.py \
      --workdir=/tmp/ts --report=docs/results/two_stage

Arguments after the colon: index (the space items are indexed in: an encoder
name, a dataset directory or a cached dataset name), queries (the spaces
queries come from, '+'-separated; any that is not the index space is put into
it by a closed-form translator), translator (lstsq | procrustes), seeds
(query samples / filter draws), tiny (a handful of queries and knobs, for
tests and smoke runs).
"""

import ml_collections

from embtrans import config_lib


def get_config(arg=None):
  arg = config_lib.parse_arg(arg, index="minilm",
                             queries="minilm+minilm_static+tfidf_lsa",
                             translator="lstsq", seeds=3, tiny=False)
  c = ml_collections.ConfigDict()
  c.data = dict(source="pydocs", limit=0, cache_dir="", index=arg.index,
                query_spaces=tuple(arg.queries.split("+")), tenant="stdlib",
                val_fraction=0.25)
  c.translator = dict(name=arg.translator, fit_fraction=0.9)
  c.seeds = tuple(range(arg.seeds))
  c.k = 10
  c.filters = dict(
      num_queries=100, selectivities=(1.0, 0.5, 0.1, 0.01, 0.001),
      overfetch=(1, 2, 4, 8, 16, 32, 64, 128),
      ef_search=(10, 40, 100), postfilter_sources=("exact", "hnsw"),
      target_recall=0.9)
  c.chroma = dict(ef_search=100, ef_construction=100, max_neighbors=16)
  c.decision = dict(
      candidates=50, sweep=(1, 2, 5, 10, 20, 50, 100, 200),
      query_fraction=0.8, headline="module_kind_name",
      rules={"module_kind_name": dict(hard=("module", "kind"),
                                      rank=("name",)),
             "module_kind": dict(hard=("module", "kind"), rank=())})
  c.alignment = dict(negatives=8)
  c.permission = dict(queries=100, noise=0.05, overfetch=16)
  if arg.tiny:
    c.filters.num_queries = 8
    c.filters.selectivities = (1.0, 0.1, 0.01)
    c.filters.overfetch = (1, 4, 16)
    c.filters.ef_search = (100,)
    c.decision.sweep = (1, 5, 20)
    c.decision.candidates = 5
    c.permission.queries = 8
    c.permission.overfetch = 4
  return c
