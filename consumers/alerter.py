"""The alerter stage: match each classified item against the rules as it streams past, claim one
alert per (rule, story, action), and deliver from the persistent outbox with retries.

Rules select on ingest order (the item arriving now), never on publish time, so late or back-dated
items are not missed. Delivery failures never fail the stage: they stay in the outbox and are retried
with backoff until the attempt budget is spent, then parked as ``failed`` (see ``alerts list``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

from pipeline.backoff import backoff_delay
from pipeline.document import index_document
from pipeline.errors import PermanentError, RetryLater
from pipeline.item import ClassifiedItem, decode_json, format_time
from pipeline.query import Query, matches, parse_query
from pipeline.settings import ActionSpec, RuleSpec
from pipeline.transport.base import Record
from consumers.alert_store import AlertStore, PendingAlert
from consumers.webhook import post_json

__all__ = ["CompiledRule", "compile_rules", "rule_matches", "AlerterStage", "MAX_ATTEMPTS"]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
_RETRY_BASE, _RETRY_MAX, _LEASE = 2.0, 600.0, 60.0

Sender = Callable[[ActionSpec, dict], None]


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    query: Query


def compile_rules(rules: Sequence[RuleSpec]) -> list[CompiledRule]:
    return [CompiledRule(rule, parse_query(rule.query)) for rule in rules]


def rule_matches(rule: CompiledRule, doc: dict, now: datetime) -> bool:
    topics = rule.spec.topics
    if topics and not set(topics) & set(doc.get("topics") or ()):
        return False
    scores = doc.get("scores") or {}
    considered = [scores.get(t, 0.0) for t in (topics or scores)]
    if rule.spec.min_score and max(considered, default=0.0) < rule.spec.min_score:
        return False
    return matches(rule.query, doc, now)


def _deliver(action: ActionSpec, payload: dict, sender: Sender) -> None:
    if action.type == "log":
        logger.info("event=alert rule=%s story=%s title=%r", payload["rule"], payload["story_id"],
                    payload["item"].get("title"))
    else:
        sender(action, payload)


class AlerterStage:
    name = "alerter"

    def __init__(self, rules: Sequence[RuleSpec], store: AlertStore, sender: Sender = post_json,
                 clock: Callable[[], float] = time.time) -> None:
        self.rules, self.store, self.sender, self.clock = compile_rules(rules), store, sender, clock
        self.alerts_created = 0
        self.alerts_sent = 0

    def handle(self, record: Record) -> None:
        item = ClassifiedItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        doc = index_document(item, now)
        for rule in self.rules:
            if rule_matches(rule, doc, now):
                self._claim(rule.spec, item, now)

    def _claim(self, rule: RuleSpec, item: ClassifiedItem, now: datetime) -> None:
        payload = {"rule": rule.name, "story_id": item.story_id, "matched_at": format_time(now), "item": item.to_dict()}
        for index, action in enumerate(rule.actions):
            target = action.url.split("?")[0] if action.url else action.type
            if self.store.claim(rule.name, item.story_id, index, item.id, target, payload, now.timestamp()):
                self.alerts_created += 1

    def flush(self) -> None:
        self.deliver_due()

    def idle(self) -> None:
        self.deliver_due()

    def deliver_due(self) -> int:
        """Try every alert that is due; returns how many were delivered."""
        delivered = 0
        for alert in self.store.lease_due(self.clock(), _LEASE):
            if self._try(alert):
                delivered += 1
        self.alerts_sent += delivered
        return delivered

    def _try(self, alert: PendingAlert) -> bool:
        rule = next((r.spec for r in self.rules if r.spec.name == alert.rule), None)
        if rule is None or alert.action >= len(rule.actions):
            self.store.mark_failed(alert.id, "rule or action no longer configured")
            return False
        try:
            _deliver(rule.actions[alert.action], alert.payload, self.sender)
        except RetryLater as exc:
            return self._retry_or_park(alert, str(exc), exc.retry_after)
        except PermanentError as exc:
            logger.error("event=alert_failed rule=%s story=%s error=%s", alert.rule, alert.payload["story_id"], exc)
            self.store.mark_failed(alert.id, str(exc))
            return False
        self.store.mark_sent(alert.id, self.clock())
        return True

    def _retry_or_park(self, alert: PendingAlert, error: str, hint: float | None) -> bool:
        if alert.attempts + 1 >= MAX_ATTEMPTS:
            logger.error("event=alert_failed rule=%s attempts=%d error=%s", alert.rule, alert.attempts + 1, error)
            self.store.mark_failed(alert.id, error)
            return False
        delay = backoff_delay(_RETRY_BASE, _RETRY_MAX, alert.attempts, hint)
        logger.warning("event=alert_retry rule=%s attempt=%d retry_in=%.0fs error=%s",
                       alert.rule, alert.attempts + 1, delay, error)
        self.store.mark_retry(alert.id, error, self.clock() + delay)
        return False
