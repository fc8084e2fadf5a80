"""Alert commands: ``rules list|test`` and ``alerts list|retry|silence|unsilence`` over the state database."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from consumers.alert_store import STATUSES, AlertRecord, AlertStore
from consumers.rule_kinds.backtest import KindBacktest, backtest_kind
from consumers.rules import BacktestItem, BacktestStory, backtest, compile_rules
from newsmon.commands.inspect import indexed_since_query, parse_since
from newsmon.console import ProgressLine, fit_column
from pipeline.alerting.rules import RuleSpec, require_secrets
from pipeline.durations import parse_duration
from pipeline.errors import UserInputError
from pipeline.item import format_time
from pipeline.query import parse_query
from pipeline.settings import Settings
from pipeline.transport.base import SearchFilters
from pipeline.transport.registry import open_index

__all__ = ["cmd_rules_list", "cmd_rules_test", "cmd_alerts_list", "cmd_alerts_retry", "cmd_alerts_silence",
           "cmd_alerts_unsilence"]

_BACKTEST_LIMIT = 10_000


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M") if epoch else "-"


def _span(seconds: float | None, default: str) -> str:
    if seconds is None:
        return default
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _rule(settings: Settings, name: str) -> RuleSpec:
    for rule in settings.rules:
        if rule.name == name:
            return rule
    known = ", ".join(r.name for r in settings.rules) or "none configured"
    raise UserInputError(f"no rule named {name!r} (known: {known})")


def _kind_parts(rule: RuleSpec) -> list[str]:
    """How a rule of another kind than ``item`` counts, as ``key=value`` parts."""
    if rule.kind == "new_term":
        return [f"kind={rule.kind}", f"field={rule.term_field}", f"lookback={_span(rule.lookback, '')}",
                f"warmup={_span(rule.warmup or None, 'off')}"]
    parts = [f"kind={rule.kind}", f"window={_span(rule.window, '')}", f"grace={_span(rule.grace or None, '0s')}",
             f"min_stories={rule.min_stories}"]
    if rule.kind == "spike":
        parts += [f"ratio={rule.ratio:g}", f"baseline_windows={rule.baseline_windows}",
                  f"baseline_floor={rule.baseline_floor:g}"]
    return parts + ([f"group_by={rule.group_by}"] if rule.group_by else [])


def _describe(rule: RuleSpec) -> str:
    parts = [f"query={rule.query!r}", f"severity={rule.severity}"]
    if rule.kind == "item":
        parts += [f"realert={_span(rule.realert, 'never')}", f"digest={_span(rule.digest, 'off')}"]
    else:
        parts = _kind_parts(rule) + parts
    for label, values in (("topics", rule.topics), ("countries", rule.countries), ("sources", rule.sources)):
        if values:
            parts.append(f"{label}={','.join(values)}")
    parts += [f"entities.{kind}={','.join(names)}" for kind, names in rule.entities.items()]
    if rule.min_score:
        parts.append(f"min_score={rule.min_score:g}")
    return " ".join(parts)


def cmd_rules_list(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    store = AlertStore(settings.state_url)
    silenced = {s.rule: s.until for s in store.silences(time.time()) if not s.story_id}
    store.close()
    for rule in settings.rules:
        state = "disabled" if not rule.enabled else (f"silenced until {_when(silenced[rule.name])} UTC"
                                                      if rule.name in silenced else "enabled")
        print(f"{rule.name} [{state}] {_describe(rule)}")
        print(f"    -> {', '.join(a.target for a in rule.actions)}  ({rule.origin})")
        unset = [name for action in rule.actions for name in action.unset]
        if unset:
            print(f"    missing: {', '.join(unset)} not set (needed by run, consume alerter and alerts retry)")
        for hint in parse_query(rule.query).hints:
            print(f"    warning: {hint}")
    return 0


def _backtest_docs(settings: Settings, rule: RuleSpec, since: datetime | None,
                   indexed_since: datetime | None) -> tuple[list[dict[str, Any]], int]:
    query = parse_query(indexed_since_query(rule.query, indexed_since))
    filters = SearchFilters(topics=rule.topics, countries=rule.countries, sources=rule.sources, since=since)
    index = open_index(settings)
    try:
        result = index.search(query, filters, limit=_BACKTEST_LIMIT, sort="newest", now=datetime.now(UTC))
    finally:
        index.close()
    return [hit.doc for hit in result.hits], result.total


def _verdict(item: BacktestItem) -> str:
    decision = item.decision
    if decision.window:
        return f"digest {_when(decision.window[0])[11:]}-{_when(decision.window[1])[11:]}"
    return decision.verdict.value if not decision.seq else f"{decision.verdict.value} #{decision.seq}"


def _story_json(story: BacktestStory) -> dict[str, Any]:
    return {"story_id": story.story_id, "alerts": story.alerts, "items": [
        {"id": i.doc["id"], "title": i.doc.get("title", ""), "source": i.doc.get("source", ""),
         "ingested": format_time(datetime.fromtimestamp(i.ingested, UTC)),
         "verdict": i.decision.verdict.value, "seq": i.decision.seq,
         "digest_window": list(i.decision.window) if i.decision.window else None} for i in story.items]}


def _print_backtest(rule: RuleSpec, stories: list[BacktestStory], limit: int) -> None:
    print(f"rule {rule.name}: {_describe(rule)}")
    for story in stories[:limit]:
        print(f"\nstory {story.story_id}: {len(story.items)} matching items, {story.alerts} alert(s)")
        sources = fit_column([item.doc.get("source", "") for item in story.items])
        for item, source in zip(story.items, sources):
            print(f"  {_when(item.ingested)}  {_verdict(item):<17} {source}  {item.doc.get('title', '')}")
    if len(stories) > limit:
        print(f"\n... {len(stories) - limit} more stories (--limit)")


def _window_line(alert: dict[str, Any]) -> str:
    window = alert["window"]
    key = f"  {alert['group_by']}={alert['key']}" if alert.get("key") else ""
    least = alert["threshold"]["min_stories"]
    baseline = {"spike": f" (trailing average {alert['baseline'] or 0.0:.2f})", "frequency": f" (at least {least})",
                "flatline": f" (fewer than {least})"}[alert["kind"]]
    return (f"{window['start'][:16].replace('T', ' ')}-{window['end'][11:16]}  {alert['kind']}{key}:"
            f" {alert['count']} stories{baseline}")


def _print_fired(result: KindBacktest, limit: int) -> None:
    print(f"\nwould have fired {len(result.fired)} alert(s):" if result.fired else "\nwould not have fired")
    for alert in result.fired[:limit]:
        if alert["kind"] == "new_term":
            item = alert["item"]
            print(f"  {alert['first_seen'][:16].replace('T', ' ')}  new_term  {alert['field']}={alert['term']}"
                  f"  {item.get('source', '')}  {item.get('title', '')}")
            continue
        print(f"  {_window_line(alert)}")
        shown = alert["stories"][:5]
        for story, source in zip(shown, fit_column([s["item"].get("source", "") for s in shown])):
            print(f"      {source}  {story['item'].get('title', '')}  {story['item'].get('url', '')}")
        if len(alert["stories"]) > len(shown):
            print(f"      ... {len(alert['stories']) - len(shown)} more")
    if len(result.fired) > limit:
        print(f"  ... {len(result.fired) - limit} more alert(s) (--limit)")


def _print_kind_backtest(result: KindBacktest, window: str, limit: int) -> None:
    rule = result.rule
    print(f"rule {rule.name}: {_describe(rule)}")
    _print_fired(result, limit)
    verdicts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(result.verdicts.items()))
    if rule.kind == "new_term":
        print(f"\n{window}: {result.items} matching items ({verdicts or 'none'}) naming {result.terms} distinct"
              f" value(s) of {rule.term_field} -> {len(result.fired)} new_term alert(s)")
        return
    busiest = sorted(result.windows, key=lambda w: (-w.count, w.start))[:limit]
    if busiest:
        print("\nbusiest windows (stories, key):")
    for counted in busiest:
        print(f"  {_when(counted.start)}  {counted.count:>5}  {counted.label or '(all)'}")
    keys = len({w.key for w in result.windows})
    print(f"\n{window}: {result.items} matching items ({verdicts or 'none'}) in {len(result.windows)} window(s)"
          f" over {keys} key(s) -> {len(result.fired)} {rule.kind} alert(s)")


def _fired_json(alert: dict[str, Any]) -> dict[str, Any]:
    if alert["kind"] == "new_term":
        item = alert["item"]
        return {"kind": "new_term", "field": alert["field"], "term": alert["term"], "first_seen": alert["first_seen"],
                "story_id": alert["story_id"], "title": item.get("title", ""), "source": item.get("source", ""),
                "url": item.get("url", "")}
    return {key: alert[key] for key in ("kind", "group_by", "key", "window", "count", "baseline", "threshold")} | {
        "stories": [{"story_id": s["story_id"], "event_at": s["event_at"], "title": s["item"].get("title", ""),
                     "source": s["item"].get("source", ""), "url": s["item"].get("url", "")}
                    for s in alert["stories"]]}


def _kind_json(result: KindBacktest) -> dict[str, Any]:
    length = result.rule.window or 0.0
    return {"kind": result.rule.kind, "items": result.items, "verdicts": dict(result.verdicts),
            "alerts": len(result.fired), "fired": [_fired_json(a) for a in result.fired],
            "terms": result.terms if result.rule.kind == "new_term" else None,
            "windows": [{"key": w.key, "label": w.label, "count": w.count,
                         "start": format_time(datetime.fromtimestamp(w.start, UTC)),
                         "end": format_time(datetime.fromtimestamp(w.start + length, UTC))} for w in result.windows]}


def cmd_rules_test(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Backtest: replay the items indexed in the window, in ingest order, through the rule as the
    alerter would have (realert and digest included, silences not), grouped by story; a rule of
    another kind shows the windows (or new terms) that would have fired, with counts and keys."""
    name: str = args.rule
    limit: int = args.limit
    as_json: bool = args.json
    rule = _rule(settings, name)
    now = datetime.now(UTC)
    indexed = args.indexed_since or ("" if args.since else "7d")  # the last week's arrivals by default
    window = " and ".join(part for part in (args.since and f"published since {args.since}",
                                            indexed and f"indexed since {indexed}") if part)
    docs, total = _backtest_docs(settings, rule, parse_since(args.since, now),
                                 parse_since(indexed, now, "--indexed-since"))
    if rule.kind != "item":
        result = backtest_kind(compile_rules([rule])[0], docs, now)
        if as_json:
            print(json.dumps({"rule": rule.name, "since": args.since, "indexed_since": indexed or None,
                              **_kind_json(result)}, ensure_ascii=False))
        else:
            _print_kind_backtest(result, window, limit)
        if total > _BACKTEST_LIMIT and not as_json:
            print(f"note: only the {_BACKTEST_LIMIT} newest of {total} candidate items were replayed")
        return 0
    stories = backtest(compile_rules([rule])[0], docs, now)
    items = [item for story in stories for item in story.items]
    alerts = sum(1 for i in items if i.decision.verdict.value == "alert")
    digests = {i.decision.window for i in items if i.decision.window}
    suppressed = sum(1 for i in items if not i.decision.alerts)
    if as_json:
        print(json.dumps({"rule": rule.name, "since": args.since, "indexed_since": indexed or None,
                          "items": len(items), "alerts": alerts, "digests": len(digests), "suppressed": suppressed,
                          "stories": [_story_json(s) for s in stories]}, ensure_ascii=False))
        return 0
    _print_backtest(rule, stories, limit)
    sent = f"{len(digests)} digest message(s)" if rule.digest else f"{alerts} alert(s)"
    print(f"\n{window}: {len(items)} matching items in {len(stories)} stories -> {sent};"
          f" {suppressed} item(s) suppressed as repeats of a story (realert {_span(rule.realert, 'never')})")
    if total > _BACKTEST_LIMIT:
        print(f"note: only the {_BACKTEST_LIMIT} newest of {total} candidate items were replayed")
    return 0


def _record_json(record: AlertRecord) -> dict[str, Any]:
    """One outbox row: ``attempts`` since it was (re-)queued, ``total_attempts`` all of them, ``requeued``
    how often ``alerts retry`` put it back; ``target`` masked (no token from the URL's path)."""
    out = asdict(record)
    for key in ("created_at", "sent_at", "next_attempt"):
        out[key] = format_time(datetime.fromtimestamp(out[key], UTC)) if out[key] else None
    return out


def cmd_alerts_list(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    status: str | None = args.status
    rule: str | None = args.rule
    limit: int = args.limit
    as_json: bool = args.json
    if status and status not in STATUSES:
        raise UserInputError(f"--status: expected one of {', '.join(STATUSES)}, got {status!r}")
    store = AlertStore(settings.state_url)
    try:
        records, counts, silences = store.records(status, rule, limit), store.counts(), store.silences(time.time())
    finally:
        store.close()
    if as_json:
        print(json.dumps([_record_json(r) for r in records], ensure_ascii=False))
        return 0
    _print_records(records, status, rule)
    for s in silences:
        print(f"silenced: rule {s.rule}{' story ' + s.story_id if s.story_id else ''} until {_when(s.until)} UTC"
              f"{': ' + s.reason if s.reason else ''}")
    totals = ", ".join(f"{name}: {n}" for name, n in sorted(counts.items()))
    print(f"all alerts: {totals}" if totals else "no alerts yet")
    return 0


def _fit_target(target: str, width: int) -> str:
    """``target`` in ``width`` characters, its end (the path's hash, which tells webhooks apart) kept."""
    return target if len(target) <= width else target[: width - 11] + "…" + target[-10:]


def _print_records(records: Sequence[AlertRecord], status: str | None, rule: str | None) -> None:
    if not records:
        if status or rule:  # say what the filter found, not an empty table
            print(f"no {status + ' ' if status else ''}alerts{f' of rule {rule}' if rule else ''}")
        return
    print(f"{'id':>5}  {'created':<16}  {'status':<8}  {'rule':<22}  {'to':<42}  {'sent':<16}  tries  what")
    for r in records:
        what = r.title if r.kind == "story" else f"[{r.kind}] {r.title}"
        print(f"{r.id:>5}  {_when(r.created_at):<16}  {r.status:<8}  {r.rule[:22]:<22}  {_fit_target(r.target, 42):<42}"
              f"  {_when(r.sent_at):<16}  {r.total_attempts:>5}  {what[:60]}")
        if r.requeued:
            print(f"       re-queued {r.requeued} time(s) by alerts retry; {r.attempts} of the {r.total_attempts}"
                  " tries since the last")
        if r.last_error:
            retry = f" (next try {_when(r.next_attempt)})" if r.status == "pending" else ""
            print(f"       error: {r.last_error}{retry}")


def cmd_alerts_retry(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Re-queue parked alerts with a fresh retry budget: the given ids, or ``--failed`` (all, or of ``--rule``)."""
    ids: Sequence[int] = args.ids
    failed: bool = args.failed
    rule: str | None = args.rule
    if bool(ids) == failed:
        raise UserInputError("alerts retry: give alert ids or --failed (not both)")
    require_secrets(settings.rules)  # the re-queued alerts are sent with the actions' secrets
    store = AlertStore(settings.state_url)
    try:
        for row_id in ids:
            record = store.get(row_id)
            if record is None or record.status != "failed":
                state = "not found" if record is None else f"{record.status}, not failed"
                raise UserInputError(f"alerts retry: alert {row_id} is {state}")
        count = store.requeue(time.time(), ids, rule)
    finally:
        store.close()
    print(f"re-queued {count} alert(s); the alerter sends them on its next round")
    return 0


def cmd_alerts_silence(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    rule: str = args.rule
    story: str | None = args.story
    duration: str = args.duration
    reason: str = args.reason
    _rule(settings, rule)
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise UserInputError(f"--for: {exc}") from None
    if seconds <= 0:
        raise UserInputError("--for: expected a positive duration such as 30m, 24h or 7d")
    now = time.time()
    store = AlertStore(settings.state_url)
    try:
        held = store.silence(rule, story or "", now + seconds, reason, now)
    finally:
        store.close()
    what = f"story {story} of rule {rule}" if story else f"rule {rule}"
    print(f"silenced {what} until {_when(now + seconds)} UTC; {held} pending delivery(ies) set aside")
    return 0


def cmd_alerts_unsilence(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    rule: str = args.rule
    story: str | None = args.story
    store = AlertStore(settings.state_url)
    try:
        removed = store.unsilence(rule, story or "")
    finally:
        store.close()
    what = f"story {story} of rule {rule}" if story else f"rule {rule}"
    print(f"{what}: {'silence lifted' if removed else 'was not silenced'}")
    return 0
