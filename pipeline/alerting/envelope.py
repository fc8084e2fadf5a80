"""The alert document every action receives: the generic webhook's JSON body, and what Slack, Teams and
e-mail messages are rendered from. Its JSON Schema is ``docs/alert-payload.schema.json``.

The kinds share the envelope ``{schema, id, kind, rule, severity, query, created_at}``:

- ``story``: one story matched; adds ``story_id``, ``seq`` (0, then 1, 2... on realerts),
  ``matched_at`` and ``item`` (the classified item that triggered it);
- ``digest``: one message per rule per window; adds ``window {start, end}`` and ``stories``
  (``[{story_id, seq, matched_at, item}]`` in the order they matched);
- ``spike``, ``frequency``, ``flatline``: one message per rule, key and event-time window; adds
  ``window``, ``group_by`` and ``key`` (null without ``group_by``), ``count`` (distinct stories when it
  fired), ``baseline`` (spike: the trailing average; else null), ``threshold`` and ``stories``
  (``[{story_id, event_at, item}]``, ``item`` a brief: id, title, url, source, times, topics, scores,
  countries; at most :data:`MAX_WINDOW_STORIES`, in event-time order);
- ``new_term``: the first mention of a name; adds ``story_id``, ``seq`` (0), ``matched_at``,
  ``field``, ``term``, ``first_seen`` (the story's event time) and ``item`` (the classified item);
- ``feed-health``: a feed turned broken or stale (``producers/health.py`` queues it); adds
  ``story_id`` (``feed:<id>:<status>:<UTC day>``), ``seq`` (0), ``matched_at``, ``feed`` and a
  synthetic ``item`` whose title says which feed and why, so every channel renders it like a story.

``id`` is stable across retries and processes (``<rule>/story/<story_id>/<seq>``,
``<rule>/digest/<window start>``, ``<rule>/<kind>/<key or ->/<window start>``,
``<rule>/new_term/<term>/<first_seen>``, ``<rule>/feed-health/<story_id>``, times as Unix seconds) and is sent as the
``X-Newsmon-Alert-Id`` header, so a receiver can drop the rare duplicate delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pipeline.alerting.rules import RuleSpec
from pipeline.item import format_time

__all__ = ["SCHEMA", "MAX_WINDOW_STORIES", "story_alert_id", "digest_alert_id", "window_alert_id", "story_alert",
           "story_page", "digest_alert", "story_brief", "window_alert", "new_term_alert", "FEED_HEALTH",
           "feed_health_alert"]

SCHEMA = "newsmon.alert/1"
FEED_HEALTH = "feed-health"  # the kind of a feed-health alert
MAX_WINDOW_STORIES = 100  # listed in a window alert; ``count`` gives them all
_BRIEF_FIELDS = ("id", "title", "url", "source", "published", "fetched_at", "topics", "scores", "countries")


def _iso(epoch: float) -> str:
    return format_time(datetime.fromtimestamp(epoch, UTC))


def story_alert_id(rule: str, story_id: str, seq: int) -> str:
    return f"{rule}/story/{story_id}/{seq}"


def digest_alert_id(rule: str, window_start: float) -> str:
    return f"{rule}/digest/{int(window_start)}"


def _envelope(rule: RuleSpec, alert_id: str, kind: str, created_at: float) -> dict[str, Any]:
    return {"schema": SCHEMA, "id": alert_id, "kind": kind, "rule": rule.name, "severity": rule.severity,
            "query": rule.query, "created_at": _iso(created_at)}


def story_alert(rule: RuleSpec, item: dict[str, Any], seq: int, matched_at: float) -> dict[str, Any]:
    """The document of a single-story alert; ``item`` is the classified item as a dict."""
    story_id = item.get("story_id") or item["id"]
    payload = _envelope(rule, story_alert_id(rule.name, story_id, seq), "story", matched_at)
    payload.update(story_id=story_id, seq=seq, matched_at=_iso(matched_at), item=item)
    return payload


def story_page(public_url: str, story_id: str) -> str:
    """The story's page on the search page at ``public_url`` (``web.public_url``)."""
    return f"{public_url}/story/{quote(story_id, safe='')}"


def with_story_pages(alert: dict[str, Any], public_url: str) -> dict[str, Any]:
    """The alert with every story it shows linked to its story page at ``public_url``
    (``story_url``, where analysts mark a wrong topic): each listed story of a digest or a window, or
    the one story of a story or new-term alert. Unchanged without a ``public_url``; a feed-health
    alert shows no story."""
    if not public_url or alert.get("kind") == FEED_HEALTH:
        return alert
    if isinstance(alert.get("stories"), list):
        stories = [{**s, "story_url": story_page(public_url, s["story_id"])}
                   if s.get("story_id") and not s.get("story_url") else s for s in alert["stories"]]
        return {**alert, "stories": stories}
    if alert.get("story_id") and not alert.get("story_url"):
        return {**alert, "story_url": story_page(public_url, alert["story_id"])}
    return alert


def digest_alert(rule: RuleSpec, window: tuple[float, float], stories: Sequence[dict[str, Any]],
                 created_at: float) -> dict[str, Any]:
    """The document of a digest; ``stories`` are story alerts (see :func:`story_alert`), oldest first."""
    payload = _envelope(rule, digest_alert_id(rule.name, window[0]), "digest", created_at)
    payload["window"] = {"start": _iso(window[0]), "end": _iso(window[1])}
    payload["stories"] = [{k: s[k] for k in ("story_id", "seq", "matched_at", "item", "story_url") if k in s}
                          for s in stories]
    return payload


def window_alert_id(rule: str, kind: str, key: str, start: float) -> str:
    return f"{rule}/{kind}/{key or '-'}/{int(start)}"


def story_brief(item: dict[str, Any]) -> dict[str, Any]:
    """What a window alert lists of a story's item: enough for a title as a link, source and time."""
    return {name: item.get(name) for name in _BRIEF_FIELDS if name in item}


def _threshold(rule: RuleSpec) -> dict[str, Any]:
    if rule.kind == "spike":
        return {"min_stories": rule.min_stories, "ratio": rule.ratio, "baseline_floor": rule.baseline_floor,
                "baseline_windows": rule.baseline_windows}
    return {"min_stories": rule.min_stories}


def window_alert(rule: RuleSpec, window: tuple[float, float], key: tuple[str, str], count: int,
                 baseline: float | None, stories: Sequence[tuple[str, float, dict[str, Any]]],
                 created_at: float) -> dict[str, Any]:
    """A spike, frequency or flatline alert; ``key`` is (folded key, label), ``stories`` are
    (story id, event time, brief)."""
    payload = _envelope(rule, window_alert_id(rule.name, rule.kind, key[0], window[0]), rule.kind, created_at)
    payload.update(window={"start": _iso(window[0]), "end": _iso(window[1])}, group_by=rule.group_by,
                   key=key[1] if rule.group_by else None, count=count,
                   baseline=None if baseline is None else round(baseline, 3), threshold=_threshold(rule),
                   stories=[{"story_id": story_id, "event_at": _iso(at), "item": brief}
                            for story_id, at, brief in stories[:MAX_WINDOW_STORIES]])
    return payload


def new_term_alert(rule: RuleSpec, item: dict[str, Any], term: tuple[str, str], first_seen: float,
                   matched_at: float) -> dict[str, Any]:
    """The alert on the first mention of ``term`` (folded, label) in the rule's ``field``."""
    story_id = item.get("story_id") or item["id"]
    alert_id = f"{rule.name}/new_term/{term[0]}/{int(first_seen)}"
    payload = _envelope(rule, alert_id, "new_term", matched_at)
    payload.update(story_id=story_id, seq=0, matched_at=_iso(matched_at), field=rule.term_field, term=term[1],
                   first_seen=_iso(first_seen), item=item)
    return payload


def feed_health_alert(rule: RuleSpec, feed: dict[str, Any], story_id: str, when: float) -> dict[str, Any]:
    """The alert of a feed turning broken or stale; ``feed`` holds ``id``, ``url``, ``source``,
    ``status``, ``reason``, ``error_streak`` and ``last_success`` (ISO time or None). Its envelope
    carries no query: the feed, not the rule's query, made it."""
    payload = _envelope(rule, f"{rule.name}/{FEED_HEALTH}/{story_id}", FEED_HEALTH, when)
    title = f"Feed {feed['id']} ({feed['source']}) is {feed['status']}: {feed['reason']}"
    payload.update(query="", story_id=story_id, seq=0, matched_at=_iso(when), feed=dict(feed),
                   item={"id": f"feed:{feed['id']}", "title": title, "summary": feed["reason"], "url": feed["url"],
                         "source": feed["source"], "fetched_at": _iso(when)})
    return payload
