"""The Elasticsearch document shape, index layout, query rewriting and template, without a server."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timezone

import pytest

from pipeline.document import index_document
from pipeline.errors import ConfigError, SchemaError
from pipeline.fields import DATE_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS
from pipeline.item import ClassifiedItem, Location
from pipeline.query import parse_query
from pipeline.query.analysis import tokens
from pipeline.settings import load_settings
from pipeline.transport.base import SearchFilters
from pipeline.transport.elasticsearch_mapping import (
    TEMPLATE_FILE,
    from_source,
    load_template,
    monthly_index,
    parse_hosts,
    search_body,
    to_source,
    use_fts_fields,
)
from tests.factories import make_classified

NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)


def doc(**overrides) -> dict:
    values = dict(title="Pakistan’s café: rare-earth deal", summary="", body=None, guid="",
                  topics=("counterterrorism",), scores={"counterterrorism": 0.9}, countries=("PK",),
                  locations=(Location("Quetta", 30.18, 67.0, "PK"),), authors=("", "A. Writer"))
    values.update(overrides)
    return index_document(make_classified(**values), NOW)


@pytest.mark.parametrize("url, hosts", [
    ("http://es:9200", ["http://es:9200"]),
    ("https://es1:9200,es2:9201/", ["https://es1:9200", "https://es2:9201"]),
    ("HTTP://127.0.0.1:19200", ["http://127.0.0.1:19200"]),
], ids=["one", "several-https", "case"])
def test_hosts_come_from_the_index_url(url, hosts):
    assert parse_hosts(url) == hosts


@pytest.mark.parametrize("url, message", [
    ("http://user:secret@es:9200", "credentials in the URL"),
    ("http://", r"expected http\(s\)://"),
    ("http://es:port", "bad port"),
], ids=["credentials", "empty", "port"])
def test_bad_index_urls_are_config_errors(url, message):
    with pytest.raises(ConfigError, match=message):
        parse_hosts(url)


def test_the_monthly_index_follows_the_timestamp():
    assert monthly_index("newsmon-items", "2026-01-31T23:59:59Z") == "newsmon-items-2026.01"
    assert monthly_index("newsmon-items", "2026-02-01T00:00:00Z") == "newsmon-items-2026.02"
    with pytest.raises(SchemaError):
        monthly_index("newsmon-items", None)


def test_the_token_fields_split_on_spaces_into_the_embedded_index_s_tokens():
    texts = {"title": "US-Pakistan “rare-earth” deal — 3.5%", "summary": "e\u0301te\u0301 İstanbul ǖ; Straße…",
             "body": "Ελληνικά ΆΛΦΑ\u00a0Йошкар-Ола 😀 x\u2066y"}
    source = to_source(doc(**texts))
    assert set(source["fts"]) == set(texts)
    for name, text in texts.items():
        assert [word for word in source["fts"][name].split(" ") if word] == tokens(text)  # only spaces between
        assert source["fts"][name].split() == tokens(text)  # what the whitespace analyzer sees


def test_the_source_leaves_out_empties_and_adds_tokens_and_points():
    source = to_source(doc())
    assert "summary" not in source and "body" not in source and "guid" not in source
    assert "classified_at" not in source  # "" is not a date
    assert source["authors"] == ["A. Writer"]
    assert set(source["fts"]) == {"title"}
    assert source["fts"]["title"].split() == ["pakistan", "s", "cafe", "rare", "earth", "deal"]
    assert source["locations"][0]["point"] == {"lat": 30.18, "lon": 67.0}


def test_empties_are_left_out_at_any_depth_and_zeros_kept():
    source = to_source({"id": "x", "title": "", "body": None, "feed": {"id": "f", "url": "", "title": None},
                        "entities": {"persons": ["", "A", None], "groups": []}, "tags": [],
                        "locations": [{"name": "", "lat": 0.0, "lon": 67.0, "country": None}], "scores": {"a": 0.0}})
    assert source == {"id": "x", "feed": {"id": "f"}, "entities": {"persons": ["A"], "groups": []}, "tags": [],
                      "locations": [{"lat": 0.0, "lon": 67.0, "point": {"lat": 0.0, "lon": 67.0}}], "scores": {"a": 0.0}}


def test_reading_back_restores_the_document_as_written():
    written = doc()
    restored = from_source(json.loads(json.dumps(to_source(written))))
    assert restored == {**written, "authors": ["A. Writer"]}  # an empty author is not a value


def test_text_clauses_move_to_the_token_fields():
    dsl = use_fts_fields({"bool": {"must": [
        {"multi_match": {"query": "reko diq", "fields": list(TEXT_FIELDS), "type": "phrase"}},
        {"prefix": {"title": {"value": "miner"}}},
        {"match_phrase": {"body": {"query": "a b", "slop": 2}}},
        {"exists": {"field": "summary"}},
        {"exists": {"field": "countries"}},
        {"term": {"title": {"value": "not-a-text-clause"}}},
    ]}})
    must = dsl["bool"]["must"]
    assert must[0]["multi_match"]["fields"] == ["fts.title", "fts.summary", "fts.body"]
    assert must[1] == {"prefix": {"fts.title": {"value": "miner"}}}
    assert must[2] == {"match_phrase": {"fts.body": {"query": "a b", "slop": 2}}}
    assert must[3] == {"exists": {"field": "fts.summary"}}
    assert must[4] == {"exists": {"field": "countries"}}
    assert must[5] == {"term": {"title": {"value": "not-a-text-clause"}}}


def test_search_body_filters_and_sorts_like_the_embedded_index():
    since = datetime(2026, 3, 1, 0, 0, 0, 500, tzinfo=UTC)
    body = search_body(parse_query("terrorism"), SearchFilters(topics=("CounterTerrorism",), countries=("PK",),
                                                                sources=("Dawn",), since=since),
                       NOW, limit=5, offset=10, sort="relevance")
    assert body["query"]["bool"]["filter"] == [
        {"terms": {"topics": ["counterterrorism"]}}, {"terms": {"countries": ["pk"]}},
        {"terms": {"source": ["dawn"]}},
        {"range": {"@timestamp": {"gte": "2026-03-01T00:00:00.001Z", "format": "strict_date_optional_time"}}},
    ]
    assert body["sort"][0] == "_score" and (body["from"], body["size"]) == (10, 5)
    assert search_body(parse_query("topics:counterterrorism"), SearchFilters(), NOW, limit=5, offset=0,
                       sort="relevance")["sort"][0] == {"@timestamp": {"order": "desc"}}
    assert search_body(parse_query("terrorism"), SearchFilters(), NOW, limit=5, offset=0,
                       sort="newest")["sort"][0] == {"@timestamp": {"order": "desc"}}


def _mapped(properties: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for name, spec in properties.items():
        if "properties" in spec:
            out.update(_mapped(spec["properties"], f"{prefix}{name}."))
        out[f"{prefix}{name}"] = spec.get("type", "object")
    return out


def test_the_template_maps_every_field_of_the_index_document():
    template = load_template(TEMPLATE_FILE, "my-items", 3, 0)
    assert template["index_patterns"] == ["my-items-*"] and template["template"]["aliases"] == {"my-items": {}}
    assert template["template"]["settings"]["index"]["number_of_shards"] == 3
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    mapped = _mapped(mappings["properties"])
    for name in TEXT_FIELDS:
        assert mapped[name] == "text" and mapped[f"fts.{name}"] == "text"
    for name in KEYWORD_FIELDS:
        assert mapped[name] == "keyword", name
    for name in DATE_FIELDS:
        assert mapped[name] == "date", name
    assert mapped["locations.point"] == "geo_point"
    top_level = {f.name for f in fields(ClassifiedItem)} | {"@timestamp", "indexed_at"}
    assert top_level <= set(mappings["properties"])
    templates = {next(iter(t)): next(iter(t.values())) for t in mappings["dynamic_templates"]}
    assert templates["scores"] == {"path_match": "scores.*", "mapping": {"type": "float"}}


def test_elasticsearch_settings_and_secrets_from_the_environment():
    settings = load_settings(None, {"NEWSMON_ELASTICSEARCH_ALIAS": "news-items", "NEWSMON_ES_API_KEY": "s3cr3t-key",
                                    "NEWSMON_ELASTICSEARCH_BULK_DOCS": "200"})
    assert (settings.elasticsearch.alias, settings.elasticsearch.api_key, settings.elasticsearch.bulk_docs) == (
        "news-items", "s3cr3t-key", 200)
    assert "s3cr3t-key" not in repr(settings)
    with pytest.raises(ConfigError, match=r"elasticsearch\.alias"):
        load_settings(None, {"NEWSMON_ELASTICSEARCH_ALIAS": "Bad Name"})
    with pytest.raises(ConfigError, match="not both"):
        load_settings(None, {"NEWSMON_ES_API_KEY": "k", "NEWSMON_ES_USERNAME": "u", "NEWSMON_ES_PASSWORD": "p"})


def test_an_api_key_in_the_file_is_refused(tmp_path):
    config = tmp_path / "newsmon.yaml"
    config.write_text("index: http://es:9200\nelasticsearch: {api_key: abc}\n")
    with pytest.raises(ConfigError, match="only from the environment"):
        load_settings(config, {})
