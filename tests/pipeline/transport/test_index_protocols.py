"""Every index backend implements both halves of the index Protocols (the writer the indexer uses and
the reader the search page uses), ``setup`` included, so callers never probe for a method."""

from __future__ import annotations

import inspect

import pytest

from pipeline.transport.base import IndexReader, IndexWriter, SearchIndex
from pipeline.transport.elasticsearch_index import ElasticsearchIndex
from pipeline.transport.memory import MemoryIndex
from pipeline.transport.sqlite_index import SqliteIndex


def methods(protocol: type) -> set[str]:
    return {name for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")}


def test_the_search_index_is_the_writer_and_the_reader():
    assert methods(IndexWriter) == {"setup", "ready", "index", "flush", "close"}
    assert methods(IndexReader) == {"search", "facets", "histogram", "get", "count", "close"}
    assert IndexWriter in SearchIndex.__mro__ and IndexReader in SearchIndex.__mro__


@pytest.mark.parametrize("backend", [MemoryIndex, SqliteIndex, ElasticsearchIndex])
def test_every_backend_has_every_method(backend):
    missing = sorted(name for name in methods(IndexWriter) | methods(IndexReader)
                     if not inspect.isfunction(getattr(backend, name, None)))
    assert missing == []


def test_the_in_memory_index_has_nothing_to_set_up():
    index = MemoryIndex()
    index.index([{"id": "a"}])
    assert index.setup() == ""
    assert index.pending == {"a": {"id": "a"}} and index.flushes == 0


def test_an_index_that_cannot_probe_its_server_says_not_ready(tmp_path):
    from pipeline.transport.sqlite_index import SqliteIndex

    sqlite = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    try:
        assert MemoryIndex().ready() is False and sqlite.ready() is False  # the loop waits out its backoff
    finally:
        sqlite.close()
