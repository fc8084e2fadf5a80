"""In-memory evaluation of queries against index documents."""

from __future__ import annotations

from datetime import UTC, datetime, timezone

import pytest

from pipeline.query import matches, parse_query
from pipeline.query.ast import Text
from pipeline.query.evaluate import keyword_pattern, sloppy_distance, text_matches

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)

DOC = {
    "id": "x1",
    "title": "Reko Diq copper-gold talks resume",
    "summary": "Officials said the suicide attack was contained.",
    "body": "Pakistan’s rare-earth plans. Café owners in Zürich.",
    "source": "Example Wire",
    "feed": {"id": "feed-a", "title": "Feed A"},
    "authors": ["Ann O'Neil", "C*Star"],
    "topics": ["minerals_cooperation"],
    "countries": ["PK", "US"],
    "entities": {"persons": ["Zara Khan"], "organizations": [], "places": ["Quetta"], "groups": []},
    "locations": [{"name": "Quetta", "lat": 30.2, "lon": 67.0, "country": "PK"}],
    "scores": {"minerals_cooperation": 0.91, "counterterrorism": 0.5},
    "published": "2025-03-09T08:00:00Z",
    "@timestamp": "2025-03-09T08:05:00Z",
    "fetched_at": "not a date",
}


def hit(text: str, doc: dict = DOC, now: datetime = NOW) -> bool:
    return matches(parse_query(text), doc, now)


@pytest.mark.parametrize("text, expected", [
    ("reko", True), ("REKO", True), ("reko diq", True), ('"reko diq"', True), ('"diq reko"', False),
    ("nothere", False), ("nothere copper", True), ("nothere AND copper", False),
    ("+nothere copper", False), ("+copper nothere", True), ("copper -gold", False), ("copper -silver", True),
    ("NOT silver", True), ("-silver", True), ("NOT copper", False), ("silver OR NOT gold", False),
    ("silver OR NOT platinum", False), ("copper OR NOT platinum", True), ("(silver OR copper) AND talks", True),
    ("title:copper", True), ("summary:copper", False), ("body:(cafe OR silver)", True),
    ("rare-earth", True), ("earth-rare", True), ("tin-zinc", False), ('"earth rare"', False), ("Pakistan’s", True), ("pakistan's", True),
    ("pakistan", True), ("cafe", True), ("zurich", True), ("ZÜRICH", True),
    ("cop*", True), ("title:cop*", True), ("summary:cop*", False), ("rare-ear*", True), ("rare-pl*", True), ("tin-pl*", True), ("tin-zi*", False),
    ('"contained pakistan"', False),  # a phrase never spans two fields
    ('"said attack"~2', True), ('"said attack"~1', False), ('"attack said"~2', False), ('"attack said"~5', True),
    ('"officials suicide attack"~3', True), ('"officials suicide attack"~2', True), ('"officials suicide attack"~1', False),
])
def test_text_and_boolean_semantics(text, expected):
    assert hit(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("countries:pk", True), ("countries:PK", True), ("countries:P?", True), ("countries:P", False),
    ("countries:*", True), ("_exists_:countries", True), ("_exists_:tags", False), ("tags:*", False),
    ("source:\"example wire\"", True), ("source:example", False), ("source:exam*", True),
    ("authors:C\\*Star", True), ("authors:C\\*S*", True), ("authors:CX\\*Star", False), ("authors:c?star", True),
    ("authors:\"Ann O'Neil\"", True), ("feed.id:FEED-A", True), ("feed.title:\"feed a\"", True),
    ("entities.persons:\"zara khan\"", True), ("entities.places:quetta", True), ("locations.name:Quetta", True),
    ("entities.groups:*", False), ("story_id:*", False),
])
def test_keyword_semantics(text, expected):
    assert hit(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("published:2025-03-09", True), ("published:2025-03-08", False), ("published:2025-03", False), ("published:2025-03||/M", True),
    ("published:[2025-03-01 TO 2025-03-09]", True), ("published:[2025-03-01 TO 2025-03-09}", False),
    ("published:{2025-03-09 TO *]", False), ("published:>2025-03-08", True), ("published:<2025-03-09", False),
    ("published:<=2025-03-09", True), ("published:>=now-1d", False), ("published:>=now-2d", True), ("published:>=now-1d/d", True),
    ("published:>now/d", False), ("published:[now-7d TO now]", True), ("published:now/w", False), ("published:now-1d/w", True),
    ("@timestamp:>now-7d", True), ("@timestamp:\"2025-03-09T08:05:00Z\"", True),
    ('@timestamp:"2025-03-09T13:05:00+05:00"', True), ("@timestamp:2025-03-09T08:05", True),
    ("_exists_:published", True), ("_exists_:classified_at", False),
    ("fetched_at:*", False), ("fetched_at:[* TO now]", False),  # an invalid stored date is no date
    ("NOT classified_at:[2020 TO now]", True),
])
def test_date_semantics(text, expected):
    assert hit(text) is expected


def test_now_is_an_argument():
    assert hit("@timestamp:>now-1d", now=datetime(2025, 3, 10, tzinfo=UTC))
    assert not hit("@timestamp:>now-1d", now=datetime(2025, 3, 11, tzinfo=UTC))
    assert hit("@timestamp:>now-1d", now=datetime(2025, 3, 10))  # naive means UTC


@pytest.mark.parametrize("text, expected", [
    ("scores.counterterrorism:0.5", True), ("scores.counterterrorism:>=0.5", True),
    ("scores.counterterrorism:>0.5", False), ("scores.counterterrorism:[0.1 TO 0.5}", False),
    ("scores.minerals_cooperation:[0.9 TO 1]", True), ("scores.economy:*", False),
    ("scores.economy:<1", False), ("NOT scores.economy:<1", True), ("_exists_:scores.counterterrorism", True),
])
def test_number_semantics(text, expected):
    assert hit(text) is expected


def test_missing_and_odd_fields():
    bare = {"id": "b"}
    assert hit("", bare) and hit("*", bare) and hit("NOT gold", bare)
    assert not hit("gold", bare) and not hit("countries:*", bare) and not hit("published:*", bare)
    assert not hit("_exists_:body", {"body": ""}) and hit("_exists_:body", {"body": " "})
    assert hit("countries:pk", {"countries": "PK"})  # a scalar keyword value
    assert not hit("scores.x:1", {"scores": {"x": "1"}})  # not a number


def test_proximity_is_lucenes_sloppy_phrase():
    words = ["a", "x", "x", "b"]
    assert text_matches(Text(("title",), ("a", "b"), slop=2), words)  # in order, two words between: 2 moves
    assert not text_matches(Text(("title",), ("a", "b"), slop=1), words)
    assert not text_matches(Text(("title",), ("b", "a"), slop=2), words)  # reversed: 2 more moves
    assert text_matches(Text(("title",), ("b", "a"), slop=4), words)
    assert not text_matches(Text(("title",), ("a", "a"), slop=0), ["a"])
    assert sloppy_distance(("a", "b", "c"), {"a": [2], "b": [1], "c": [0]}) == 4
    assert sloppy_distance(("a", "b"), {"a": [0, 9], "b": [5, 10]}) == 0  # the best pair of occurrences
    assert sloppy_distance(("a", "b"), {"a": [0]}) is None


def test_keyword_pattern():
    assert keyword_pattern("C\\*S*").fullmatch("c*star")
    assert not keyword_pattern("C\\*S*").fullmatch("cxstar")
    assert keyword_pattern("a?c").fullmatch("abc") and not keyword_pattern("a?c").fullmatch("ac")
    assert keyword_pattern("STRASSE").fullmatch("strasse")
