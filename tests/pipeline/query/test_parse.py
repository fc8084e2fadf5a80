"""Parsing: Lucene/Kibana syntax to newsmon's immutable AST, and one-line errors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timezone

import pytest

from pipeline.errors import UserInputError
from pipeline.query import QuerySyntaxError, highlight_terms, parse_query
from pipeline.query.ast import Bool, DateRange, Exists, Keyword, MatchAll, NumberRange, Text
from pipeline.query.datemath import resolve

TEXT = ("title", "summary", "body")


def text(*words: str, fields=TEXT, **options) -> Text:
    return Text(fields, words, **options)


def test_examples_from_the_brief():
    assert parse_query('"Reko Diq" AND topics:minerals_cooperation').root == Bool(
        must=(text("reko", "diq"), Keyword("topics", "minerals_cooperation")))
    assert parse_query("Balochistan -topics:counterterrorism").root == Bool(
        should=(text("balochistan"),), must_not=(Keyword("topics", "counterterrorism"),))
    assert parse_query("title:(copper OR gold) AND countries:PK").root == Bool(must=(
        Bool(should=(text("copper", fields=("title",)), text("gold", fields=("title",)))),
        Keyword("countries", "PK")))
    assert parse_query("miner*").root == text("miner", prefix=True)
    assert parse_query('"suicide attack"~3').root == text("suicide", "attack", slop=3)
    assert parse_query("_exists_:body").root == Exists("body")
    assert parse_query("scores.counterterrorism:>=0.5").root == NumberRange("scores.counterterrorism", 0.5, None)


def test_dates_parse_to_unresolved_values():
    root = parse_query("@timestamp:>now-7d").root
    assert isinstance(root, DateRange) and root.field == "@timestamp" and not root.include_low
    assert root.high is None and root.low.anchor is None and root.low.steps == ((-7, "d"),)
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert resolve(root.low, now) == (datetime(2025, 3, 3, 12, tzinfo=UTC), None)
    day = parse_query("published:2025-01-02").root
    assert day.low == day.high and day.low.period == "d" and day.include_low and day.include_high


@pytest.mark.parametrize("text_", ["", "   ", "*", "*:*", "(*)"])
def test_match_all(text_):
    assert parse_query(text_).root == MatchAll()


def test_query_keeps_text_and_is_immutable_and_hashable():
    query = parse_query("gold AND countries:PK")
    assert query.text == "gold AND countries:PK"
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.text = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.root.must = ()
    assert hash(query) == hash(parse_query("gold AND countries:PK"))


def test_default_operator_is_or_and_lucene_clause_rules():
    assert parse_query("a b").root == Bool(should=(text("a"), text("b")))
    assert parse_query("+a b -c").root == Bool(must=(text("a"),), should=(text("b"),), must_not=(text("c"),))
    assert parse_query("a NOT b").root == Bool(should=(text("a"),), must_not=(text("b"),))
    assert parse_query("a AND b OR c").root == Bool(should=(Bool(must=(text("a"), text("b"))), text("c")))
    assert parse_query("a OR NOT b").root == Bool(should=(text("a"), Bool(must_not=(text("b"),))))
    assert parse_query("NOT a").root == Bool(must_not=(text("a"),))


def test_symbolic_operators():
    assert parse_query("a && b").root == parse_query("a AND b").root
    assert parse_query("a || b").root == parse_query("a OR b").root
    assert parse_query("!a").root == parse_query("NOT a").root
    assert parse_query("a && !(b || c)").root == parse_query("a AND NOT (b OR c)").root
    assert parse_query('"rock && roll !now"').root == text("rock", "roll", "now")
    assert parse_query("a&&b").root == text("a", "b")  # not an operator inside a word


def test_multi_token_terms_are_phrases_and_boost_is_ignored():
    assert parse_query("rare-earth").root == text("rare", "earth")
    assert parse_query("Pakistan’s").root == text("pakistan", "s")
    assert parse_query("US-Pak*").root == text("us", "pak", prefix=True)
    assert parse_query("gold^2").root == text("gold")
    assert parse_query('"a b"~2^3').root == text("a", "b", slop=2)
    assert parse_query('"single"~4').root == text("single")


def test_stop_like_terms_are_dropped():
    assert parse_query("gold & copper").root == parse_query("gold copper").root
    assert parse_query("gold AND #").root == text("gold")


def test_keyword_values():
    assert parse_query("countries:PK").root == Keyword("countries", "PK")
    assert parse_query("topics:count*").root == Keyword("topics", "count*", wildcard=True)
    assert parse_query("authors:C\\*Star").root == Keyword("authors", "C*Star")
    assert parse_query("authors:C\\*St*").root == Keyword("authors", "C\\*St*", wildcard=True)
    assert parse_query('source:"Example*"').root == Keyword("source", "Example*")
    assert parse_query("source:Example\\ Wire").root == Keyword("source", "Example Wire")
    assert parse_query("countries:*").root == Exists("countries")


def test_ranges():
    assert parse_query("scores.x:[0.2 TO 0.8}").root == NumberRange("scores.x", 0.2, 0.8, True, False)
    assert parse_query("scores.x:[-1 TO *]").root == NumberRange("scores.x", -1.0, None)
    assert parse_query("scores.x:<0.3").root == NumberRange("scores.x", None, 0.3, True, False)
    assert parse_query("scores.x:0.5").root == NumberRange("scores.x", 0.5, 0.5)
    assert parse_query("published:[* TO *]").root == Exists("published")
    root = parse_query('published:["2025-01-01T00:00:00+05:00" TO now/d}').root
    assert root.low.anchor == datetime(2024, 12, 31, 19, tzinfo=UTC) and not root.include_high


def test_highlight_terms():
    query = parse_query('"Reko Diq" miner* -gold title:(copper OR Reko-Diq) countries:PK NOT (a b)')
    assert highlight_terms(query) == ["reko diq", "miner*", "copper"]
    assert highlight_terms(parse_query("topics:x")) == []


@pytest.mark.parametrize("text_, message", [
    ("foo:bar", "unknown field 'foo' at position 0"),
    ("gold AND scores:1", "unknown field 'scores'"),
    ("_exists_:nope", "unknown field 'nope'"),
    ("(gold", "unbalanced"),
    ("gold)", "unexpected ')' at position 4"),
    ('"gold', "unclosed quote at position 0"),
    ("gold \\", "dangling escape"),
    ("gold &&", "unexpected end"),
    ("gold && && x", "at position 8"),
    ("mi*er", "only a trailing *"),
    ("min?", "only a trailing *"),
    ("rare-*", "must directly follow a letter or digit"),
    ("gold~", "fuzzy search"),
    ("gold~2", "fuzzy search"),
    ("/go.d/", "regular expressions"),
    ("title:[a TO b]", "field 'title' is text"),
    ("countries:[a TO b]", "field 'countries' is keyword"),
    ("[1 TO 2]", "a range needs a field"),
    ("scores.x:[2 TO 1]", "empty range"),
    ("published:[2025-02-01 TO 2025-01-01]", "empty range"),
    ("published:yesterday", "field 'published': not a date: 'yesterday'"),
    ("published:now-7x", "bad date math"),
    ("published:2025-13", "invalid month"),
    ("published:now-999999y", "too large"),
    ("scores.x:high", "field 'scores.x': not a number: 'high'"),
    ("scores.x:nan", "not a number"),
    ('topics:"a b"~2', "only applies to text fields"),
    ('"a b"~1.5', "must be followed by a number"),
    ('"a b"~100001', "too large"),
    ("title:(body:x)", "field 'body' inside field 'title'"),
    ("published:2025-01-01T10:00:00+05:00", "inside field 'published'"),
    ("*:gold", "only *:* is allowed"),
    ("&", "nothing searchable"),
    ("gold 'x", "unexpected character \"'\""),
    ("AND", "unexpected 'AND'"),
    ("(" * 3000 + "a" + ")" * 3000, "nested more than 64 levels"),
    ("a AND (b OR (" * 40 + "c" + "))" * 40, "nested more than 64 levels"),
])
def test_errors_are_one_line_user_errors(text_, message):
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text_)
    assert isinstance(caught.value, UserInputError)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("invalid query")
