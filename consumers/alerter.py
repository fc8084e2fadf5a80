"""The alerter stage: match each classified item against the rules as it streams past, decide and
claim in the state database, then deliver from the persistent outbox.

Rules select on ingest order (the item arriving now), never on publish time, so late or back-dated
items are not missed. Rules of another ``kind`` than ``item`` (spike, frequency, flatline: stories
per event-time window; new_term: a first mention) go to :mod:`consumers.rule_kinds`, whose windows
close when the stage is idle. The parts: :mod:`consumers.rules` (matching, realert, digest: policy),
:mod:`consumers.alert_store` (SQLite: matches, claims, digests, silences, outbox),
:mod:`consumers.delivery` (lease, send, retry, park), and from :mod:`pipeline.alerting` the alert
document (``envelope``), the rules' templates and the channels (webhook, Slack, Teams, e-mail, log).
Delivery failures never fail the stage: they stay in the outbox.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from consumers.alert_store import AlertStore, AlertTransaction
from consumers.delivery import Deliverer, Sender
from consumers.rule_kinds.recorder import KindRecorder
from consumers.rules import CompiledRule, compile_rules, decide, rule_matches
from pipeline.alerting.channels import send as send_alert
from pipeline.alerting.envelope import digest_alert, story_alert, with_story_pages
from pipeline.alerting.rules import RuleSpec
from pipeline.alerting.templates import with_text
from pipeline.document import index_document
from pipeline.errors import RetryLater
from pipeline.item import ClassifiedItem, decode_json
from pipeline.loop import StageBase
from pipeline.query import prepare
from pipeline.transport.base import Record

__all__ = ["AlerterStage"]

logger = logging.getLogger(__name__)

MATCH_RETENTION = 90 * 86400.0  # how long (rule, item) matches are remembered to recognise replays
_PRUNE_EVERY = 3600.0


def _targets(rule: RuleSpec) -> list[tuple[int, str]]:
    return [(index, action.target) for index, action in enumerate(rule.actions)]


class StoryVerdicts(Protocol):
    """Analysts' verdicts as the alerter asks for them (:class:`pipeline.transport.sqlite_feedback.FeedbackStore`)."""

    def marked_no(self, story_id: str) -> set[str]:
        """The topics an item of the story was marked not to be about."""


def marked_off_topic(rule: RuleSpec, doc: dict[str, Any], rejected: set[str]) -> bool:
    """Whether every topic of the rule that the item has was marked ``no`` on its story."""
    relevant = set(rule.topics) & set(doc.get("topics") or ())
    return bool(relevant) and relevant <= rejected


class AlerterStage(StageBase):
    """``alerts`` counts the alerts this process raised (a story alert or a digest), ``created`` the
    outbox rows it queued for them: one per alert and action."""

    name = "alerter"

    def __init__(self, rules: Sequence[RuleSpec], store: AlertStore, sender: Sender = send_alert,
                 clock: Callable[[], float] = time.time, verdicts: StoryVerdicts | None = None,
                 public_url: str = "") -> None:
        self.rules: list[CompiledRule] = [r for r in compile_rules(rules) if r.spec.enabled]
        self.verdicts, self.public_url = verdicts, public_url
        self.specs = {rule.name: rule for rule in rules}
        self.store, self.clock = store, clock
        self.deliverer = Deliverer(self.specs, store, sender, clock)
        self.kinds = KindRecorder([rule.spec for rule in self.rules], store, self._queue)
        self.alerts = 0
        self.created = 0
        self._pruned_at = 0.0

    def handle(self, record: Record) -> None:
        item = ClassifiedItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        now = self.clock()
        moment = datetime.fromtimestamp(now, UTC)
        doc = index_document(item, moment)
        prepared = prepare(doc, moment)  # its text analysed once for every rule
        matched = self._not_marked_off(doc, [rule.spec for rule in self.rules if rule_matches(rule, prepared)])
        if matched:
            data = item.to_dict()
            for rule in matched:
                if rule.kind == "item":
                    self._record(rule, data, now)
                else:
                    self.kinds.record(rule, doc, data, now)

    def _not_marked_off(self, doc: dict[str, Any], matched: list[RuleSpec]) -> list[RuleSpec]:
        """The matched rules, without those whose topics an analyst marked ``no`` on the item's story
        (``skip_marked_no``): a later outlet's copy of a story marked off topic does not alert again."""
        asks = [rule for rule in matched if rule.kind == "item" and rule.skip_marked_no and rule.topics]
        if self.verdicts is None or not asks:
            return matched
        story_id = doc.get("story_id") or doc["id"]
        rejected = self.verdicts.marked_no(story_id)
        skipped = {rule.name for rule in asks if marked_off_topic(rule, doc, rejected)}
        for name in sorted(skipped):
            logger.info("event=match_skipped rule=%s story=%s item=%s reason=marked_not_on_topic",
                        name, story_id, doc["id"])
        return [rule for rule in matched if rule.name not in skipped]

    def _record(self, rule: RuleSpec, item: dict[str, Any], now: float) -> None:
        """Decide on a (rule, item) match and persist the decision in one transaction."""
        story_id = item.get("story_id") or item["id"]
        with self.store.transaction() as tx:
            if not tx.add_match(rule.name, item["id"], story_id, now):
                return  # this item matched this rule before: a replay or another alerter process
            decision = decide(rule, tx.history(rule.name, story_id, now), now)
            tx.set_verdict(rule.name, item["id"], decision.verdict.value)
            if decision.alerts:
                payload = story_alert(rule, item, decision.seq, now)
                if tx.add_claim(payload, item["id"], now, decision.window) is None:
                    self._queue(tx, payload, rule, now)
        logger.log(logging.INFO if decision.alerts else logging.DEBUG, "event=match rule=%s story=%s item=%s verdict=%s"
                   " seq=%d", rule.name, story_id, item["id"], decision.verdict.value, decision.seq)

    def _queue(self, tx: AlertTransaction, payload: dict[str, Any], rule: RuleSpec, now: float) -> None:
        # "wrong topic?" in the messages: each story's page, where analysts mark it
        payload = with_text(with_story_pages(payload, self.public_url), rule.title_template, rule.body_template)
        queued = tx.add_outbox(payload, _targets(rule), now)
        self.alerts += 1 if queued else 0
        self.created += queued

    def _close_digests(self) -> None:
        now = self.clock()
        for name, start, end in self.store.due_digests(now):
            rule = self.specs.get(name)
            with self.store.transaction() as tx:
                stories = tx.close_digest(name, start, now)
                if stories and rule is not None:
                    payload = digest_alert(rule, (start, end), stories, now)
                    self._queue(tx, payload, rule, now)
            if stories is not None:
                logger.info("event=digest_closed rule=%s start=%d stories=%d", name, start, len(stories))

    def flush(self) -> None:
        """Close the digest windows that have ended, then deliver whatever is due."""
        _guarded(self._close_digests, self.deliverer.deliver_due, self._prune_matches)

    def _prune_matches(self) -> None:
        now = self.clock()
        if now - self._pruned_at >= _PRUNE_EVERY:
            self._pruned_at = now
            removed = self.store.prune_matches(now - MATCH_RETENTION)
            removed += self.kinds.prune(now, MATCH_RETENTION, list(self.specs))
            if removed:
                logger.info("event=alert_matches_pruned removed=%d", removed)

    def idle(self) -> None:
        """Called by the loop when nothing arrived, i.e. caught up with the log (outside its retry
        handling): close the rule kinds' windows whose grace is over, then flush. Never raises RetryLater."""
        try:
            _guarded(lambda: self.kinds.close(self.clock()))
            self.flush()
        except RetryLater as exc:
            logger.warning("event=alert_store_busy error=%s", exc)


def _guarded(*steps: Callable[[], object]) -> None:
    """Run the steps; a state database that stayed busy past its timeout is RetryLater."""
    try:
        for step in steps:
            step()
    except sqlite3.OperationalError as exc:
        raise RetryLater(f"alert store: {exc}") from None
