"""The offline default text source."""

import collections

import pytest

from embtrans.data import sources


@pytest.fixture(scope="module")
def records():
  return sources.pydocs_records()


def test_pydocs_has_enough_distinct_texts(records):
  assert len(records) >= 5000
  assert len({r.text for r in records}) == len(records)
  assert len({r.id for r in records}) == len(records)
  parts = collections.Counter(r.meta["part"] for r in records)
  assert parts["summary"] > 1000 and parts["body"] > 1000
  assert len({r.meta["package"] for r in records}) > 50


def test_pydocs_is_deterministic_and_limit_is_a_prefix(records):
  head = sources.pydocs_records(limit=50)
  assert [r.id for r in head] == [r.id for r in records[:50]]


def test_unknown_source_lists_known_ones():
  with pytest.raises(ValueError, match="Known sources: .*pydocs"):
    sources.get_source("wikipedia")
