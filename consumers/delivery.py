"""Delivery from the outbox: lease one due alert, send it with its action, record the outcome.

- sent: marked ``sent`` with the time;
- RetryLater (timeout, 5xx, 429...): retried after a capped, jittered exponential backoff that is
  never shorter than the receiver's Retry-After, until the action's ``max_attempts`` is spent,
  then parked as ``failed`` (``newsmon alerts list --status failed``, ``alerts retry``);
- PermanentError, or a bug while rendering: parked as ``failed`` at once, with the error.

A target that failed with RetryLater is skipped for the rest of the round, so one receiver that
times out does not hold up alerts for the others. Each row is leased just before it is sent, for
long enough to cover the action's timeouts, so two processes never send it at the same time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from consumers.actions import send as send_alert
from consumers.alert_store import AlertStore, OutboxRow
from pipeline.backoff import backoff_delay
from pipeline.errors import PermanentError, RetryLater
from pipeline.rule_settings import ActionSpec, RuleSpec

__all__ = ["Sender", "Deliverer", "RETRY_BASE", "RETRY_MAX", "LEASE"]

logger = logging.getLogger(__name__)

Sender = Callable[[ActionSpec, dict], None]
RETRY_BASE, RETRY_MAX, LEASE = 2.0, 600.0, 60.0


class Deliverer:
    def __init__(self, rules: Mapping[str, RuleSpec], store: AlertStore, send: Sender = send_alert,
                 clock: Callable[[], float] = time.time) -> None:
        self.rules, self.store, self.send, self.clock = rules, store, send, clock

    def deliver_due(self) -> int:
        """Try every delivery that is due; returns how many were sent."""
        failing: set[str] = set()
        sent = 0
        for row in self.store.due(self.clock()):
            if row.target in failing:
                continue
            action = self._action(row)
            if action is None:
                self.store.mark_failed(row.id, "rule or action no longer configured")
                continue
            if not self.store.lease(row.id, self.clock(), max(LEASE, 6 * action.timeout)):
                continue  # another process took it
            outcome = self._attempt(row, action)
            if outcome:
                sent += 1
            elif outcome is False:
                failing.add(row.target)
        return sent

    def _action(self, row: OutboxRow) -> ActionSpec | None:
        """The configured action of the row: by index, else the one with the same target."""
        rule = self.rules.get(row.rule)
        if rule is None:
            return None
        if row.action < len(rule.actions) and rule.actions[row.action].target == row.target:
            return rule.actions[row.action]
        return next((a for a in rule.actions if a.target == row.target), None)

    def _attempt(self, row: OutboxRow, action: ActionSpec) -> bool | None:
        """True: sent; False: to be retried (the target is failing); None: parked as failed."""
        started = self.clock()
        try:
            self.send(action, row.payload)
        except RetryLater as exc:
            self._retry_or_park(row, action, str(exc), exc.retry_after)
            return False
        except PermanentError as exc:
            self._park(row, str(exc))
            return None
        except Exception as exc:  # a bug rendering one alert must not stop the stage
            logger.exception("event=alert_bug rule=%s id=%s target=%s", row.rule, row.alert_id, row.target)
            self._park(row, f"{type(exc).__name__}: {exc}")
            return None
        now = self.clock()
        self.store.mark_sent(row.id, now)
        logger.info("event=alert_sent rule=%s id=%s target=%s attempt=%d seconds=%.3f", row.rule, row.alert_id,
                    row.target, row.attempts + 1, now - started)
        return True

    def _park(self, row: OutboxRow, error: str) -> None:
        logger.error("event=alert_failed rule=%s id=%s target=%s attempts=%d error=%s", row.rule, row.alert_id,
                     row.target, row.attempts + 1, error)
        self.store.mark_failed(row.id, error)

    def _retry_or_park(self, row: OutboxRow, action: ActionSpec, error: str, hint: float | None) -> None:
        if row.attempts + 1 >= action.max_attempts:
            self._park(row, error)
            return
        delay = backoff_delay(RETRY_BASE, RETRY_MAX, row.attempts, hint)
        logger.warning("event=alert_retry rule=%s id=%s target=%s attempt=%d retry_in=%.1fs error=%s", row.rule,
                       row.alert_id, row.target, row.attempts + 1, delay, error)
        self.store.mark_retry(row.id, error, self.clock() + delay)
