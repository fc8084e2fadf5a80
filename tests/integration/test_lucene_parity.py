"""The Lucene that Kibana users type: the same query gives the same stories in newsmon and in
Elasticsearch's own ``query_string`` (the classic Lucene parser behind Kibana's Lucene mode).

The 1,096 items of the real-news corpus (read from ../shared, never copied) are indexed three ways:
newsmon's SQLite index, newsmon's Elasticsearch index, and a plain Elasticsearch index searched with
``query_string`` (``analyze_wildcard``, default operator OR, default fields title, summary, body).
The plain index holds the text as newsmon's analyser tokenises it (``whitespace`` analyzer on the
tokens) and analyses queries with ``standard``, so analysis is held equal and what is compared is
the reading of the query: precedence, split words, wildcards, fuzzy terms, regular expressions,
proximity and date rounding. Every query must give the same ids all three ways.

A fourth run, ``query_string`` on the ``standard``-analysed fields Kibana searches by default,
shows what analysis alone changes (diacritics folded, ``Pakistan’s`` split by newsmon on purpose):
it is printed, not asserted (docs/search.md lists the differences and why).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from elasticsearch import helpers

from pipeline.document import index_document
from pipeline.item import ClassifiedItem, FeedRef, RawItem, format_time
from pipeline.query import parse_query
from pipeline.query.analysis import token_text
from pipeline.transport.base import SearchFilters
from pipeline.transport.sqlite_index import SqliteIndex
from tests.conftest import SHARED
from tests.integration.es_fixtures import EsEnv, es_url

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, tzinfo=UTC)

QUERIES = [
    # terms, phrases, explicit operators
    "Taliban", "Balochistan", '"Chinese nationals"', '"critical minerals"', "Taliban AND Pakistan",
    "Taliban OR ISIS", "Taliban -Afghanistan", "+Pakistan +China -India", "NOT Pakistan",
    "(Taliban OR ISIS) AND Pakistan", "Pakistan AND (copper OR gold)", "copper && !gold", "lithium || cobalt",
    # precedence without parentheses: Lucene's classic reading
    "Taliban ISIS AND Pakistan", "a OR b AND c", "drone OR missile AND strike NOT Iran",
    "terror AND attack OR blast", "mining OR minerals AND Balochistan", "Pakistan AND NOT India OR China",
    "security forces AND Balochistan", "attack OR -suicide", "NOT Pakistan AND China",
    # words the analyser splits
    "US-Pakistan", "title:Al-Qaeda", "rare-earth", "US-Pak*", "counter-terrorism", '"rare-earth"',
    # prefixes, wildcards, fuzzy terms, regular expressions
    "terror*", "miner*", "title:Balo*", "*stan", "Kash*r", "nucl?ar", "?ashmir", "min*ls", "title:*istan",
    "talib~1", "Taliban~", "Tehrik~2", "Lashkar~1", "Laskhar~1", "minral~", "/talib[a-z]n/", "/Talib[a-z]n/",
    "/ba?lochistan/", "/[0-9]{4}/", "body:/terror(ism|ist)/", "title:taliban~1",
    # proximity, in and out of order
    '"suicide attack"~3', '"attack suicide"~3', '"Pakistan security"~5', '"security Pakistan"~2',
    '"minerals cooperation"~4', '"United States"~0', '"China Pakistan corridor"~3',
    # fields and dates
    "source:Dawn", "source:dawn AND terror*", 'title:"State Department"', "title:(copper OR gold)",
    "published:[2013 TO 2014]", "published:[2010-01 TO 2010-04]", "published:2010", "published:2010-04", "published:>2025-06",
    "published:[2010-04-01 TO 2010-04-30]", "published:{2024 TO 2025}", "published:[2025||/y TO *]",
    "_exists_:body", "Pakistan AND _exists_:body",
]


def corpus_documents(shared) -> list[dict]:
    path = shared / "corpora" / "real-news" / "items.jsonl"
    indexed = datetime(2026, 12, 1, tzinfo=UTC)
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        raw = RawItem(id=row["id"], url=row["url"], guid="", source=row["source"], feed=FeedRef(row["source"], ""),
                      title=row["title"], summary=row.get("summary") or "", body=row.get("body"),
                      published=row.get("published"), fetched_at=format_time(indexed))
        docs.append(index_document(ClassifiedItem.from_raw(raw, story_id=row["id"]), indexed))
    return docs


LUCENE_MAPPING = {"properties": {
    **{name: {"type": "text", "analyzer": "whitespace", "search_analyzer": "standard"}
       for name in ("title", "summary", "body")},
    "published": {"type": "date"}, "source": {"type": "keyword", "normalizer": "lowercase"},
}}
KIBANA_MAPPING = {"properties": {
    **{name: {"type": "text", "analyzer": "standard"} for name in ("title", "summary", "body")},
    "published": {"type": "date"}, "source": {"type": "keyword", "normalizer": "lowercase"},
}}


def plain_index(client, name: str, mapping: dict, docs: list[dict], analysed: bool) -> None:
    client.indices.create(index=name, mappings=mapping, settings={"number_of_replicas": 0})

    def source(doc):
        text = {f: (token_text(doc[f]) if analysed else doc[f]) for f in ("title", "summary", "body") if doc.get(f)}
        return {**text, "published": doc.get("published"), "source": doc.get("source")}
    helpers.bulk(client, ({"_index": name, "_id": doc["id"], "_source": source(doc)} for doc in docs))
    client.indices.refresh(index=name)


def query_string_ids(client, name: str, query: str) -> set[str]:
    body = {"query_string": {"query": query, "fields": ["title", "summary", "body"],
                             "analyze_wildcard": True, "default_operator": "OR"}}
    response = client.search(index=name, query=body, size=5000, source=False)
    return {hit["_id"] for hit in response["hits"]["hits"]}


def newsmon_ids(index, query: str, total: int) -> set[str]:
    result = index.search(parse_query(query), SearchFilters(), limit=total + 1, sort="newest", now=NOW)
    return {hit.doc["id"] for hit in result.hits}


@pytest.fixture(scope="module")
def three(tmp_path_factory, es_url):
    """newsmon on SQLite, newsmon on Elasticsearch, and the plain indices, all holding the corpus."""
    if not SHARED.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED} (set NEWSMON_SHARED)")
    env = EsEnv(es_url, f"t{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("lucene"))
    docs = corpus_documents(SHARED)
    sqlite = SqliteIndex(f"sqlite:///{env.tmp}/index.db")
    elastic = env.index()
    for index in (sqlite, elastic):
        index.index(docs)
        assert index.flush() == []
    elastic.refresh()
    client = env.client()
    lucene, kibana = f"plain-{env.alias}-lucene", f"plain-{env.alias}-kibana"  # outside newsmon's template
    plain_index(client, lucene, LUCENE_MAPPING, docs, analysed=True)
    plain_index(client, kibana, KIBANA_MAPPING, docs, analysed=False)
    yield sqlite, elastic, client, lucene, kibana, len(docs)
    sqlite.close()
    elastic.close()
    for pattern in (f"{env.alias}-*", f"plain-{env.alias}-*"):
        client.indices.delete(index=pattern, ignore_unavailable=True, allow_no_indices=True)
    client.close()


def test_every_query_finds_the_same_items_in_newsmon_and_in_query_string(three):
    sqlite, elastic, client, lucene, kibana, total = three
    differences, found, kibana_same = [], 0, 0
    for query in QUERIES:
        embedded, at_scale = newsmon_ids(sqlite, query, total), newsmon_ids(elastic, query, total)
        reference = query_string_ids(client, lucene, query)
        if not embedded == at_scale == reference:
            differences.append(f"{query!r}: sqlite {len(embedded)} newsmon-es {len(at_scale)} query_string"
                               f" {len(reference)}; only query_string {sorted(reference - embedded)[:3]},"
                               f" only sqlite {sorted(embedded - reference)[:3]}")
        found += bool(reference)
        kibana_same += query_string_ids(client, kibana, query) == embedded
    print(f"measured: {len(QUERIES) - len(differences)} of {len(QUERIES)} queries give the same ids on SQLite,"
          f" newsmon on Elasticsearch and query_string; {kibana_same} of {len(QUERIES)} also on Kibana's"
          f" standard-analysed fields (the rest differ by analysis only)")
    assert differences == []
    assert found >= len(QUERIES) - 4, "the query set must find something to compare"


def test_the_readings_that_differ_from_a_naive_precedence_are_lucenes(three):
    sqlite, _, client, lucene, _, total = three
    for trap, reading in [("Taliban ISIS AND Pakistan", "Taliban +ISIS +Pakistan"),
                          ("drone OR missile AND strike NOT Iran", "drone +missile +strike -Iran")]:
        assert newsmon_ids(sqlite, trap, total) == query_string_ids(client, lucene, reading)
        assert parse_query(trap).mixed_operators
