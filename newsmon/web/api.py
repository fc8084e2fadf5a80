"""The JSON API behind the search page: request parameters in, JSON-able dicts out.

Each function takes what it reads through newsmon's Protocols (an :class:`IndexReader`, the
:class:`AlertStore` records, the :class:`FeedStateStore` states) and the request parameters as
parsed from a query string (name -> list of values). A bad parameter or query raises
:class:`UserInputError` (HTTP 400), an unknown story :class:`NotFound` (HTTP 404).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from consumers.alert_store import STATUSES as ALERT_STATUSES
from newsmon.web.present import brief_view, group_stories, item_view
from newsmon.web.verdicts import add_given_by, feedback_facet
from pipeline.errors import UserInputError
from pipeline.item import format_time
from pipeline.query import Query, describe, highlight_terms, parse_query
from pipeline.transport.base import ENTITY_FIELDS, IndexReader, SearchFilters, bucket_start

__all__ = ["NotFound", "SearchRequest", "RANGES", "ENTITY_FIELDS", "parse_search", "search", "story",
           "alerts", "feeds", "health", "fill_buckets"]

Params = Mapping[str, Sequence[str]]
Buckets = list[tuple[datetime, dict[str, int]]]
Feedback = Callable[[], Any] | None  # opens the feedback store (who gave a verdict), or None

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "all": None}
_FACET_FIELDS = {"topics": ("topics",), "countries": ("countries",), "sources": ("source",), "entities": ENTITY_FIELDS}
_FETCH_FACTOR, _FETCH_MIN, _FETCH_MAX = 5, 100, 1000
_STORY_MAX = 500
_STORY_ID = re.compile(r"^[\w:.\-]{1,200}$")


class NotFound(UserInputError):
    """What the request names does not exist (HTTP 404)."""


@dataclass(frozen=True)
class SearchRequest:
    text: str
    query: Query
    filters: SearchFilters
    range: str  # 24h, 7d, 30d, all, or "custom" when from/to are given
    sort: str  # newest or relevance
    limit: int  # stories
    interval: str  # auto, hour, day or week


def _one(params: Params, name: str, default: str = "") -> str:
    values = params.get(name) or []
    return values[-1].strip() if values else default


def _many(params: Params, name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in params.get(name) or [] if v.strip()))


def _number(params: Params, name: str, default: int, low: int, high: int) -> int:
    text = _one(params, name)
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise UserInputError(f"{name}: expected a whole number from {low} to {high}, got {text!r}")
    return int(text)


def _choice(params: Params, name: str, allowed: Sequence[str], default: str) -> str:
    value = _one(params, name, default) or default
    if value not in allowed:
        raise UserInputError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _date(params: Params, name: str, end: bool) -> datetime | None:
    """``from``/``to``: a date (a whole UTC day, ``to`` inclusive) or an ISO date and time."""
    text = _one(params, name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserInputError(f"{name}: expected a date like 2026-01-31, got {text!r}") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    whole_day = re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None
    return moment + timedelta(days=1) if end and whole_day else moment


def _time_range(params: Params, now: datetime) -> tuple[str, datetime | None, datetime | None]:
    since, until = _date(params, "from", end=False), _date(params, "to", end=True)
    if since or until:
        if since and until and since >= until:
            raise UserInputError("from: must be before to")
        return "custom", since, until
    name = _choice(params, "range", tuple(RANGES), "all")
    span = RANGES[name]
    return name, (now - span if span else None), None


def parse_search(params: Params, now: datetime, topics: Sequence[str]) -> SearchRequest:
    """The search request in ``params``: ``q`` (Lucene syntax, as ``newsmon search``), ``topic``,
    ``country``, ``source``, ``entity`` (repeatable), ``range`` or ``from``/``to``, ``sort``, ``limit``,
    ``interval``. Raises UserInputError naming the parameter."""
    text = _one(params, "q")
    query = parse_query(text)  # QuerySyntaxError is a UserInputError
    wanted_topics = _many(params, "topic")
    unknown = [t for t in wanted_topics if t not in topics]
    if unknown:
        raise UserInputError(f"topic: unknown topic {unknown[0]!r} (known: {', '.join(topics)})")
    name, since, until = _time_range(params, now)
    filters = SearchFilters(topics=wanted_topics, countries=tuple(c.upper() for c in _many(params, "country")),
                            sources=_many(params, "source"), entities=_many(params, "entity"),
                            since=since, until=until)
    return SearchRequest(text=text, query=query, filters=filters, range=name,
                         sort=_choice(params, "sort", ("newest", "relevance"), "newest"),
                         limit=_number(params, "limit", 20, 1, 200),
                         interval=_choice(params, "interval", ("auto", "hour", "day", "week"), "auto"))


def _facets(index: IndexReader, request: SearchRequest, now: datetime) -> dict[str, list[list[Any]]]:
    """Top values of each filter field, each counted with every filter but its own (so the other
    values of a field stay selectable). Groups whose filters come out the same (every group without a
    filter of its own) share one request."""
    by_filters: dict[SearchFilters, list[str]] = {}
    for name in _FACET_FIELDS:
        cleared: dict[str, Any] = {name: ()}
        by_filters.setdefault(replace(request.filters, **cleared), []).append(name)
    groups = list(by_filters.items())
    answers = _gather(index, [partial(index.facets, request.query, filters, _fields_of(names), size=15, now=now)
                              for filters, names in groups])
    out = {name: _merged(found, _FACET_FIELDS[name]) for (_, names), found in zip(groups, answers) for name in names}
    return {name: out[name] for name in _FACET_FIELDS}


def _fields_of(names: Sequence[str]) -> list[str]:
    return [field for name in names for field in _FACET_FIELDS[name]]


def _gather(index: IndexReader, calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Each call's answer, in order: from threads at once when the index takes concurrent reads (an
    Elasticsearch request then waits for the slowest, not for the sum), else one after the other."""
    if len(calls) < 2 or not index.concurrent_reads:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="newsmon-read") as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def _merged(found: Mapping[str, Sequence[tuple[str, int]]], fields: Sequence[str]) -> list[list[Any]]:
    """The top 15 values over ``fields`` (a value in several of them counted once, at its highest)."""
    merged: dict[str, int] = {}
    for field in fields:
        for value, count in found.get(field, []):
            merged[value] = max(merged.get(value, 0), count)
    ranked = sorted(merged.items(), key=lambda pair: (-pair[1], pair[0].casefold()))[:15]
    return [[value, count] for value, count in ranked]


def _interval(request: SearchRequest, now: datetime) -> str:
    if request.interval != "auto":
        return request.interval
    since = request.filters.since
    if since is None:
        return "day"
    span = (request.filters.until or now) - since
    return "hour" if span <= timedelta(days=2) else "day" if span <= timedelta(days=120) else "week"


_STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
_MAX_BUCKETS = 500


def _axis_end(buckets: Sequence[tuple[datetime, dict[str, int]]], interval: str, since: datetime | None,
              until: datetime | None, now: datetime) -> datetime:
    """The start of the last bucket on the axis: the one holding ``until`` (at most now) for a range
    that ends, now for one that only starts, else (all time) the last bucket with documents."""
    if until:
        end = bucket_start(min(until - timedelta(microseconds=1), now), interval)
    elif since:
        end = bucket_start(now, interval)
    else:
        return buckets[-1][0]
    return max(end, buckets[-1][0]) if buckets else end


def fill_buckets(buckets: Sequence[tuple[datetime, dict[str, int]]], interval: str, since: datetime | None,
                 until: datetime | None, now: datetime) -> list[tuple[datetime, dict[str, int]]]:
    """The index's non-empty buckets with the empty ones put back, so the bars stand on a true time
    axis: over the requested range (from ``since`` to ``until`` or now), and without one ("all time")
    from the first to the last bucket with documents; unchanged when that would make more than 500
    buckets."""
    if not buckets and since is None:
        return list(buckets)
    step = _STEPS[interval]
    first = bucket_start(since, interval) if since else buckets[0][0]
    last = _axis_end(buckets, interval, since, until, now)
    if last < first or (last - first) / step >= _MAX_BUCKETS:
        return list(buckets)
    found = {start: counts for start, counts in buckets}
    filled, moment = [], first
    while moment <= last:
        filled.append((moment, found.get(moment, {"all": 0})))
        moment += step
    return filled


def _histogram(index: IndexReader, request: SearchRequest, now: datetime) -> dict[str, Any]:
    if request.interval == "auto" and request.filters.since is None:
        interval, buckets = _fitted_to_the_data(index, request, now)
    else:
        interval = _interval(request, now)
        buckets = index.histogram(request.query, request.filters, interval=interval, now=now)
    filled = fill_buckets(buckets, interval, request.filters.since, request.filters.until, now)
    return {"interval": interval, "buckets": [{"start": format_time(start), "counts": dict(counts)}
                                               for start, counts in filled]}


def _fitted_to_the_data(index: IndexReader, request: SearchRequest, now: datetime) -> tuple[str, Buckets]:
    """All time, auto: weekly bars when the matching items span more than 120 days, else daily.
    Weeks are asked first: on a large index that one request is the answer. The first and last day
    lie within six days of the first and last week's start, so only a span of weeks within six days
    of 120 needs the days to decide."""
    def histogram(interval: str) -> Buckets:
        return index.histogram(request.query, request.filters, interval=interval, now=now)

    weeks = histogram("week")
    if _span(weeks) > timedelta(days=120 + 6):
        return "week", weeks
    days = histogram("day")
    return ("week", weeks) if _span(days) > timedelta(days=120) else ("day", days)


def _span(buckets: Buckets) -> timedelta:
    return buckets[-1][0] - buckets[0][0] if len(buckets) > 1 else timedelta(0)


def search(index: IndexReader, request: SearchRequest, now: datetime, topics: Sequence[str] = (),
           feedback: Feedback = None) -> dict[str, Any]:
    """One page of stories (newest first by default), the facets and the histogram; with ``topics``
    the facets count the analysts' verdicts on them too, and with ``feedback`` the items say who gave
    theirs."""
    fetch = min(max(request.limit * _FETCH_FACTOR, _FETCH_MIN), _FETCH_MAX)
    result, facets, verdicts, histogram = _gather(index, [
        partial(index.search, request.query, request.filters, limit=fetch, sort=request.sort, now=now),
        partial(_facets, index, request, now),
        partial(feedback_facet, index, request.text, request.filters, topics, now) if topics else list,
        partial(_histogram, index, request, now),
    ])
    if topics:
        facets["feedback"] = verdicts
    terms = highlight_terms(request.query)
    groups = group_stories([hit.doc for hit in result.hits])
    stories = [{"story_id": item_view(lead)["story_id"], "item": item_view(lead, terms),
                "others": [brief_view(doc) for doc in rest]} for lead, *rest in groups[:request.limit]]
    add_given_by([story["item"] for story in stories], feedback)
    return {
        "query": request.text, "sort": request.sort, "range": request.range,
        "since": format_time(request.filters.since) if request.filters.since else None,
        "until": format_time(request.filters.until) if request.filters.until else None,
        "total": result.total, "stories": stories,
        "more": len(groups) > request.limit or result.total > len(result.hits),
        "highlight": terms,
        "reading": describe(request.query.root), "hints": list(request.query.hints),
        "facets": facets,
        "histogram": histogram,
        "generated_at": format_time(now),
    }


def story(index: IndexReader, story_id: str, now: datetime, feedback: Feedback = None) -> dict[str, Any]:
    """Every item of one story, oldest first (with ``feedback``, saying who gave their verdicts)."""
    if not _STORY_ID.match(story_id):
        raise UserInputError(f"story: not a story id: {story_id[:80]!r}")
    query = parse_query(f'story_id:"{story_id}"')
    result = index.search(query, SearchFilters(), limit=_STORY_MAX, sort="newest", now=now)
    if not result.hits:
        raise NotFound(f"story: no items with story id {story_id!r}")
    docs = [hit.doc for hit in reversed(result.hits)]
    times: list[str] = [d["@timestamp"] for d in docs if d.get("@timestamp")]
    items = [item_view(d, summary_chars=4000) for d in docs]
    add_given_by(items, feedback)
    return {
        "story_id": story_id, "total": result.total,
        "sources": list(dict.fromkeys(d.get("source") or "" for d in docs)),
        "first_seen": min(times) if times else None, "last_seen": max(times) if times else None,
        "topics": sorted({t for d in docs for t in d.get("topics") or []}),
        "items": items,
    }


def _epoch(value: float | None) -> str | None:
    return format_time(datetime.fromtimestamp(value, UTC)) if value else None


def alerts(store: Any, params: Params) -> dict[str, Any]:
    """The alert log, newest first: ``status``, ``rule`` and ``limit`` narrow it. ``store`` has the
    :class:`consumers.alert_store.AlertStore` methods ``records`` and ``counts``."""
    status = _one(params, "status")
    if status and status not in ALERT_STATUSES:
        raise UserInputError(f"status: expected one of {', '.join(ALERT_STATUSES)}, got {status!r}")
    rule = _one(params, "rule") or None
    records = store.records(status=status or None, rule=rule, limit=_number(params, "limit", 100, 1, 1000))
    rows = []
    for record in records:
        row = asdict(record)
        row.update(created_at=_epoch(record.created_at), sent_at=_epoch(record.sent_at),
                   next_attempt=_epoch(record.next_attempt) if record.status == "pending" else None,
                   story_link=record.kind == "story")
        rows.append(row)
    counts = store.counts()
    return {"counts": {s: int(counts.get(s, 0)) for s in ALERT_STATUSES}, "status": status or None,
            "rule": rule, "alerts": rows}


_SEVERITY = {"broken": 0, "stale": 1, "failing": 2, "new": 3, "ok": 4}


def feeds(feed_specs: Sequence[Any], states: Mapping[str, Any], assess: Any, now: float) -> dict[str, Any]:
    """Each configured feed's health, the most urgent first. ``states`` maps feed id to its
    :class:`producers.state.FeedState`; ``assess(state, now)`` gives its :class:`FeedHealth`."""
    rows = []
    for spec in feed_specs:
        state = states[spec.id]
        health = assess(state, now)
        rows.append({
            "id": spec.id, "source": spec.source, "title": spec.title, "url": spec.url,
            "status": health.status, "reason": health.reason, "last_success": _epoch(health.last_success),
            "last_attempt": _epoch(state.last_attempt), "error_streak": health.error_streak,
            "last_error": state.last_error, "latest_item": _epoch(health.latest_item),
            "items_published": state.items_published, "next_check": _epoch(state.next_check), **health.figures(),
        })
    rows.sort(key=lambda row: (_SEVERITY.get(row["status"], 9), row["id"]))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {"counts": counts, "stale": [r["id"] for r in rows if r["status"] == "stale"],
            "broken": [r["id"] for r in rows if r["status"] == "broken"], "feeds": rows,
            "generated_at": _epoch(now)}


def health(index: IndexReader, topics: Sequence[str], refresh_seconds: float, backend: str) -> dict[str, Any]:
    """What the page needs first: the index answers, how many items it holds, the topics, the refresh."""
    return {"status": "ok", "items": index.count(), "backend": backend, "topics": list(topics),
            "refresh_seconds": refresh_seconds}
