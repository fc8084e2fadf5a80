"""How newsmon's documents, queries and index layout map onto Elasticsearch: pure functions, no client.

:mod:`pipeline.transport.elasticsearch_index` does the I/O; everything it sends is built here, so it
can be tested without a server.

Index layout
    One index per calendar month of ``@timestamp`` (``<alias>-YYYY.MM``), every one of them behind
    the read alias ``<alias>`` (default ``newsmon-items``) through the index template. ``@timestamp``
    is ``published``, else ``fetched_at``, both fixed when the producer first publishes the item, so
    replays and reprocessing of an item keep its month and its document ``_id`` (the item id) lands in
    the same index. The writer also looks ids up through the alias before writing and keeps an item in
    the index where it already is, which covers the rare re-publication with another month.

Text analysis
    The embedded index tokenises with SQLite FTS5 ``unicode61 remove_diacritics 2``; Elasticsearch's
    ``standard`` analyzer does not split ``Pakistan’s`` or ``3.5`` and keeps diacritics, and the
    analyzers that could imitate FTS5 (``pattern``, ``asciifolding``) live in the ``analysis-common``
    module, which the test node does not have. So the writer stores, next to ``title``, ``summary``
    and ``body`` (``standard``, for people searching in Kibana), the FTS5 tokens of each in
    ``fts.title``, ``fts.summary`` and ``fts.body`` (``whitespace`` analyzer, present in every
    distribution), made by :func:`pipeline.query.analysis.token_text` (the tokens separated by runs of
    spaces, which the whitespace analyzer splits back into exactly :func:`~pipeline.query.analysis.tokens`,
    cutting only tokens over 255 characters), and newsmon's own search runs on those. Both backends
    then see the same tokens at the same positions.

Empty values
    A text, keyword or date value that is ``""`` or null is left out of the Elasticsearch document,
    and keyword lists lose their empty entries, because Elasticsearch counts an empty string as a
    value (``_exists_``) and the embedded index does not. Reading a document back restores the item's
    shape (:func:`from_source`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import ConfigError, SchemaError
from pipeline.fields import TEXT_FIELDS
from pipeline.item import ClassifiedItem, parse_time
from pipeline.query import Query, to_elasticsearch
from pipeline.query.analysis import token_text
from pipeline.query.ast import positive_text_leaves
from pipeline.query.datemath import format_bound
from pipeline.transport.base import ENTITY_FIELDS, SearchFilters

__all__ = [
    "TEMPLATE_FILE", "parse_hosts", "monthly_index", "load_template", "to_source", "from_source",
    "use_fts_fields", "query_clause", "search_body",
]

TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "deploy" / "elasticsearch" / "newsmon-items.template.json"
_DERIVED = "fts"  # the object holding the FTS5 tokens of the text fields
_TEXT_QUERIES = ("match_phrase", "match_phrase_prefix", "prefix", "wildcard", "fuzzy", "regexp")  # keyed by field

Json = dict[str, Any]


def parse_hosts(url: str) -> list[str]:
    """``http://es1:9200,es2:9200`` → ``["http://es1:9200", "http://es2:9200"]``; credentials in the
    URL are refused (they belong in the environment)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
        raise ConfigError(f"index: expected http(s)://host:port[,host:port...], got {url!r}")
    hosts = []
    for part in rest.split(","):
        host = f"{scheme.lower()}://{part.strip()}".rstrip("/")
        split = urlsplit(host)
        if split.username or split.password:
            raise ConfigError("index: credentials in the URL are refused: set NEWSMON_ES_API_KEY, or"
                              " NEWSMON_ES_USERNAME and NEWSMON_ES_PASSWORD")
        if not split.hostname:
            raise ConfigError(f"index: {part.strip()!r} in {url!r} is not host:port")
        try:
            _ = split.port  # parsed on access: ValueError when not a number in 0-65535
        except ValueError:
            raise ConfigError(f"index: bad port in {part.strip()!r}") from None
        hosts.append(host)
    return hosts


def monthly_index(alias: str, timestamp: str | None) -> str:
    """The index an item belongs in by its ``@timestamp``: ``newsmon-items-2026.01``."""
    if not timestamp:
        raise SchemaError("field '@timestamp': required to choose the monthly index")
    moment = parse_time(timestamp, "@timestamp")
    return f"{alias}-{moment.year:04d}.{moment.month:02d}"


def load_template(path: Path, alias: str, shards: int, replicas: int) -> Json:
    """The index template file, pointed at ``<alias>-*`` with the alias and the configured sizes."""
    try:
        template = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the index template (elasticsearch.template_file): {exc}") from None
    template["index_patterns"] = [f"{alias}-*"]
    body = template.setdefault("template", {})
    body["aliases"] = {alias: {}}
    index_settings = body.setdefault("settings", {}).setdefault("index", {})
    index_settings.update({"number_of_shards": shards, "number_of_replicas": replicas})
    return template


def _pruned(value: Any) -> Any:
    """The value without empty strings and nulls, in dicts and lists at any depth (scalars and empty
    containers are taken as they are, which is most of a document)."""
    if isinstance(value, dict):
        return {k: _pruned(v) if v and isinstance(v, (dict, list)) else v
                for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_pruned(v) if v and isinstance(v, (dict, list)) else v for v in value if v is not None and v != ""]
    return value


def _with_point(location: Any) -> Any:
    if isinstance(location, dict) and "lat" in location and "lon" in location:
        return {**location, "point": {"lat": location["lat"], "lon": location["lon"]}}
    return location


def to_source(doc: Json) -> Json:
    """The Elasticsearch ``_source`` of an index document: empties left out, ``fts.*`` tokens and
    ``locations[].point`` (geo_point) added."""
    source = _pruned(doc)
    fts = {name: token_text(doc[name]) for name in TEXT_FIELDS
           if isinstance(doc.get(name), str) and doc[name] != ""}
    if fts:
        source[_DERIVED] = fts
    if isinstance(source.get("locations"), list):
        source["locations"] = [_with_point(loc) for loc in source["locations"]]
    return source


def from_source(source: Json) -> Json:
    """The index document as written, from an Elasticsearch ``_source``."""
    doc = {k: v for k, v in source.items() if k != _DERIVED}
    if isinstance(doc.get("locations"), list):
        doc["locations"] = [{k: v for k, v in loc.items() if k != "point"} if isinstance(loc, dict) else loc
                            for loc in doc["locations"]]
    try:
        restored = ClassifiedItem.from_dict(doc).to_dict()
    except (SchemaError, TypeError, ValueError):
        return doc  # not written by the indexer: return it as stored
    restored.update({k: doc[k] for k in ("@timestamp", "indexed_at") if k in doc})
    return restored


def _fts(name: str) -> str:
    return f"{_DERIVED}.{name}" if name in TEXT_FIELDS else name


def use_fts_fields(clause: Any) -> Any:
    """A Query DSL clause from :func:`pipeline.query.to_elasticsearch` with its text clauses (and
    ``exists`` on text fields) moved to the ``fts.*`` fields."""
    if isinstance(clause, list):
        return [use_fts_fields(c) for c in clause]
    if not isinstance(clause, dict):
        return clause
    out: Json = {}
    for key, value in clause.items():
        if key in _TEXT_QUERIES and isinstance(value, dict):
            out[key] = {_fts(name): options for name, options in value.items()}
        elif key == "multi_match":
            out[key] = {**value, "fields": [_fts(name) for name in value["fields"]]}
        elif key == "exists":
            out[key] = {**value, "field": _fts(value["field"])}
        else:
            out[key] = use_fts_fields(value)
    return out


def _ceil_millis(moment: datetime) -> str:
    """The moment rounded up to the millisecond: Elasticsearch dates have millisecond resolution, so
    for a stored time t, ``t >= m`` and ``t < m`` hold exactly when they hold for the rounded-up m."""
    moment = moment.astimezone(UTC)
    if moment.microsecond % 1000:
        moment += timedelta(microseconds=1000 - moment.microsecond % 1000)
    return format_bound(moment)


def _filters(filters: SearchFilters) -> list[Json]:
    clauses: list[Json] = []
    for field, values in (("topics", filters.topics), ("countries", filters.countries), ("source", filters.sources)):
        if values:
            clauses.append({"terms": {field: [v.lower() for v in values]}})
    if filters.entities:
        wanted = [v.lower() for v in filters.entities]
        clauses.append({"bool": {"should": [{"terms": {field: wanted}} for field in ENTITY_FIELDS],
                                 "minimum_should_match": 1}})
    window: Json = {}
    if filters.since is not None:
        window["gte"] = _ceil_millis(filters.since)
    if filters.until is not None:
        window["lt"] = _ceil_millis(filters.until)
    if window:
        clauses.append({"range": {"@timestamp": {**window, "format": "strict_date_optional_time"}}})
    return clauses


def query_clause(query: Query, filters: SearchFilters, now: datetime) -> Json:
    """The ``query`` of a request: the translated query (text on ``fts.*``) under the filters."""
    return {"bool": {"must": [use_fts_fields(to_elasticsearch(query, now))], "filter": _filters(filters)}}


def search_body(query: Query, filters: SearchFilters, now: datetime, *, limit: int, offset: int,
                sort: str) -> Json:
    """The search request: the translated query, the filters, and the sort (``relevance`` is bm25
    then newest when the query has positive text clauses, else newest, as the embedded index does)."""
    ranked = sort == "relevance" and bool(positive_text_leaves(query.root))
    order: list[Any] = ["_score"] if ranked else []
    order += [{"@timestamp": {"order": "desc"}}, {"id": {"order": "desc"}}]
    return {
        "query": query_clause(query, filters, now),
        "from": offset, "size": limit, "sort": order, "track_total_hits": True,
    }
