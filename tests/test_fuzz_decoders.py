"""Property tests over every decoder a foreign producer or a user can reach.

The property is the same for each: any input gives a value or the decoder's documented, typed error
(:class:`SchemaError` for items, :class:`FeedParseError` for feeds, :class:`QuerySyntaxError` — a
:class:`UserInputError` — for queries, :class:`ConfigError` for settings), never another exception.
Each test is bounded (at most 200 examples, no deadline) so the file runs in about ten seconds.
Each crash these tests found is kept as a plain test of its input (``FOUND_ITEM_CRASHES``).
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newsmon.commands.logtools import _letter, _replay_target
from pipeline.dead_letter import original_value
from pipeline.errors import ConfigError, SchemaError, UserInputError
from pipeline.item import ClassifiedItem, RawItem, decode_json
from pipeline.query import Query, parse_query
from pipeline.settings import Settings, section_keys, settings_from_mapping, top_level_keys
from pipeline.transport.base import Record
from producers.parse import FeedParseError, ParsedFeed, parse_feed
from tests.factories import make_classified, make_raw

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEEDS = Path(__file__).parent / "fixtures" / "feeds"
FEED_FIXTURES = sorted(p.name for p in FEEDS.iterdir() if p.stat().st_size < 64 * 1024)

# ---------------------------------------------------------------------------------------------- values

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# strings a JSON producer can send but Python code rarely expects: lone surrogates, NUL, huge ones
odd_strings = st.sampled_from(["", " ", "\x00", "\ud800", "x\udfff", "é" * 300, "2026-13-45T99:99:99Z", "Z",
                               "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2026-01-02"])
field_values = json_values | odd_strings | st.integers(min_value=10**300, max_value=10**310)


def mutated(base: dict[str, Any], names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with some of ``names`` replaced by arbitrary JSON values or removed."""
    changes = st.dictionaries(st.sampled_from(names), field_values | st.just(_REMOVE), max_size=4)
    return changes.map(lambda c: {k: v for k, v in {**base, **c}.items() if v is not _REMOVE})


_REMOVE = object()
RAW = make_raw().to_dict()
CLASSIFIED = make_classified(topics=("energy",), scores={"energy": 0.9}, evidence={"energy": ["oil"]},
                             countries=("PK",)).to_dict()


def decodes_or_schema_error(decode: Any, data: bytes | str) -> None:
    """``decode(data)`` returns, or raises SchemaError with a message; nothing else."""
    try:
        decode(data)
    except SchemaError as exc:
        assert str(exc)


def decode_raw(data: bytes | str) -> RawItem:
    """What the classifier does with a ``newsmon.raw`` record."""
    return RawItem.from_dict(decode_json(data, "newsmon.raw offset 1"))


def decode_classified(data: bytes | str) -> ClassifiedItem:
    """What the indexer and the alerter do with a ``newsmon.classified`` record."""
    return ClassifiedItem.from_dict(decode_json(data, "newsmon.classified offset 1"))


# ------------------------------------------------------------------------------------------- items

@BOUNDED
@given(data=st.binary(max_size=200))
def test_decode_json_of_arbitrary_bytes_gives_an_object_or_a_schema_error(data):
    decodes_or_schema_error(decode_json, data)


@pytest.mark.parametrize("data", [
    pytest.param(b"1" * 4301, id="4301-digit-integer"),  # int max_str_digits: a ValueError in json.loads
    pytest.param(b"[" * 100_000, id="nested-100000"),  # a RecursionError in json.loads
])
def test_decode_json_of_hostile_json_gives_a_schema_error(data):
    with pytest.raises(SchemaError, match="invalid JSON"):
        decode_json(data)


@BOUNDED
@given(item=mutated(RAW, sorted(RAW)), feed=mutated(RAW["feed"], ["id", "url", "title"]))
def test_raw_item_with_arbitrary_field_values_decodes_or_gives_a_schema_error(item, feed):
    if isinstance(item.get("feed"), dict):
        item["feed"] = feed
    decodes_or_schema_error(decode_raw, json.dumps(item).encode("ascii"))


@BOUNDED
@given(item=mutated(CLASSIFIED, sorted(CLASSIFIED)))
def test_classified_item_with_arbitrary_field_values_decodes_or_gives_a_schema_error(item):
    decodes_or_schema_error(decode_classified, json.dumps(item).encode("ascii"))


# inputs the fuzzing above found crashing the decoders before they were fixed
FOUND_ITEM_CRASHES = [
    pytest.param({**RAW, "id": "\ud800"}, "field 'id'", id="id-lone-surrogate"),
    pytest.param({**RAW, "fetched_at": "9999-12-31T23:59:59-01:00"}, "field 'fetched_at'", id="fetched-at-overflow"),
    pytest.param({**CLASSIFIED, "scores": {"energy": 10**400}}, "field 'scores'", id="score-overflow"),
    pytest.param({**CLASSIFIED, "evidence": {"energy": 5}}, "field 'evidence'", id="evidence-not-a-list"),
    pytest.param({**CLASSIFIED, "entities": {"persons": 5}}, "field 'entities'", id="entities-not-a-list"),
]


@pytest.mark.parametrize("item, field", FOUND_ITEM_CRASHES)
def test_a_found_crash_is_a_schema_error_naming_the_field(item, field):
    decode = decode_classified if "scores" in item else decode_raw
    with pytest.raises(SchemaError, match=field):
        decode(json.dumps(item).encode("ascii"))


# ------------------------------------------------------------------------------------------- feeds

CONTENT_TYPES = st.sampled_from([None, "application/rss+xml", "application/atom+xml", "application/json",
                                 "application/feed+json", "text/html", "text/xml; charset=utf-16",
                                 "text/xml; charset=bogus-encoding", "text/plain; charset=windows-1252"])


@st.composite
def mutated_feed(draw: st.DrawFn) -> bytes:
    """A real feed fixture with a few random edits: cut, insert, overwrite or duplicate a slice."""
    body = bytearray((FEEDS / draw(st.sampled_from(FEED_FIXTURES))).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(body)))
        end = draw(st.integers(start, min(len(body), start + 64)))
        edit = draw(st.sampled_from(["cut", "insert", "overwrite", "duplicate", "truncate"]))
        junk = draw(st.binary(min_size=1, max_size=16) | st.sampled_from(
            [b"<", b">", b"&", b"&#0;", b"&#xD800;", b"]]>", b"<![CDATA[", b"\xff\xfe", b"\x00", b'"', b"{", b"}"]))
        if edit == "cut":
            del body[start:end]
        elif edit == "insert":
            body[start:start] = junk
        elif edit == "overwrite":
            body[start:end] = junk
        elif edit == "duplicate":
            body[start:start] = body[start:end]
        else:
            del body[start:]
    return bytes(body)


def parses_or_feed_error(body: bytes, content_type: str | None) -> None:
    """``parse_feed`` returns a ParsedFeed or raises FeedParseError with a reason; nothing else."""
    try:
        parsed = parse_feed(body, url="https://fuzz.example/feed", content_type=content_type)
    except FeedParseError as exc:
        assert str(exc)
    else:
        assert isinstance(parsed, ParsedFeed)


@BOUNDED
@given(body=st.binary(max_size=300), content_type=CONTENT_TYPES)
def test_parse_feed_of_arbitrary_bytes_gives_a_feed_or_a_feed_parse_error(body, content_type):
    parses_or_feed_error(body, content_type)


@BOUNDED
@given(body=mutated_feed(), content_type=CONTENT_TYPES)
def test_parse_feed_of_mutated_real_feeds_gives_a_feed_or_a_feed_parse_error(body, content_type):
    parses_or_feed_error(body, content_type)


# ----------------------------------------------------------------------------------------- queries

QUERY_TOKENS = st.sampled_from([
    "AND", "OR", "NOT", "&&", "||", "!", "+", "-", "(", ")", '"', "\\", "*", "?", "~", "~2", "~99999999999",
    "^", "^2", "^x", ":", "[", "]", "{", "}", " TO ", "/", "/re/", ">", ">=", "<", "<=", "=", "title:",
    "summary:", "body:", "topics:", "source:", "countries:", "published:", "fetched_at:", "scores.energy:",
    "_exists_:", "*:*", "unknown:", "now", "now-7d", "now/d", "||+1M", "2025-01-01", "2025-13-99",
    "1e309", "-1", "0", "NaN", "oil", "rare-earth", "Pakistan’s", "é", "ß", "\x00", "\ud800", "𝔘", " ", "  ",
])
token_soups = st.lists(QUERY_TOKENS, max_size=12).flatmap(
    lambda tokens: st.sampled_from(["", " "]).map(lambda sep: sep.join(tokens)))


def parses_or_query_error(text: str) -> None:
    """``parse_query`` returns a Query or raises QuerySyntaxError (a UserInputError); nothing else."""
    try:
        query = parse_query(text)
    except UserInputError as exc:
        assert str(exc)
    else:
        assert isinstance(query, Query)


@BOUNDED
@given(text=st.text(max_size=60))
def test_parse_query_of_arbitrary_text_gives_a_query_or_a_syntax_error(text):
    parses_or_query_error(text)


@BOUNDED
@given(text=token_soups)
def test_parse_query_of_lucene_token_soups_gives_a_query_or_a_syntax_error(text):
    parses_or_query_error(text)


# ---------------------------------------------------------------------------------------- settings

SECTION_KEYS = section_keys()
TOP_KEYS = [k for k in top_level_keys() if k != "rules_dir"]  # rules_dir would read directories from disk
yaml_scalars = (st.none() | st.booleans() | st.integers(-(10**6), 10**20) | st.floats() | st.text(max_size=12)
                | st.sampled_from(["", "0", "-1", "1s", "5m", "2h", "1e309", "yes", "off", "https://x.example/f",
                                   "sqlite:///:memory:", "kafka://localhost:1", "PK", "nan"]))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def section_value(name: str) -> st.SearchStrategy[Any]:
    """A value for the top-level key ``name``: mostly a mapping of that section's keys, else anything."""
    keys = SECTION_KEYS.get(name)
    if name == "feeds":
        keys = SECTION_KEYS["feeds[]"]
        feed = st.dictionaries(st.sampled_from(keys), yaml_values, max_size=len(keys))
        return st.lists(feed, max_size=3) | yaml_values
    if name == "rules":
        rule = st.dictionaries(st.sampled_from(["name", "query", "topics", "min_score", "countries", "severity",
                                                "realert", "digest", "enabled", "actions", "entities"]),
                               yaml_values, max_size=5)
        return st.lists(rule, max_size=2) | yaml_values
    if keys:
        return st.dictionaries(st.sampled_from(keys), yaml_values, max_size=4) | yaml_values
    return yaml_values


configs = st.lists(st.sampled_from(TOP_KEYS), unique=True, max_size=5).flatmap(
    lambda names: st.fixed_dictionaries({name: section_value(name) for name in names}))


def loads_or_config_error(raw: Any) -> None:
    """``settings_from_mapping`` returns Settings or raises ConfigError naming the file; nothing else."""
    try:
        loaded = settings_from_mapping(raw, "fuzz.yaml", {})
    except ConfigError as exc:
        assert "fuzz.yaml" in str(exc)
    else:
        assert isinstance(loaded, Settings)


@settings(BOUNDED, max_examples=60)  # a configuration that loads costs ~0.1 s (the built-in topics)
@given(raw=configs)
def test_settings_from_yaml_like_mappings_give_settings_or_a_config_error(raw):
    loads_or_config_error(raw)


@BOUNDED
@given(raw=yaml_values | st.dictionaries(st.text(max_size=10), yaml_values, max_size=4))
def test_settings_from_arbitrary_yaml_values_give_settings_or_a_config_error(raw):
    loads_or_config_error(raw)


# ------------------------------------------------------------------------------------ dead letters

@BOUNDED
@given(value=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
       stage=st.none() | st.sampled_from(["classifier", "indexer", "alerter"]))
def test_a_dlq_record_of_any_bytes_is_read_as_a_letter_or_skipped(value, stage):
    target = _replay_target(_letter(Record("newsmon.dlq", 0, 1, "k", value, 0.0)), stage)
    assert target is None or (isinstance(target[0], str) and isinstance(target[1], bytes))


copies = st.one_of(
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
    st.binary(max_size=300).map(lambda b: base64.b64encode(gzip.compress(b)).decode()),
    st.text(max_size=40), json_values)


@BOUNDED
@given(field=st.sampled_from(["value_b64", "value_gzip_b64", "value", "value_omitted"]), copy=copies)
def test_the_original_value_of_any_letter_is_bytes_or_none(field, copy):
    value = original_value({field: copy})
    assert value is None or isinstance(value, bytes)
