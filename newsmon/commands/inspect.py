"""Read-only commands: ``search`` (rules and alerts: :mod:`newsmon.commands.alerts`)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from newsmon.console import ProgressLine, fit_column
from pipeline.durations import parse_duration
from pipeline.errors import UserInputError
from pipeline.item import format_time
from pipeline.query import parse_query
from pipeline.settings import Settings
from pipeline.transport.base import SearchFilters, SearchResult
from pipeline.transport.registry import open_index

__all__ = ["parse_since", "indexed_since_query", "cmd_search"]


def parse_since(value: str | None, now: datetime, option: str = "--since") -> datetime | None:
    """``24h``/``7d`` back from now, or an ISO date."""
    if not value:
        return None
    try:
        return now - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserInputError(f"{option}: expected a duration like 24h or 7d, or an ISO date; got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def indexed_since_query(query_text: str, indexed_since: datetime | None) -> str:
    """The query limited to the items indexed since a moment (``--indexed-since``); ``--since`` is
    on ``@timestamp``, the published time, in every command."""
    if indexed_since is None:
        return query_text
    return f'({query_text}) AND indexed_at:>="{format_time(indexed_since)}"'


def _print_hits(result: SearchResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"total": result.total, "hits": [dict(hit.doc, _score=hit.score) for hit in result.hits]},
                         ensure_ascii=False))
        return
    sources = fit_column([hit.doc.get("source", "") for hit in result.hits])
    for hit, source in zip(result.hits, sources):
        doc = hit.doc
        topics = ",".join(doc.get("topics") or []) or "-"
        print(f"{doc.get('@timestamp', '')[:16].replace('T', ' ')}  {source}  [{topics}]  {doc.get('title', '')}")
        print(f"    {doc.get('url', '')}")
    print(f"{len(result.hits)} of {result.total} matching items")


def _search(settings: Settings, query_text: str, filters: SearchFilters, limit: int, sort: str,
            indexed_since: datetime | None) -> SearchResult:
    for hint in parse_query(query_text).hints:  # how a trap in the query was read; stdout stays the results
        print(f"newsmon: note: {hint}", file=sys.stderr)
    query = parse_query(indexed_since_query(query_text, indexed_since))
    index = open_index(settings)
    try:
        return index.search(query, filters, limit=limit, sort=sort, now=datetime.now(UTC))
    finally:
        index.close()


def cmd_search(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    if args.limit <= 0:
        raise UserInputError(f"--limit: expected a positive number, got {args.limit}")
    unknown = [t for t in args.topic or [] if t not in settings.topics]
    if unknown:
        raise UserInputError(f"--topic: unknown topic {unknown[0]!r} (known: {', '.join(settings.topics)})")
    now = datetime.now(UTC)
    filters = SearchFilters(
        topics=tuple(args.topic or ()), countries=tuple(c.upper() for c in args.country or ()),
        sources=tuple(args.source or ()), since=parse_since(args.since, now), entities=tuple(args.entity or ()),
    )
    indexed_since = parse_since(args.indexed_since, now, "--indexed-since")
    _print_hits(_search(settings, args.query, filters, args.limit, args.sort, indexed_since), args.json)
    return 0
