"""Hard constraints on item attributes: equality, set membership, ranges.

    f = filters.Filter.of(filters.Eq("module", "gzip"),
                          filters.In("kind", ("method", "function")),
                          filters.Range("bucket", lo=0, hi=100))
    f.check(schema)            # unknown attribute / wrong-type value: raises
    mask = f.mask(attributes)  # [n] bool, evaluated on the host (NumPy)
    where = f.where()          # the same predicate as a ChromaDB `where`

A Filter is a conjunction of clauses. Permission is a Filter too
(`Access(tenant).filter()`), but the retrieval paths take it as its own
argument and apply it to every result, whatever the other clauses say.

Attribute types are one of str, int, float, bool (`Schema`); an int value is
accepted for a float attribute, nothing else is converted.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence, Union

import numpy as np

# attribute name -> its Python type (str, int, float or bool)
Schema = Mapping[str, type]
TYPES = (str, int, float, bool)


def kind_of(value: Any) -> type | None:
  """The attribute type of a value (str, int, float or bool), else None."""
  if isinstance(value, (bool, np.bool_)):
    return bool
  if isinstance(value, (int, np.integer)):
    return int
  if isinstance(value, (float, np.floating)):
    return float
  return str if isinstance(value, str) else None


def _type_ok(value: Any, kind: type) -> bool:
  got = kind_of(value)
  return got is kind or (kind is float and got is int)


def _check_attribute(name: str, schema: Schema, clause: str) -> type:
  if name not in schema:
    raise ValueError(f"Unknown attribute {name!r} in filter {clause}; known "
                     f"attributes: {', '.join(sorted(schema))}.")
  return schema[name]


def _check_value(value: Any, name: str, kind: type, clause: str) -> None:
  if not _type_ok(value, kind):
    raise ValueError(
        f"Filter {clause}: attribute {name!r} holds {kind.__name__} values, "
        f"got {type(value).__name__} {value!r}; pass a {kind.__name__}.")


def _python(value: Any) -> Any:
  return value.item() if isinstance(value, np.generic) else value


@dataclasses.dataclass(frozen=True)
class Eq:
  """attribute == value."""

  attribute: str
  value: Any

  def __str__(self) -> str:
    return f"{self.attribute} == {self.value!r}"

  def check(self, schema: Schema) -> None:
    kind = _check_attribute(self.attribute, schema, str(self))
    _check_value(self.value, self.attribute, kind, str(self))

  def mask(self, column: np.ndarray) -> np.ndarray:
    return column == self.value

  def where(self) -> list[dict[str, Any]]:
    return [{self.attribute: {"$eq": _python(self.value)}}]


@dataclasses.dataclass(frozen=True)
class In:
  """attribute in values (a non-empty set)."""

  attribute: str
  values: tuple

  def __init__(self, attribute: str, values: Sequence[Any]):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
      raise ValueError(f"Filter {attribute} in ...: values must be a list or "
                       f"tuple of values, got {type(values).__name__} "
                       f"{values!r}.")
    object.__setattr__(self, "attribute", attribute)
    object.__setattr__(self, "values", tuple(values))

  def __str__(self) -> str:
    return f"{self.attribute} in {list(self.values)!r}"

  def check(self, schema: Schema) -> None:
    kind = _check_attribute(self.attribute, schema, str(self))
    if not self.values:
      raise ValueError(f"Filter {self}: the set is empty, so nothing could "
                       "pass; give at least one value.")
    for value in self.values:
      _check_value(value, self.attribute, kind, str(self))

  def mask(self, column: np.ndarray) -> np.ndarray:
    return np.isin(column, list(self.values))

  def where(self) -> list[dict[str, Any]]:
    return [{self.attribute: {"$in": [_python(v) for v in self.values]}}]


@dataclasses.dataclass(frozen=True)
class Range:
  """lo <= attribute < hi on a numeric attribute (either end may be None)."""

  attribute: str
  lo: float | int | None = None
  hi: float | int | None = None

  def __str__(self) -> str:
    lo = "" if self.lo is None else f"{self.lo!r} <= "
    hi = "" if self.hi is None else f" < {self.hi!r}"
    return f"{lo}{self.attribute}{hi}"

  def check(self, schema: Schema) -> None:
    kind = _check_attribute(self.attribute, schema, str(self))
    if kind not in (int, float):
      raise ValueError(f"Filter {self}: a range needs a numeric attribute, "
                       f"but {self.attribute!r} holds {kind.__name__} values;"
                       " use Eq or In.")
    if self.lo is None and self.hi is None:
      raise ValueError(f"Filter on {self.attribute!r}: a range needs lo, hi "
                       "or both.")
    for end in (self.lo, self.hi):
      if end is not None:
        _check_value(end, self.attribute, kind, str(self))

  def mask(self, column: np.ndarray) -> np.ndarray:
    out = np.ones(column.shape, bool)
    if self.lo is not None:
      out &= column >= self.lo
    if self.hi is not None:
      out &= column < self.hi
    return out

  def where(self) -> list[dict[str, Any]]:
    out = []
    if self.lo is not None:
      out.append({self.attribute: {"$gte": _python(self.lo)}})
    if self.hi is not None:
      out.append({self.attribute: {"$lt": _python(self.hi)}})
    return out


Clause = Union[Eq, In, Range]


@dataclasses.dataclass(frozen=True)
class Filter:
  """A conjunction of clauses; the empty Filter lets everything pass."""

  clauses: tuple[Clause, ...] = ()

  @classmethod
  def of(cls, *clauses: Clause) -> "Filter":
    for c in clauses:
      if not isinstance(c, (Eq, In, Range)):
        raise ValueError(f"A filter clause must be Eq, In or Range, got "
                         f"{type(c).__name__} {c!r}.")
    return cls(tuple(clauses))

  def __and__(self, other: "Filter") -> "Filter":
    return Filter(self.clauses + other.clauses)

  def __str__(self) -> str:
    return " and ".join(map(str, self.clauses)) or "(no filter)"

  def check(self, schema: Schema) -> "Filter":
    """Raises ValueError on an unknown attribute or a wrong-type value."""
    for c in self.clauses:
      c.check(schema)
    return self

  def mask(self, attributes: Mapping[str, np.ndarray]) -> np.ndarray:
    """[n] bool: the items that pass every clause (call check first)."""
    n = len(next(iter(attributes.values())))
    out = np.ones(n, bool)
    for c in self.clauses:
      out &= c.mask(attributes[c.attribute])
    return out

  def where(self) -> dict[str, Any] | None:
    """The predicate as a ChromaDB `where` (None for no clause)."""
    parts = [w for c in self.clauses for w in c.where()]
    if not parts:
      return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


TENANT = "tenant"


@dataclasses.dataclass(frozen=True)
class Access:
  """Who asks: only items of these tenants may ever be returned."""

  tenants: tuple[str, ...]

  def __init__(self, *tenants: str):
    if not tenants or not all(isinstance(t, str) and t for t in tenants):
      raise ValueError(f"Access needs at least one tenant name (a non-empty "
                       f"str), got {tenants!r}.")
    object.__setattr__(self, "tenants", tuple(sorted(set(tenants))))

  def filter(self) -> Filter:
    if len(self.tenants) == 1:
      return Filter.of(Eq(TENANT, self.tenants[0]))
    return Filter.of(In(TENANT, self.tenants))

  def __str__(self) -> str:
    return f"tenant {' | '.join(self.tenants)}"
