"""Facets and story histograms on Elasticsearch: request bodies and answers (pure functions, no client).

Facets are ``terms`` aggregations ordered by document count, then key. They count the ``.raw``
sub-field (the value as written) where the template has one, so values come back in their original
case; ``topics`` has no ``.raw``, so topic names come back lower-cased. A terms aggregation over
several shards (one per monthly index by default) is exact while each shard holds at most
``FACET_SHARD_SIZE`` distinct values of the field, and approximate beyond: a value then misses the
documents it has in the shards where it is not among the 500 most frequent (a long-tail value there,
a few documents per month). Measured at a million documents over 14 monthly indices, 5,000 per shard
made the search page's request about a quarter slower, for counts the page shows to ten values.

Histograms are a ``date_histogram`` on ``@timestamp`` (UTC, calendar hour, day or ISO week from
Monday); in each bucket, and per topic under a ``terms`` on ``topics``, the stories are a
``cardinality`` of ``story_id`` plus the number of documents without one (each its own story: no
script is needed, and clusters without the scripting module can run it). ``cardinality`` is exact
in practice up to its ``precision_threshold`` (``STORY_PRECISION``, 10,000 stories per bucket) and
an estimate (HyperLogLog++) above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.query import Query
from pipeline.transport.base import FACET_FIELDS, SearchFilters
from pipeline.transport.elasticsearch_mapping import query_clause

__all__ = ["FACET_SHARD_SIZE", "STORY_PRECISION", "facets_body", "read_facets", "histogram_body", "read_histogram"]

Json = dict[str, Any]

FACET_SHARD_SIZE = 500
STORY_PRECISION = 10_000
_MAX_TOPICS = 1000  # topic buckets per histogram bucket: far more than any configuration defines
_AGGREGATED = {name: name if name == "topics" else f"{name}.raw" for name in FACET_FIELDS}


def _terms(field: str, size: int) -> Json:
    return {"terms": {"field": field, "size": size, "shard_size": max(FACET_SHARD_SIZE, size),
                      "order": [{"_count": "desc"}, {"_key": "asc"}]}}


def facets_body(query: Query, filters: SearchFilters, now: datetime, fields: Sequence[str], size: int) -> Json:
    """One request counting every field of ``fields`` (checked by the caller) over the matching documents."""
    return {
        "query": query_clause(query, filters, now), "size": 0, "track_total_hits": False,
        "aggs": {f"facet_{i}": _terms(_AGGREGATED[name], size) for i, name in enumerate(fields)},
    }


def read_facets(response: Json, fields: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """The answer as (value, count) lists; no ``aggregations`` at all when no index exists yet."""
    aggregations = response.get("aggregations") or {}
    buckets = {name: (aggregations.get(f"facet_{i}") or {}).get("buckets", []) for i, name in enumerate(fields)}
    return {name: [(str(b["key"]), int(b["doc_count"])) for b in found] for name, found in buckets.items()}


def _stories() -> Json:
    """Distinct ``story_id`` values, plus the documents without one (each a story of its own)."""
    return {"stories": {"cardinality": {"field": "story_id", "precision_threshold": STORY_PRECISION}},
            "unclustered": {"missing": {"field": "story_id"}}}


def _count(bucket: Json) -> int:
    return int(bucket["stories"]["value"]) + int(bucket["unclustered"]["doc_count"])


def histogram_body(query: Query, filters: SearchFilters, now: datetime, interval: str) -> Json:
    """Distinct stories per ``interval`` (``hour``, ``day`` or ``week``, checked by the caller) in all
    and per topic, over the matching documents."""
    return {
        "query": query_clause(query, filters, now), "size": 0, "track_total_hits": False,
        "aggs": {"buckets": {
            "date_histogram": {"field": "@timestamp", "calendar_interval": interval, "time_zone": "UTC",
                               "min_doc_count": 1},
            "aggs": {**_stories(), "topics": {"terms": {"field": "topics", "size": _MAX_TOPICS}, "aggs": _stories()}},
        }},
    }


def read_histogram(response: Json) -> list[tuple[datetime, dict[str, int]]]:
    buckets = ((response.get("aggregations") or {}).get("buckets") or {}).get("buckets") or []
    out = []
    for bucket in buckets:
        counts = {"all": _count(bucket)}
        counts.update((str(t["key"]), _count(t)) for t in bucket["topics"]["buckets"])
        out.append((datetime.fromtimestamp(bucket["key"] / 1000, UTC), counts))
    return out
