"""Read-only commands: ``search``, ``feeds list``, ``rules list|test`` and ``alerts list``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from consumers.alert_store import AlertStore
from consumers.alerter import compile_rules, rule_matches
from pipeline.durations import parse_duration
from pipeline.errors import UserInputError
from pipeline.query import parse_query
from pipeline.settings import Settings
from pipeline.transport.base import SearchFilters, SearchResult
from pipeline.transport.registry import open_index
from producers.state import FeedStateStore

__all__ = ["parse_since", "cmd_search", "cmd_feeds_list", "cmd_rules_list", "cmd_rules_test", "cmd_alerts_list"]


def parse_since(value: str | None, now: datetime) -> datetime | None:
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
        raise UserInputError(f"--since: expected a duration like 24h or 7d, or an ISO date; got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _print_hits(result: SearchResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"total": result.total, "hits": [dict(hit.doc, _score=hit.score) for hit in result.hits]},
                         ensure_ascii=False))
        return
    for hit in result.hits:
        doc = hit.doc
        topics = ",".join(doc.get("topics") or []) or "-"
        print(f"{doc.get('@timestamp', '')[:16].replace('T', ' ')}  {doc.get('source', '')[:18]:<18}  [{topics}]  {doc.get('title', '')}")
        print(f"    {doc.get('url', '')}")
    print(f"{len(result.hits)} of {result.total} matching items")


def _search(settings: Settings, query_text: str, filters: SearchFilters, limit: int, sort: str) -> SearchResult:
    query = parse_query(query_text)
    index = open_index(settings)
    try:
        return index.search(query, filters, limit=limit, sort=sort, now=datetime.now(timezone.utc))
    finally:
        index.close()


def cmd_search(settings: Settings, args: Any) -> int:
    if args.limit <= 0:
        raise UserInputError(f"--limit: expected a positive number, got {args.limit}")
    unknown = [t for t in args.topic or [] if t not in settings.topics]
    if unknown:
        raise UserInputError(f"--topic: unknown topic {unknown[0]!r} (known: {', '.join(settings.topics)})")
    filters = SearchFilters(
        topics=tuple(args.topic or ()), countries=tuple(c.upper() for c in args.country or ()),
        sources=tuple(args.source or ()), since=parse_since(args.since, datetime.now(timezone.utc)),
    )
    _print_hits(_search(settings, args.query, filters, args.limit, args.sort), args.json)
    return 0


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M") if epoch else "never"


def cmd_feeds_list(settings: Settings, as_json: bool) -> int:
    store = FeedStateStore(settings.state_url)
    rows = []
    for feed in settings.feeds:
        state = store.get(feed.id, feed.url)
        rows.append({"id": feed.id, "source": feed.source, "url": feed.url, "status": state.last_status or "new",
                     "last_success": _when(state.last_success), "errors": state.error_count,
                     "items_published": state.items_published, "next_check": _when(state.next_check),
                     "last_error": state.last_error})
    store.close()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{'feed':<28} {'source':<22} {'status':<13} {'last success':<17} {'errors':>6} {'items':>6}")
    for row in rows:
        print(f"{row['id'][:28]:<28} {row['source'][:22]:<22} {row['status']:<13} {row['last_success']:<17}"
              f" {row['errors']:>6} {row['items_published']:>6}")
        if row["last_error"]:
            print(f"    last error: {row['last_error']}")
    return 0


def cmd_rules_list(settings: Settings) -> int:
    for rule in settings.rules:
        actions = ", ".join(a.type if a.type == "log" else f"webhook {a.url.split('?')[0]}" for a in rule.actions)
        topics = f" topics={','.join(rule.topics)}" if rule.topics else ""
        print(f"{rule.name}: {rule.query}{topics} min_score={rule.min_score} -> {actions}")
    return 0


def cmd_rules_test(settings: Settings, name: str, since: str, limit: int) -> int:
    """Backtest: the stories the rule would have alerted on among items indexed in the window."""
    rule = next((r for r in compile_rules(settings.rules) if r.spec.name == name), None)
    if rule is None:
        raise UserInputError(f"rules test: no rule named {name!r} (known: {', '.join(r.name for r in settings.rules)})")
    now = datetime.now(timezone.utc)
    filters = SearchFilters(topics=rule.spec.topics, since=parse_since(since, now))
    result = _search(settings, rule.spec.query, filters, 10_000, "newest")
    stories: dict[str, dict] = {}
    for hit in result.hits:
        if rule_matches(rule, hit.doc, now):
            stories.setdefault(hit.doc.get("story_id") or hit.doc["id"], hit.doc)
    for doc in list(stories.values())[:limit]:
        print(f"{doc.get('@timestamp', '')[:16].replace('T', ' ')}  {doc.get('source', '')[:18]:<18}  {doc.get('title', '')}")
    print(f"rule {name!r} would have alerted on {len(stories)} stories since {since}")
    return 0


def cmd_alerts_list(settings: Settings, limit: int) -> int:
    store = AlertStore(settings.state_url)
    for alert in store.recent(limit):
        sent = _when(alert["sent_at"]) if alert["sent_at"] else "-"
        error = f"  error: {alert['last_error']}" if alert["last_error"] else ""
        print(f"{_when(alert['created_at'])}  {alert['status']:<8} {alert['rule']:<24} {alert['target']}"
              f"  story={alert['story_id']} sent={sent} attempts={alert['attempts']}{error}")
    counts = store.counts()
    store.close()
    print(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "no alerts yet")
    return 0
