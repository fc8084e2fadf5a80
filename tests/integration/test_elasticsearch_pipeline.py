"""Kafka → Elasticsearch through the real command line: feeds from a local server, every stage as
its own process, every item indexed once with the mapping's types, and ``newsmon search`` finding
items by text, topic, entity, country, source and time range (checked against the in-memory
evaluator run over every indexed document)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timezone

import pytest

from pipeline.query import matches, parse_query
from pipeline.transport.base import SearchFilters
from tests.feedserver import FeedServer
from tests.integration.es_fixtures import es, es_url
from tests.pipeline_feeds import expected_ids, feed_entries, serve_feeds

pytestmark = pytest.mark.integration

SOURCES = {"/frontier.xml": "Frontier Desk", "/energy.json": "Energy Wire"}


@pytest.fixture
def feeds():
    yield from serve_feeds()


def write_config(kafka, es, server: FeedServer):
    feeds = feed_entries(server, lambda path: SOURCES.get(path, "US State Department"))
    config = kafka.tmp / "newsmon.yaml"
    config.write_text(f"""log: {kafka.url}
state: sqlite:///{kafka.tmp}/state.db
kafka: {{partitions: 3, session_timeout: 6s, request_timeout: 10s}}
consumer: {{poll_timeout: 1s, backoff_initial: 0.2s, backoff_max: 2s}}
{es.yaml()}feeds:
{feeds}
""")
    return config


def all_docs(es) -> list[dict]:
    index = es.index()
    try:
        return [hit.doc for hit in index.search(parse_query("*"), SearchFilters(), limit=10_000, sort="newest").hits]
    finally:
        index.close()


def cli_search(kafka, config, *args: str) -> list[str]:
    result = kafka.newsmon("search", "-c", str(config), "--json", "--limit", "1000", *args)
    assert result.returncode == 0, result.stderr
    return sorted(hit["id"] for hit in json.loads(result.stdout)["hits"])


def test_a_full_kafka_to_elasticsearch_run_indexes_every_item_once_and_searches_work(kafka, es, feeds):
    config = write_config(kafka, es, feeds)
    for step in (["setup"], ["produce", "--once"], ["consume", "classifier", "--until-idle"],
                 ["consume", "indexer", "--until-idle"]):
        result = kafka.newsmon(*step, "-c", str(config), timeout=300)
        assert result.returncode == 0, f"{step}: {result.stderr}"
    es.refresh()
    expected = expected_ids(feeds.files, feeds.base)
    docs = all_docs(es)
    assert sorted(d["id"] for d in docs) == sorted(expected)  # every item, once
    with es.client() as client:
        per_id = client.search(index=es.alias, size=0, aggs={"ids": {"terms": {"field": "id", "min_doc_count": 2}}})
        assert per_id["aggregations"]["ids"]["buckets"] == []
        typed = client.search(index=es.alias, size=len(docs), fields=["@timestamp", "scores.*", "locations.point"],
                              source=False)["hits"]["hits"]
        mappings = client.indices.get_mapping(index=es.alias).body
    assert all(hit["_id"] for hit in typed) and all("@timestamp" in hit["fields"] for hit in typed)
    assert any("locations.point" in hit["fields"] for hit in typed)
    for mapping in mappings.values():
        scores = mapping["mappings"]["properties"]["scores"]["properties"]
        assert {spec["type"] for spec in scores.values()} == {"float"}
        assert mapping["mappings"]["properties"]["locations"]["properties"]["point"]["type"] == "geo_point"

    now = datetime.now(UTC)
    checks = [  # (CLI arguments, the query and the filter they mean)
        (['"critical minerals"'], '"critical minerals"', lambda d: True),
        (["Quetta OR Peshawar"], "Quetta OR Peshawar", lambda d: True),
        (["*", "--topic", "counterterrorism"], "*", lambda d: "counterterrorism" in d["topics"]),
        (['entities.groups:"Tehreek-e-Taliban Pakistan"'], 'entities.groups:"Tehreek-e-Taliban Pakistan"', lambda d: True),
        (["*", "--country", "US"], "*", lambda d: "US" in d["countries"]),
        (["*", "--source", "energy wire"], "*", lambda d: d["source"] == "Energy Wire"),
        (["@timestamp:[2026-01-05 TO 2026-01-06]"], "@timestamp:[2026-01-05 TO 2026-01-06]", lambda d: True),
    ]
    for args, query, keep in checks:
        wanted = sorted(d["id"] for d in docs if keep(d) and matches(parse_query(query), d, now))
        assert wanted, f"{args} should find something in the fixtures"
        assert cli_search(kafka, config, *args) == wanted, args
