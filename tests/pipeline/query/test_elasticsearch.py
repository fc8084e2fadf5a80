"""Elasticsearch translation: the DSL's structure, and its meaning checked by a small interpreter of the
generated DSL (Lucene semantics, FTS5-like analyser) against the in-memory evaluator."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timezone

import pytest

from pipeline.fields import FieldKind, date_value, field_kind, keyword_values, number_value, text_value
from pipeline.query import matches, parse_query, to_elasticsearch
from pipeline.query.analysis import tokens

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)
ALL_TEXT = ["title", "summary", "body"]


def es(text: str) -> dict:
    return to_elasticsearch(parse_query(text), NOW)


# ---- structure ---------------------------------------------------------------------------------

def test_phrase_and_keyword():
    assert es('"Reko Diq" AND topics:minerals_cooperation') == {"bool": {"must": [
        {"multi_match": {"query": "reko diq", "fields": ALL_TEXT, "type": "phrase"}},
        {"term": {"topics": {"value": "minerals_cooperation"}}},
    ]}}


def test_default_or_with_must_not():
    assert es("Balochistan -topics:counterterrorism") == {"bool": {
        "should": [{"multi_match": {"query": "balochistan", "fields": ALL_TEXT, "type": "phrase"}}],
        "must_not": [{"term": {"topics": {"value": "counterterrorism"}}}],
        "minimum_should_match": 1,
    }}


def test_field_group():
    assert es("title:(copper OR gold) AND countries:PK") == {"bool": {"must": [
        {"bool": {"should": [{"match_phrase": {"title": {"query": "copper"}}},
                             {"match_phrase": {"title": {"query": "gold"}}}], "minimum_should_match": 1}},
        {"term": {"countries": {"value": "pk"}}},
    ]}}


def test_prefix():
    assert es("miner*") == {"bool": {"should": [{"prefix": {f: {"value": "miner"}}} for f in ALL_TEXT],
                                     "minimum_should_match": 1}}
    assert es("title:Miner*") == {"prefix": {"title": {"value": "miner"}}}
    assert es("body:rare-ear*") == {"bool": {"should": [{"match_phrase": {"body": {"query": "rare"}}},
                                                        {"prefix": {"body": {"value": "ear"}}}],
                                             "minimum_should_match": 1}}


def test_dates_are_resolved_against_now():
    assert es("published:[2025-01-01 TO now]") == {"range": {"published": {
        "gte": "2025-01-01T00:00:00.000Z", "lte": "2025-03-10T12:00:00.000Z", "format": "strict_date_optional_time"}}}
    assert es("@timestamp:>now-7d") == {"range": {"@timestamp": {
        "gt": "2025-03-03T12:00:00.000Z", "format": "strict_date_optional_time"}}}
    assert es("published:2025-01-02") == {"range": {"published": {
        "gte": "2025-01-02T00:00:00.000Z", "lt": "2025-01-03T00:00:00.000Z", "format": "strict_date_optional_time"}}}
    assert es("published:>2025-01-31") == {"range": {"published": {
        "gte": "2025-02-01T00:00:00.000Z", "format": "strict_date_optional_time"}}}


def test_numbers_exists_and_match_all():
    assert es("scores.counterterrorism:>=0.5") == {"range": {"scores.counterterrorism": {"gte": 0.5}}}
    assert es("scores.counterterrorism:{0.2 TO 0.5]") == {"range": {"scores.counterterrorism": {"gt": 0.2, "lte": 0.5}}}
    assert es("scores.economy:0.8") == {"term": {"scores.economy": {"value": 0.8}}}
    assert es("_exists_:body") == {"exists": {"field": "body"}}
    assert es("countries:*") == {"exists": {"field": "countries"}}
    assert es("published:[* TO *]") == {"exists": {"field": "published"}}
    assert es("") == es("*") == es("*:*") == {"match_all": {}}


def test_proximity_negation_and_wildcards():
    assert es('"suicide attack"~3') == {"multi_match": {"query": "suicide attack", "fields": ALL_TEXT,
                                                        "type": "phrase", "slop": 3}}
    assert es("NOT gold") == {"bool": {"must_not": [{"multi_match": {"query": "gold", "fields": ALL_TEXT,
                                                                     "type": "phrase"}}]}}
    assert es("+gold copper") == {"bool": {
        "must": [{"multi_match": {"query": "gold", "fields": ALL_TEXT, "type": "phrase"}}],
        "should": [{"multi_match": {"query": "copper", "fields": ALL_TEXT, "type": "phrase"}}]}}
    assert es("authors:C\\*St?r*") == {"wildcard": {"authors": {"value": "c\\*st?r*"}}}
    assert es("source:\"Example*\"") == {"term": {"source": {"value": "example*"}}}


def test_output_is_plain_json():
    text = '"a b"~2 AND title:x* OR published:[now-1d/d TO now] -scores.t:[0 TO 1} _exists_:body authors:a?'
    assert json.loads(json.dumps(es(text))) == es(text)


# ---- meaning: a small interpreter of the generated DSL ------------------------------------------

def _phrase_hit(words: list[str], terms: list[str], slop: int, prefix: bool) -> bool:
    """Lucene (sloppy) phrase: positions p_i of the terms with max(p_i - i) - min(p_i - i) <= slop."""
    def ok(word: str, index: int) -> bool:
        return word.startswith(terms[index]) if prefix and index == len(terms) - 1 else word == terms[index]

    def search(index: int, chosen: list[int]) -> bool:
        if index == len(terms):
            shifted = [pos - i for i, pos in enumerate(chosen)]
            return max(shifted) - min(shifted) <= slop
        return any(search(index + 1, [*chosen, pos]) for pos, word in enumerate(words)
                   if ok(word, index) and pos not in chosen)
    return search(0, [])


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = re.findall(r"\\.|.", pattern, re.DOTALL)
    return re.compile("".join(".*" if p == "*" else "." if p == "?" else re.escape(p[-1]) for p in parts), re.DOTALL)


def _to_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _range_hit(value, bounds: dict, convert) -> bool:
    checks = {"gte": lambda v, b: v >= b, "gt": lambda v, b: v > b, "lte": lambda v, b: v <= b, "lt": lambda v, b: v < b}
    return value is not None and all(checks[key](value, convert(bound)) for key, bound in bounds.items() if key in checks)


def es_matches(clause: dict, doc: dict) -> bool:
    (kind, body), = clause.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        should = [es_matches(child, doc) for child in body.get("should", [])]
        needed = body.get("minimum_should_match", 0 if body.get("must") else (1 if should else 0))
        return (all(es_matches(child, doc) for child in body.get("must", []))
                and not any(es_matches(child, doc) for child in body.get("must_not", []))
                and sum(should) >= needed)
    if kind == "multi_match":
        prefix = body["type"] == "phrase_prefix"
        return any(_phrase_hit(tokens(text_value(doc, field)), body["query"].split(), body.get("slop", 0), prefix)
                   for field in body["fields"])
    (field, spec), = body.items() if kind != "exists" else [(body["field"], None)]
    if kind in ("match_phrase", "match_phrase_prefix"):
        return _phrase_hit(tokens(text_value(doc, field)), spec["query"].split(), spec.get("slop", 0),
                           kind == "match_phrase_prefix")
    if kind == "prefix":
        return any(word.startswith(spec["value"]) for word in tokens(text_value(doc, field)))
    if kind == "exists":
        return {FieldKind.TEXT: lambda: text_value(doc, field) != "",
                FieldKind.KEYWORD: lambda: bool(keyword_values(doc, field)),
                FieldKind.DATE: lambda: date_value(doc, field) is not None,
                FieldKind.NUMBER: lambda: number_value(doc, field) is not None}[field_kind(field)]()
    if kind == "term" and field_kind(field) is FieldKind.NUMBER:
        return number_value(doc, field) == spec["value"]
    if kind == "term":
        return spec["value"] in [value.lower() for value in keyword_values(doc, field)]
    if kind == "wildcard":
        return any(_wildcard(spec["value"]).fullmatch(value.lower()) for value in keyword_values(doc, field))
    if kind == "range" and field_kind(field) is FieldKind.DATE:
        value = date_value(doc, field)
        return _range_hit(value and _to_time(value), spec, _to_time)
    if kind == "range":
        return _range_hit(number_value(doc, field), spec, float)
    raise AssertionError(f"unexpected clause {kind}")


DOCS = [
    {"id": "e1", "title": "Reko Diq copper-gold talks", "summary": "Officials met miners.",
     "body": "Pakistan’s rare-earth plans; the US-Pakistan dialogue.", "topics": ["minerals_cooperation"],
     "countries": ["PK", "US"], "authors": ["C*Star"], "scores": {"minerals_cooperation": 0.9},
     "published": "2025-03-09T08:00:00Z", "@timestamp": "2025-03-09T08:05:00Z", "source": "Example Wire"},
    {"id": "e2", "title": "Suicide attack near a convoy", "summary": "A suicide attack hit a checkpoint.",
     "body": "Officials in Balochistan said the attack was contained.", "topics": ["counterterrorism"],
     "countries": ["PK"], "authors": ["B. Writer"], "scores": {"counterterrorism": 0.5},
     "published": "2025-03-01T00:00:00Z", "@timestamp": "2025-03-01T01:00:00Z", "source": "Sample Daily"},
    {"id": "e3", "title": "Balochistan mining dialogue", "summary": "", "body": None,
     "topics": ["minerals_cooperation"], "countries": ["CN"], "scores": {"minerals_cooperation": 0.4},
     "published": None, "@timestamp": "2025-02-01T00:00:00Z", "source": "Example Wire"},
    {"id": "e4", "title": "Gold prices", "summary": "Mine output rose.", "body": "Gold and copper rally.",
     "topics": [], "countries": [], "scores": {}, "published": "2025-01-31T23:59:59Z",
     "@timestamp": "2025-03-10T11:00:00Z", "source": "Über News"},
]

QUERIES = [
    '"Reko Diq" AND topics:minerals_cooperation', "Balochistan -topics:counterterrorism",
    "title:(copper OR gold) AND countries:PK", "miner*", "mine*", "US-Pak*", "rare-ear*", "rare-earth",
    "Pakistan’s", "published:[2025-01-01 TO now]", "scores.counterterrorism:>=0.5", "@timestamp:>now-7d",
    '"suicide attack"~3', '"suicide attack"', '"officials said"~2', "_exists_:body", "_exists_:summary",
    "_exists_:published", "NOT published:[2025-03-01 TO now]", "", "*", "-gold", "gold OR NOT copper",
    "+gold copper", "gold copper", "authors:C\\*Star", "authors:c*", "authors:?.*", "source:über*",
    "countries:pk OR countries:cn", "published:2025-01-31", "published:>2025-01-31", "published:<=2025-01",
    "scores.minerals_cooperation:{0.4 TO 0.9]", "scores.counterterrorism:0.5", "title:gold^3 attack",
]


@pytest.mark.parametrize("text", QUERIES)
def test_dsl_means_what_the_evaluator_means(text):
    query = parse_query(text)
    clause = to_elasticsearch(query, NOW)
    assert {d["id"] for d in DOCS if es_matches(clause, d)} == {d["id"] for d in DOCS if matches(query, d, NOW)}


def test_proximity_means_the_same_as_lucenes_sloppy_phrase():
    reversed_doc = {"id": "x", "title": "attack suicide"}
    gap_doc = {"id": "y", "title": "suicide truck attack"}
    for text, doc, expected in [
        ('"suicide attack"~0', reversed_doc, False),  # slop 0 is the exact phrase
        ('"suicide attack"~1', reversed_doc, False),
        ('"suicide attack"~2', reversed_doc, True),   # reversed neighbours: 2 moves
        ('"suicide attack"~1', gap_doc, True),        # one word between: 1 move
        ('"suicide attack"~0', gap_doc, False),
    ]:
        query = parse_query(text)
        assert matches(query, doc, NOW) is expected
        assert es_matches(to_elasticsearch(query, NOW), doc) is expected
