"""Elasticsearch facet and histogram requests, checked against the index template without a server
(their answers are compared with the embedded index in tests/integration/test_search_parity.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timezone

from pipeline.query import parse_query
from pipeline.transport.base import FACET_FIELDS, SearchFilters
from pipeline.transport.elasticsearch_aggs import facets_body, histogram_body, read_facets, read_histogram
from pipeline.transport.elasticsearch_mapping import TEMPLATE_FILE, search_body

NOW = datetime(2026, 3, 10, tzinfo=UTC)


def mapped(path: str) -> dict:
    node = json.loads(TEMPLATE_FILE.read_text())["template"]["mappings"]
    for part in path.split("."):
        node = node["properties"][part] if "properties" in node else node["fields"][part]
    return node


def test_facets_count_a_case_preserving_keyword_of_every_field():
    body = facets_body(parse_query("attack"), SearchFilters(), NOW, list(FACET_FIELDS), 10)
    assert body["size"] == 0
    for i, name in enumerate(FACET_FIELDS):
        terms = body["aggs"][f"facet_{i}"]["terms"]
        assert terms["order"] == [{"_count": "desc"}, {"_key": "asc"}] and terms["size"] == 10
        field = mapped(terms["field"])
        assert field["type"] == "keyword"
        assert ("normalizer" not in field) == (name != "topics")  # only topics lacks a .raw


def test_aggregations_use_the_same_query_and_filters_as_search():
    query, filters = parse_query('"Reko Diq" OR copper'), SearchFilters(topics=("counterterrorism",), entities=("TTP",))
    expected = search_body(query, filters, NOW, limit=1, offset=0, sort="newest")["query"]
    assert facets_body(query, filters, NOW, ["topics"], 5)["query"] == expected
    assert histogram_body(query, filters, NOW, "week")["query"] == expected
    entity = next(c for c in expected["bool"]["filter"] if "bool" in c)["bool"]
    assert entity["minimum_should_match"] == 1
    assert {field for clause in entity["should"] for field in clause["terms"]} == {
        "entities.persons", "entities.organizations", "entities.places", "entities.groups"}
    assert all(values == ["ttp"] for clause in entity["should"] for values in clause["terms"].values())


def test_answers_are_read_into_the_protocol_shapes():
    assert read_facets({"aggregations": {"facet_0": {"buckets": [{"key": "Dawn", "doc_count": 3}]},
                                         "facet_1": {"buckets": []}}}, ["source", "topics"]) == {
        "source": [("Dawn", 3)], "topics": []}
    assert read_facets({"hits": {"hits": []}}, ["topics"]) == {"topics": []}  # no index yet: no aggregations
    assert read_histogram({"hits": {"hits": []}}) == []
    bucket = {"key": 1772928000000, "doc_count": 4, "stories": {"value": 2}, "unclustered": {"doc_count": 1},
              "topics": {"buckets": [{"key": "counterterrorism", "stories": {"value": 1},
                                      "unclustered": {"doc_count": 0}}]}}
    assert read_histogram({"aggregations": {"buckets": {"buckets": [bucket]}}}) == [
        (datetime(2026, 3, 8, tzinfo=UTC), {"all": 3, "counterterrorism": 1})]
