"""The alert document every action receives: the generic webhook's JSON body, and what Slack, Teams and
e-mail messages are rendered from. Its JSON Schema is ``docs/alert-payload.schema.json``.

Two kinds share the envelope ``{schema, id, kind, rule, severity, created_at}``:

- ``story``: one story matched; adds ``story_id``, ``seq`` (0, then 1, 2... on realerts),
  ``matched_at`` and ``item`` (the classified item that triggered it);
- ``digest``: one message per rule per window; adds ``window {start, end}`` and ``stories``
  (``[{story_id, seq, matched_at, item}]`` in the order they matched).

``id`` is stable across retries and processes (``<rule>/story/<story_id>/<seq>`` or
``<rule>/digest/<window start>``) and is sent as the ``X-Newsmon-Alert-Id`` header, so a
receiver can drop the rare duplicate delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.item import format_time
from pipeline.rule_settings import RuleSpec

__all__ = ["SCHEMA", "story_alert_id", "digest_alert_id", "story_alert", "digest_alert"]

SCHEMA = "newsmon.alert/1"


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


def digest_alert(rule: RuleSpec, window: tuple[float, float], stories: Sequence[dict[str, Any]],
                 created_at: float) -> dict[str, Any]:
    """The document of a digest; ``stories`` are story alerts (see :func:`story_alert`), oldest first."""
    payload = _envelope(rule, digest_alert_id(rule.name, window[0]), "digest", created_at)
    payload["window"] = {"start": _iso(window[0]), "end": _iso(window[1])}
    payload["stories"] = [{k: s[k] for k in ("story_id", "seq", "matched_at", "item")} for s in stories]
    return payload
