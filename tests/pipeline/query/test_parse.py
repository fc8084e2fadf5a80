"""Parsing: Lucene/Kibana syntax to newsmon's immutable AST, and one-line errors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timezone

import pytest

from pipeline.errors import UserInputError
from pipeline.query import QuerySyntaxError, describe, highlight_terms, parse_query
from pipeline.query.ast import Bool, DateRange, Exists, Fuzzy, Keyword, MatchAll, NumberRange, Regexp, Text, Wildcard
from pipeline.query.datemath import resolve
from pipeline.query.parser import lucene_occurs

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
    assert parse_query("NOT a").root == Bool(must_not=(text("a"),))


def test_unparenthesised_and_or_not_are_read_as_lucenes_classic_parser_reads_them():
    """AND makes the clauses on both sides required; OR leaves the one before it as it was; NOT and
    - prohibit (Elasticsearch's query_string gives the same readings, see the integration test)."""
    assert parse_query("a AND b OR c").root == Bool(must=(text("a"), text("b")), should=(text("c"),))
    assert parse_query("a OR b AND c").root == Bool(must=(text("b"), text("c")), should=(text("a"),))
    assert parse_query("Taliban ISIS AND Pakistan").root == Bool(
        must=(text("isis"), text("pakistan")), should=(text("taliban"),))
    assert parse_query("a OR NOT b").root == Bool(should=(text("a"),), must_not=(text("b"),))
    assert parse_query("a AND NOT b OR c").root == Bool(must=(text("a"),), should=(text("c"),), must_not=(text("b"),))
    assert parse_query("NOT a AND b").root == Bool(must=(text("b"),), must_not=(text("a"),))
    assert parse_query("drone OR missile AND strike NOT Iran").root == Bool(
        must=(text("missile"), text("strike")), should=(text("drone"),), must_not=(text("iran"),))
    assert parse_query("(a OR b) AND c").root == Bool(must=(Bool(should=(text("a"), text("b"))), text("c")))
    assert parse_query("a AND (b OR -c)").root == Bool(must=(text("a"), Bool(should=(text("b"),), must_not=(text("c"),))))


def test_lucene_occurs_of_a_level():
    assert lucene_occurs([(None, None), ("OR", None), ("AND", None)]) == ["should", "must", "must"]
    assert lucene_occurs([(None, "-"), ("AND", None)]) == ["must_not", "must"]  # AND never un-prohibits
    assert lucene_occurs([(None, "+"), (None, None), ("OR", None)]) == ["must", "should", "should"]
    assert lucene_occurs([(None, None), ("AND", "-"), ("OR", None)]) == ["must", "must_not", "should"]


def test_symbolic_operators():
    assert parse_query("a && b").root == parse_query("a AND b").root
    assert parse_query("a || b").root == parse_query("a OR b").root
    assert parse_query("!a").root == parse_query("NOT a").root
    assert parse_query("a && !(b || c)").root == parse_query("a AND NOT (b OR c)").root
    assert parse_query('"rock && roll !now"').root == text("rock", "roll", "now")
    assert parse_query("a&&b").root == Bool(should=(text("a"), text("b")))  # a word, not an operator


def test_a_word_the_analyser_splits_is_the_or_of_its_tokens_and_boost_is_ignored():
    assert parse_query("rare-earth").root == Bool(should=(text("rare"), text("earth")))
    assert parse_query("Pakistan’s").root == Bool(should=(text("pakistan"), text("s")))
    assert parse_query("US-Pak*").root == Bool(should=(text("us"), text("pak", prefix=True)))
    assert parse_query('"rare-earth"').root == text("rare", "earth")  # quoted: the phrase
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
    assert highlight_terms(query) == ["reko diq", "miner*", "copper", "reko", "diq"]
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
    ("mi*-er", "must be one word"),
    ("topics:gold~1", "fuzzy search (word~) only applies to text fields"),
    ("rare-*", "must directly follow a letter or digit"),
    ("gold~3", "fuzzy edits must be 0, 1 or 2"),
    ("gold~0.8", "fuzzy edits must be 0, 1 or 2"),
    ("/go&d/", "intersection (&) in regular expressions is not supported"),
    ("/go[d/", "unclosed or empty [ ]"),
    ("published:/20.*/", "only applies to text fields"),
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


def test_multi_term_queries():
    fields = ("title", "summary", "body")
    assert parse_query("*stan").root == Wildcard(fields, "*stan")
    assert parse_query("Kash*r").root == Wildcard(fields, "kash*r")
    assert parse_query("title:nucl?ar").root == Wildcard(("title",), "nucl?ar")
    assert parse_query("Peshāw*r").root == Wildcard(fields, "peshaw*r")  # analysed like a token
    assert parse_query("talib~1").root == Fuzzy(fields, "talib", 1)
    assert [parse_query(q).root.max_edits for q in ("ab~", "talib~", "Taliban~", "Taliban~0")] == [0, 1, 2, 0]
    assert parse_query("/talib[a-z]n/").root == Regexp(fields, "talib[a-z]n")
    as_typed = parse_query("/Talib[a-z]n/")  # not analysed, as in Lucene: it matches no token
    assert as_typed.root == Regexp(fields, "Talib[a-z]n")
    assert as_typed.hints == ("/Talib[a-z]n/ is not analysed and tokens are lower-case without diacritics:"
                              " it can only match as /talib[a-z]n/",)
    assert parse_query("body:/lashk?ar/").root == Regexp(("body",), "lashk?ar")


def test_the_reading_of_a_query_in_lucene_notation_and_the_mixed_operator_trap():
    read = parse_query("Taliban ISIS AND Pakistan")
    assert describe(read.root) == "+isis +pakistan taliban" and read.mixed_operators
    assert read.hints[0].startswith("AND mixed with OR or juxtaposition without parentheses is read as Lucene"
                                    " reads it: +isis +pakistan taliban")
    assert parse_query("(Taliban ISIS) AND Pakistan").hints == ()
    assert describe(parse_query("drone OR missile AND strike NOT Iran").root) == "+missile +strike drone -iran"
    assert describe(parse_query("(a OR b) AND title:c*").root) == "+(a b) +title:c*"
    assert describe(parse_query('"suicide attack"~3 -topics:x').root) == '"suicide attack"~3 -topics:x'
    assert describe(parse_query("published:{2013 TO 2014]").root) == "published:{2013 TO 2014]"
    for clear in ("a AND b AND c", "a OR b OR c", "a b -c", "(a OR b) AND c", "a AND (b OR c)", "x"):
        assert not parse_query(clear).mixed_operators, clear
    for trap in ("a OR b AND c", "a b AND c", "a AND b OR c", "(x) AND (a OR b AND c)"):
        assert parse_query(trap).mixed_operators, trap
