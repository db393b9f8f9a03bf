"""The items a retrieval runs over: unit vectors plus typed attributes.

    cat = Catalog.create(ids, vectors, {"tenant": [...], "module": [...]})
    cat.schema            # {'module': str, 'tenant': str}
    cat.attributes["module"]   # [n] numpy column

Every catalog has a str `tenant` attribute (who may see the item). Vectors
are stored L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np

from embtrans.retrieval import filters


def _column(name: str, values: Sequence[Any], n: int) -> tuple[np.ndarray,
                                                             type]:
  """One attribute column as a typed numpy array, and its Python type."""
  values = list(values)
  if len(values) != n:
    raise ValueError(f"Attribute {name!r} has {len(values)} values for {n} "
                     "items; give one value per item.")
  kinds = {filters.kind_of(v) for v in values}
  if None in kinds:
    bad = next(v for v in values if filters.kind_of(v) is None)
    raise ValueError(f"Attribute {name!r} holds {type(bad).__name__} {bad!r};"
                     " attributes must be str, int, float or bool (fill "
                     "missing values first).")
  if kinds == {int, float}:
    kinds = {float}
  if len(kinds) != 1:
    raise ValueError(f"Attribute {name!r} mixes types "
                     f"{sorted(k.__name__ for k in kinds)}; one type per "
                     "attribute.")
  kind = kinds.pop() if kinds else str
  dtype = {bool: bool, int: np.int64, float: np.float64, str: str}[kind]
  return np.asarray(values, dtype=dtype), kind


@dataclasses.dataclass(frozen=True)
class Catalog:
  """Items with vectors and attributes (see module docstring).

  Attributes:
    ids: [n] str item ids, unique.
    vectors: [n, d] float32 unit rows.
    attributes: name -> [n] column (str, int64, float64 or bool).
    schema: name -> Python type of the column.
    space: the name of the embedding space the vectors live in.
  """

  ids: np.ndarray
  vectors: np.ndarray
  attributes: Mapping[str, np.ndarray]
  schema: Mapping[str, type]
  space: str = ""

  @classmethod
  def create(cls, ids: Sequence[str], vectors: Any,
             attributes: Mapping[str, Sequence[Any]],
             space: str = "") -> "Catalog":
    """Checks and normalises; raises ValueError naming the problem."""
    vectors = np.asarray(vectors, np.float32)
    ids = np.asarray([str(i) for i in ids])
    if vectors.ndim != 2 or vectors.shape[0] != len(ids) or not len(ids):
      raise ValueError(f"A catalog needs vectors [n, d] with one row per id "
                       f"and n >= 1; got {len(ids)} ids and vectors of shape "
                       f"{vectors.shape}.")
    if len(set(ids.tolist())) != len(ids):
      raise ValueError("Catalog ids must be unique.")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not np.isfinite(vectors).all() or (norms == 0).any():
      raise ValueError("Catalog vectors must be finite and non-zero.")
    columns, schema = {}, {}
    for name, values in attributes.items():
      columns[name], schema[name] = _column(name, values, len(ids))
    if schema.get(filters.TENANT) is not str:
      raise ValueError(f"A catalog needs a str {filters.TENANT!r} attribute "
                       "(who may see each item); got attributes "
                       f"{sorted(schema)}.")
    return cls(ids, vectors / norms, columns, schema, space)

  def __len__(self) -> int:
    return len(self.ids)

  @property
  def dim(self) -> int:
    return self.vectors.shape[1]

  def row(self, row: int) -> dict[str, Any]:
    """Item `row`'s attributes as Python values."""
    return {k: v[row].item() for k, v in self.attributes.items()}

  def mask(self, f: filters.Filter) -> np.ndarray:
    """[n] bool: the items that pass `f` (checked against the schema)."""
    return f.check(self.schema).mask(self.attributes)

  def extended(self, ids: Sequence[str], vectors: Any,
               attributes: Mapping[str, Sequence[Any]]) -> "Catalog":
    """A new catalog: these items appended (same attribute names)."""
    if set(attributes) != set(self.attributes):
      raise ValueError(f"New items need exactly the attributes "
                       f"{sorted(self.attributes)}; got {sorted(attributes)}.")
    return Catalog.create(
        [*self.ids.tolist(), *ids],
        np.concatenate([self.vectors, np.asarray(vectors, np.float32)]),
        {k: [*self.attributes[k].tolist(), *attributes[k]]
         for k in self.attributes}, self.space)
