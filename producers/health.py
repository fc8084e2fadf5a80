"""Feed health: is each feed working, and is it still publishing? And the alert when it is not.

:func:`assess` is pure: from a feed's stored state and the clock it derives a :class:`FeedHealth`:

- ``new`` — never polled;
- ``broken`` — the error streak reached ``producer.broken_after``;
- ``stale`` — no new item for longer than ``max(3 × usual gap, producer.stale_after)``; the usual
  gap is the median gap between the feed's recent publish times;
- ``failing`` — the last poll(s) failed, but not yet ``broken_after`` times in a row;
- ``ok`` — otherwise.

:class:`HealthAlerts` is the hook the poller calls when a feed *turns* broken or stale: for every
rule with ``feed_health: true`` it claims the story id ``feed:<feed id>:<status>:<UTC day>`` and
queues one delivery per action in the alert outbox, so a feed that flaps alerts at most once a
day per status. The alerter delivers it like any other alert: the document's ``kind`` is
``feed-health``, its ``rule`` the configuring rule (whose actions deliver it), its ``item`` a
synthetic one whose title says which feed and why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pipeline.alerting.envelope import feed_health_alert
from pipeline.alerting.templates import with_text
from pipeline.item import format_time
from pipeline.settings import FeedSpec, ProducerSettings, RuleSpec
from producers.state import FeedState

__all__ = ["FLAGGED", "FeedHealth", "stale_threshold", "assess", "alert_status",
           "AlertOutbox", "HealthAlerts"]

logger = logging.getLogger(__name__)

#: Statuses that raise an alert.
FLAGGED = ("broken", "stale")
_STALE_GAPS = 3


@dataclass(frozen=True)
class FeedHealth:
    feed_id: str
    status: str  # new, ok, failing, broken, stale
    reason: str  # one line, "" when ok
    last_success: float | None
    error_streak: int
    items_per_day: float | None  # from the usual gap between publish times
    usual_gap: float | None
    latest_item: float | None
    stale_after: float  # seconds without a new item before the feed counts as stale
    moved_to: str | None = None  # the address a permanent redirect gave; the configuration still has the old one

    def figures(self) -> dict[str, Any]:
        """The figures every report shows, rounded once: items per day, stale threshold in hours, new address."""
        per_day = round(self.items_per_day, 1) if self.items_per_day is not None else None
        return {"items_per_day": per_day, "stale_after_hours": round(self.stale_after / 3600, 1),
                "moved_to": self.moved_to}


def stale_threshold(usual_gap: float | None, settings: ProducerSettings) -> float:
    return max(settings.stale_after, _STALE_GAPS * usual_gap) if usual_gap else settings.stale_after


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(".0", "")
    return f"{seconds:.0f}s"


def _errors(count: int) -> str:
    return f"{count} error{'' if count == 1 else 's'}"


def _status(state: FeedState, now: float, threshold: float, settings: ProducerSettings) -> tuple[str, str]:
    if state.error_count >= settings.broken_after:
        return "broken", f"{_errors(state.error_count)} in a row: {state.last_error or 'unknown error'}"
    if state.last_attempt is None:
        return "new", "not polled yet"
    if state.latest_item is not None and now - state.latest_item > threshold:
        return "stale", f"no new item for {_span(now - state.latest_item)} (threshold {_span(threshold)})"
    if state.latest_item is None and state.last_success and now - (state.first_attempt or now) > threshold:
        return "stale", f"no item at all in {_span(now - (state.first_attempt or now))}"
    if state.error_count:
        return "failing", f"{_errors(state.error_count)} in a row: {state.last_error or 'unknown error'}"
    return "ok", ""


def assess(state: FeedState, now: float, settings: ProducerSettings) -> FeedHealth:
    """The health of one feed at ``now`` (Unix seconds)."""
    threshold = stale_threshold(state.usual_gap, settings)
    status, reason = _status(state, now, threshold, settings)
    return FeedHealth(
        feed_id=state.feed_id, status=status, reason=reason, last_success=state.last_success,
        error_streak=state.error_count, items_per_day=86400.0 / state.usual_gap if state.usual_gap else None,
        usual_gap=state.usual_gap, latest_item=state.latest_item, stale_after=threshold, moved_to=state.moved_to,
    )


def alert_status(health: FeedHealth, previous_flag: str | None) -> str | None:
    """The status to alert on when the feed just turned broken or stale, else None."""
    return health.status if health.status in FLAGGED and health.status != previous_flag else None


class AlertOutbox(Protocol):
    """What :class:`HealthAlerts` needs of the alert store (``consumers.alert_store.AlertStore``):
    ``transaction()`` yielding an object with ``history``, ``add_claim`` and ``add_outbox``."""

    def transaction(self) -> AbstractContextManager[Any]: ...


class HealthAlerts:
    """Claims feed-health alerts for every action of the rules that ask for them."""

    def __init__(self, rules: Sequence[RuleSpec], outbox: AlertOutbox) -> None:
        self.rules = [rule for rule in rules if rule.feed_health and getattr(rule, "enabled", True)]
        self.outbox = outbox

    def __call__(self, feed: FeedSpec, health: FeedHealth, now: float) -> int:
        """Queue the alerts for ``feed`` turning ``health.status``; returns how many deliveries were queued."""
        moment = datetime.fromtimestamp(now, UTC)
        story_id = f"feed:{feed.id}:{health.status}:{moment:%Y-%m-%d}"
        created = 0
        with self.outbox.transaction() as tx:
            for rule in self.rules:
                if tx.history(rule.name, story_id, now).last_seq is not None:
                    continue  # already alerted today (the feed flapped)
                payload = with_text(feed_health_alert(rule, _feed(feed, health), story_id, now),
                                    rule.title_template, rule.body_template)
                tx.add_claim(payload, f"feed:{feed.id}", now)
                created += tx.add_outbox(payload, [(i, a.target) for i, a in enumerate(rule.actions)], now)
        if created:
            logger.info("event=feed_health_alert feed=%s status=%s alerts=%d", feed.id, health.status, created)
        return created


def _feed(feed: FeedSpec, health: FeedHealth) -> dict[str, Any]:
    """What a feed-health alert says of the feed."""
    last_success = (format_time(datetime.fromtimestamp(health.last_success, UTC))
                    if health.last_success else None)
    return {"id": feed.id, "url": feed.url, "source": feed.source, "status": health.status, "reason": health.reason,
            "error_streak": health.error_streak, "last_success": last_success}
