"""The windowed and new-term rule kinds inside the alerter stage: count or watch each match, fire,
and close windows, each decision in one ``BEGIN IMMEDIATE`` transaction on the state database.

A match of a ``spike``, ``frequency`` or ``flatline`` rule (:meth:`KindRecorder.record`), in one
transaction: the (rule, item) match is recorded (a replay or another process's copy stops here); the
item's window is found on its event time; a window the rule has closed already makes the item late
(not counted); else the story is counted in its window once per key, and for spike and frequency the
window is judged at once and, when it fires, claimed under (rule, key, window) and queued in the
outbox in the same transaction. A ``new_term`` match records the mentions of its field's values and
fires, claimed the same way, on the first.

:meth:`KindRecorder.close` runs when the stage is idle (caught up with the log): for each windowed
rule, one transaction moves the rule's mark to the end of the latest window whose grace is over and,
for flatline, judges the windows it closes. Several processes serialise on the write lock and the
claims' primary key holds even if they did not, so a (rule, key, window) alerts once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from consumers.alert_store import AlertStore, AlertTransaction
from consumers.rule_kinds.policy import (
    KeyValue,
    closed_bound,
    event_time,
    fires_closed,
    fires_open,
    history_start,
    is_late,
    key_values,
    term_alerts,
    term_is_new,
    trailing_average,
    window_of,
    windows_to_close,
)
from consumers.rule_kinds.state import WindowStory
from pipeline.alerting.envelope import MAX_WINDOW_STORIES, new_term_alert, story_brief, window_alert
from pipeline.alerting.kinds import WINDOW_KINDS
from pipeline.alerting.rules import RuleSpec

__all__ = ["Queue", "KindRecorder"]

logger = logging.getLogger("consumers.alerter")
_quiet = logging.getLogger("consumers.rule_kinds.quiet")  # for backtests: decisions are shown, not logged
_quiet.disabled, _quiet.propagate = True, False

Queue = Callable[[AlertTransaction, dict[str, Any], RuleSpec, float], None]  # puts an alert in the outbox


class KindRecorder:
    """Decides for the rules whose ``kind`` is not ``item``; ``queue`` puts a fired alert in the outbox
    inside the deciding transaction."""

    def __init__(self, rules: Sequence[RuleSpec], store: AlertStore, queue: Queue, quiet: bool = False) -> None:
        self.log = _quiet if quiet else logger
        self.windowed = [rule for rule in rules if rule.kind in WINDOW_KINDS]
        self.watching = [rule for rule in rules if rule.kind == "new_term"]
        self.store, self.queue = store, queue
        self._closed: dict[str, float] = {}  # the bound this process saw each rule closed to

    def record(self, rule: RuleSpec, doc: dict[str, Any], item: dict[str, Any], now: float) -> str:
        """Count (windowed kinds) or watch (new_term) a matching item; returns the verdict recorded:
        ``fired``, ``silenced`` (it would have fired), ``counted``, ``repeat`` (its story was counted
        already), ``late``, ``no_key``, ``known``, ``learned`` (a new term during warmup or from an old
        story), or ``replay`` (not recorded again)."""
        story_id = item.get("story_id") or item["id"]
        with self.store.transaction() as tx:
            if not tx.add_match(rule.name, item["id"], story_id, now):
                return "replay"
            decide = self._terms if rule.kind == "new_term" else self._count
            verdict = decide(tx, rule, doc, item, now)
            tx.set_verdict(rule.name, item["id"], verdict)
        level = logging.INFO if verdict in ("fired", "late") else logging.DEBUG
        self.log.log(level, "event=match rule=%s kind=%s story=%s item=%s verdict=%s", rule.name, rule.kind,
                     story_id, item["id"], verdict)
        return verdict

    def _count(self, tx: AlertTransaction, rule: RuleSpec, doc: dict[str, Any], item: dict[str, Any],
               now: float) -> str:
        assert rule.window is not None
        moment = event_time(doc)
        start = window_of(moment, rule.window)[0]
        if is_late(start, rule.window, tx.kinds.mark(rule.name)):
            return "late"
        first = history_start(tx.kinds.started(rule.name, moment), rule.window)
        values = key_values(doc, rule.group_by)
        story = WindowStory(item.get("story_id") or item["id"], "", moment, now, story_brief(item))
        outcomes: set[str] = set()
        for value in values:
            if not tx.kinds.add_story(rule.name, value.key, start, replace(story, label=value.label), item["id"]):
                continue
            outcomes.add("counted")
            if rule.kind != "flatline" and not tx.kinds.claimed(rule.name, value.key, start):
                outcomes.add(self._judge(tx, rule, value, start, first, now) or "counted")
        return _verdict(outcomes) if outcomes else "repeat" if values else "no_key"

    def _judge(self, tx: AlertTransaction, rule: RuleSpec, value: KeyValue, start: float, first: float | None,
               now: float) -> str | None:
        """spike and frequency, after a story was counted in the key's window: fire when it crosses."""
        assert rule.window is not None
        count = tx.kinds.count(rule.name, value.key, start)
        baseline = None
        if rule.kind == "spike":
            since = start - rule.baseline_windows * rule.window
            baseline = trailing_average(tx.kinds.counts(rule.name, value.key, since, start), start, rule, first)
        return self._fire(tx, rule, value.key, start, count, baseline, now) if fires_open(rule, count, baseline) \
            else None

    def _fire(self, tx: AlertTransaction, rule: RuleSpec, key: str, start: float, count: int,
              baseline: float | None, now: float) -> str | None:
        """Claim the (rule, key, window) alert and queue it unless the rule is silenced: ``fired`` or
        ``silenced``; None when it was claimed before."""
        assert rule.window is not None
        stories = tx.kinds.stories(rule.name, key, start, MAX_WINDOW_STORIES)
        label = stories[0].label if stories else key
        payload = window_alert(rule, (start, start + rule.window), (key, label), count, baseline,
                               [(s.story_id, s.event_at, s.brief) for s in stories], now)
        if not tx.kinds.claim(rule.name, key, start, rule.kind, payload["id"], count, now):
            return None
        outcome = "silenced" if _silenced(tx, rule, "", now) else "fired"
        if outcome == "fired":
            self.queue(tx, payload, rule, now)
        self.log.info("event=window_%s rule=%s kind=%s key=%r start=%d count=%d baseline=%s", outcome, rule.name,
                      rule.kind, label, start, count, "-" if baseline is None else f"{baseline:.2f}")
        return outcome

    def _terms(self, tx: AlertTransaction, rule: RuleSpec, doc: dict[str, Any], item: dict[str, Any],
               now: float) -> str:
        moment = event_time(doc)
        started = tx.kinds.started(rule.name, moment)
        values = key_values(doc, rule.term_field)
        verdict = "known" if values else "no_key"
        for value in values:
            new = term_is_new(tx.kinds.last_seen(rule.name, value.key), moment, rule.lookback)
            tx.kinds.see_term(rule.name, value.key, value.label, moment, new)
            if not new:
                continue
            if not term_alerts(rule, moment, now, started):
                verdict = "learned" if verdict == "known" else verdict
                continue
            payload = new_term_alert(rule, item, (value.key, value.label), moment, now)
            if not tx.kinds.claim(rule.name, value.key, moment, "new_term", payload["id"], 1, now):
                continue
            silenced = _silenced(tx, rule, payload["story_id"], now)
            if not silenced:
                self.queue(tx, payload, rule, now)
            self.log.info("event=new_term rule=%s field=%s term=%r item=%s silenced=%s", rule.name, rule.term_field,
                          value.label, item["id"], silenced)
            verdict = "fired" if not silenced or verdict == "fired" else "silenced"
        return verdict

    def close(self, now: float) -> None:
        """Close, for every windowed rule, the windows whose grace is over at ``now``; call it only
        when caught up with the log (the stage's idle), so a backlog is counted first."""
        for rule in self.windowed:
            bound = closed_bound(now, rule)
            if self._closed.get(rule.name, -math.inf) >= bound:
                continue
            mark = self.store.kinds().mark(rule.name)
            if mark is None or mark < bound:
                with self.store.transaction() as tx:
                    self._close(tx, rule, bound, now)
            self._closed[rule.name] = bound

    def _close(self, tx: AlertTransaction, rule: RuleSpec, bound: float, now: float) -> None:
        """Move the rule's mark to ``bound``, judging the flatline windows it closes. A rule closed for
        the first time judges none: flatline watches from the first window that starts after it
        (an alerter that just took the rule on may have seen only part of the current one)."""
        assert rule.window is not None
        mark, watch_from = tx.kinds.mark(rule.name), tx.kinds.watch_from(rule.name)
        if mark is not None and mark >= bound:
            return  # another process closed them meanwhile
        if mark is not None and watch_from is not None and rule.kind == "flatline":
            for start in windows_to_close(mark, bound, rule.window):
                count = tx.kinds.count(rule.name, "", start)
                if start >= watch_from and fires_closed(rule, count):
                    self._fire(tx, rule, "", start, count, None, now)  # a silenced rule claims, sends nothing
        tx.kinds.set_mark(rule.name, bound, window_of(now, rule.window)[1], now)
        self.log.debug("event=windows_closed rule=%s until=%d", rule.name, bound)

    def prune(self, now: float, retention: float, configured: Sequence[str]) -> int:
        """Forget counted stories no spike baseline reads any more, terms long unseen, and what
        rules no longer configured left behind ``retention`` ago. Returns the rows removed."""
        kinds, removed = self.store.kinds(), 0
        for rule in self.windowed:
            assert rule.window is not None
            mark = kinds.mark(rule.name)
            if mark is not None:
                removed += kinds.prune_windows(rule.name, mark - (rule.baseline_windows + 2) * rule.window)
        for rule in self.watching:
            removed += kinds.prune_terms(rule.name, now - 2 * rule.lookback)
        return removed + kinds.prune_stale(now - retention, configured)


def _silenced(tx: AlertTransaction, rule: RuleSpec, story_id: str, now: float) -> bool:
    """Whether ``alerts silence`` covers the rule (or, for a new term, its story) now."""
    until = tx.history(rule.name, story_id, now).silenced_until
    return until is not None and until > now


def _verdict(outcomes: set[str]) -> str:
    """One verdict for an item counted under several keys: fired, else silenced, else counted."""
    return next(v for v in ("fired", "silenced", "counted") if v in outcomes)
