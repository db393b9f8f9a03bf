"""The real task, from the default corpus's own metadata: similar is not same.

The `pydocs` corpus holds, per documented stdlib object, a summary record and
(when the docstring is long) a body record, with metadata module, package and
qualname. The task built here:

* **Index (catalog)**: every summary record, with attributes tenant, package,
  module, qualname, name (the last part of the qualname; a module's own
  docstring takes the last part of the module path), kind (module / class /
  function / method, read from the stdlib's syntax tree: exact, not guessed),
  and bucket (a uniform integer in [0, 1000) from a hash of the id, for
  filters of a chosen selectivity).
* **Queries**: the body record of a docstring whose summary is indexed. The
  query carries the body's vector and the attributes that decide (module,
  kind, name); the right answer is that docstring's summary. The query text
  is never the indexed text, so embedding retrieval has to bridge two
  paragraphs of one docstring, while namesakes in other modules (`read`,
  `close`, `open`, `copy`, ...) sit close by.
* **Splits**: test queries are those whose body id is in the dataset's test
  split; validation queries are carved (by a hash of the id) from the train
  split. Every choice is made on validation queries; a translator is fitted on
  train records only, never on any record of a validation or test docstring.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import pathlib
import sysconfig
from typing import Sequence

import numpy as np

from embtrans.data import format as fmt
from embtrans.retrieval.catalog import Catalog

REQUIRED = ("module", "qualname", "part")
BUCKETS = 1000
MODULE_QUALNAME = "<module>"


def _hash01(text: str) -> float:
  digest = hashlib.sha1(text.encode("utf-8")).digest()
  return int.from_bytes(digest[:8], "big") / 2**64


def buckets(ids: Sequence[str]) -> np.ndarray:
  """[n] int64 in [0, BUCKETS): a uniform hash of each id."""
  return np.array([int(_hash01(f"bucket:{i}") * BUCKETS) for i in ids],
                  np.int64)


@functools.lru_cache(maxsize=None)
def _file_kinds(rel: str) -> dict[str, str]:
  """qualname -> kind for one stdlib file ({} when it cannot be read)."""
  path = pathlib.Path(sysconfig.get_paths()["stdlib"]) / rel
  try:
    tree = ast.parse(path.read_text(encoding="utf-8"))
  except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
    return {}
  out = {MODULE_QUALNAME: "module"}

  def walk(node: ast.AST, prefix: str, in_class: bool) -> None:
    for child in ast.iter_child_nodes(node):
      if isinstance(child, ast.ClassDef):
        out[prefix + child.name] = "class"
        walk(child, f"{prefix}{child.name}.", True)
      elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
        out[prefix + child.name] = "method" if in_class else "function"
        walk(child, f"{prefix}{child.name}.", False)

  walk(tree, "", False)
  return out


def stdlib_kinds(ids: Sequence[str]) -> np.ndarray:
  """Kind of each `pydocs:<file>:<qualname>:<part>` id ('unknown' if not)."""
  out = []
  for i in ids:
    parts = str(i).split(":")
    kinds = _file_kinds(parts[1]) if len(parts) == 4 else {}
    out.append(kinds.get(parts[2], "unknown") if kinds else "unknown")
  return np.asarray(out)


def _names(modules: np.ndarray, qualnames: np.ndarray) -> np.ndarray:
  return np.asarray([m.rsplit(".", 1)[-1] if q == MODULE_QUALNAME
                     else q.rsplit(".", 1)[-1]
                     for m, q in zip(modules, qualnames)])


@dataclasses.dataclass(frozen=True)
class Queries:
  """ids: [q] query (body) ids; targets: [q] catalog rows of the answers."""

  ids: np.ndarray
  targets: np.ndarray

  def __len__(self) -> int:
    return len(self.ids)


@dataclasses.dataclass(frozen=True)
class Task:
  """The catalog, validation and test queries, and what a translator skips.

  Attributes:
    catalog: the indexed summaries (vectors of the index dataset).
    val, test: queries (see module docstring).
    held_out: ids of every record of a validation or test docstring.
    namesake: [n] bool per catalog row: another module has an item with the
      same name and kind.
  """

  catalog: Catalog
  val: Queries
  test: Queries
  held_out: frozenset
  namesake: np.ndarray


def _columns(ds: fmt.EmbeddingDataset) -> dict[str, np.ndarray]:
  missing = [c for c in REQUIRED if c not in ds.column_names]
  if missing:
    raise ValueError(
        f"Dataset {ds.name} lacks the columns {missing}: the two-stage task "
        f"needs {list(REQUIRED)} (part = summary | body), as the pydocs "
        "source writes them.")
  cols = {c: ds.column(c).astype(str) for c in REQUIRED}
  cols["package"] = (ds.column("package").astype(str) if "package" in
                     ds.column_names else cols["module"])
  cols["kind"] = (ds.column("kind").astype(str) if "kind" in ds.column_names
                  else stdlib_kinds(ds.ids))
  cols["tenant"] = (ds.column("tenant").astype(str) if "tenant" in
                    ds.column_names else None)
  return cols


def _namesakes(attrs: dict[str, np.ndarray]) -> np.ndarray:
  modules = {}
  for key, module in zip(zip(attrs["name"], attrs["kind"]), attrs["module"]):
    modules.setdefault(key, set()).add(module)
  return np.array([len(modules[key]) > 1
                   for key in zip(attrs["name"], attrs["kind"])])


def build_task(ds: fmt.EmbeddingDataset, tenant: str = "stdlib",
               val_fraction: float = 0.25) -> Task:
  """The catalog and queries of `ds` (the index dataset; see module doc)."""
  if not 0 < val_fraction < 1:
    raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}.")
  cols = _columns(ds)
  is_item = cols["part"] == "summary"
  items = np.flatnonzero(is_item)
  if not len(items):
    raise ValueError(f"Dataset {ds.name} has no part == 'summary' rows to "
                     "index.")
  attrs = {
      "tenant": (cols["tenant"][items] if cols["tenant"] is not None
                 else np.full(len(items), tenant)),
      "package": cols["package"][items], "module": cols["module"][items],
      "qualname": cols["qualname"][items], "kind": cols["kind"][items],
      "bucket": buckets(ds.ids[items])}
  attrs["name"] = _names(attrs["module"], attrs["qualname"])
  vectors = np.asarray(ds.vectors[items], np.float32)
  catalog = Catalog.create(ds.ids[items], vectors, attrs,
                           space=str(ds.manifest.get("model") or ds.name))
  row_of = {key: r for r, key in enumerate(zip(attrs["module"],
                                               attrs["qualname"]))}
  bodies = [(i, row_of[(m, q)]) for i, (m, q, p) in enumerate(
      zip(cols["module"], cols["qualname"], cols["part"]))
            if p == "body" and (m, q) in row_of]
  splits = {"val": [], "test": []}
  for i, target in bodies:
    body_id = str(ds.ids[i])
    if ds.splits[i] == "test":
      splits["test"].append((body_id, target))
    elif _hash01(f"val:{body_id}") < val_fraction:
      splits["val"].append((body_id, target))
  for name, pairs in splits.items():
    if not pairs:
      raise ValueError(f"Dataset {ds.name} gives no {name} queries (body "
                       "records whose summary is indexed); use more texts.")
  queries = {name: Queries(np.asarray([b for b, _ in pairs]),
                           np.asarray([t for _, t in pairs], np.int64))
             for name, pairs in splits.items()}
  held_out = frozenset(
      [i for q in queries.values() for i in q.ids.tolist()]
      + [catalog.ids[t] for q in queries.values() for t in q.targets.tolist()])
  return Task(catalog, queries["val"], queries["test"], held_out,
              _namesakes(attrs))


def _rows_of(ds: fmt.EmbeddingDataset, ids: Sequence[str]) -> np.ndarray:
  index = {i: r for r, i in enumerate(ds.ids.tolist())}
  missing = [i for i in ids if i not in index]
  if missing:
    raise ValueError(f"Dataset {ds.name} lacks {len(missing)} query id(s), "
                     f"e.g. {missing[:2]}; build it from the same source as "
                     "the index dataset.")
  return np.asarray([index[i] for i in ids], np.int64)


def query_vectors(index_ds: fmt.EmbeddingDataset,
                  query_ds: fmt.EmbeddingDataset, ids: Sequence[str],
                  translator: str = "lstsq", held_out: frozenset = frozenset(),
                  seed: int = 0, fit_fraction: float = 0.9
                  ) -> tuple[np.ndarray, dict]:
  """Vectors of `ids` in the index space: [q, index_ds.dim].

  The index dataset's own vectors when `query_ds` is the index dataset;
  otherwise `query_ds`'s vectors mapped by a closed-form translator
  (embtrans.baselines: 'lstsq' or 'procrustes') fitted on a `fit_fraction`
  sample (drawn with `seed`) of the train records both datasets hold,
  without any id in `held_out`. Returns (vectors, info).
  """
  from embtrans import baselines  # pylint: disable=g-import-not-at-top
  ids = [str(i) for i in ids]
  if query_ds.path == index_ds.path:
    rows = _rows_of(index_ds, ids)
    return np.asarray(index_ds.vectors[rows], np.float32), {"fit_pairs": 0}
  a_index = {i: r for r, i in enumerate(index_ds.ids.tolist())}
  fit = [(a_index[i], r) for r, (i, split) in enumerate(
      zip(query_ds.ids.tolist(), query_ds.splits.tolist()))
         if split == "train" and i in a_index and i not in held_out]
  rng = np.random.default_rng(seed)
  keep = rng.permutation(len(fit))[:max(2, int(len(fit) * fit_fraction))]
  a_rows, b_rows = np.asarray(fit, np.int64)[np.sort(keep)].T
  if len(a_rows) < 2:
    raise ValueError(f"Too few train records shared by {index_ds.name} and "
                     f"{query_ds.name} to fit a translator ({len(a_rows)}).")
  b_all = np.asarray(query_ds.vectors, np.float32)
  a_all = np.asarray(index_ds.vectors, np.float32)
  translate = baselines.fit_baseline(translator, b_all[b_rows],
                                     a_all[a_rows])
  return translate(b_all[_rows_of(query_ds, ids)]), {
      "fit_pairs": int(len(a_rows))}
