"""Delivery from the outbox: lease one due alert, send it with its action, record the outcome.

- sent: marked ``sent`` with the time;
- RetryLater (timeout, 5xx, 429...): retried after a capped, jittered exponential backoff that is
  never shorter than the receiver's Retry-After, until the action's ``max_attempts`` is spent,
  then parked as ``failed`` (``newsmon alerts list --status failed``, ``alerts retry``);
- PermanentError, or a bug while rendering: parked as ``failed`` at once, with the error.

Rows are keyed by the action's masked target (:mod:`consumers.targets`), which is also what the log
lines show; a row queued under an older version's target text is still delivered, and rewritten to
the masked form. A target that failed with RetryLater is skipped for the rest of the round, so one
receiver that times out does not hold up alerts for the others. Each row is leased just before it is
sent, for long enough to cover the action's timeouts, so two processes never send it at the same time.

Recovery: a receiver that did not answer at all (:class:`~pipeline.errors.Unreachable`: connection
refused, unknown host) and whose address still refuses a TCP connection is probed every
:data:`PROBE_SECONDS` (:func:`pipeline.probe.accepts_connections`, nothing sent); when it accepts
one, its deliveries waiting for a retry are made due at once, so alerts flow again within about a
second of the receiver coming back instead of after a backoff of up to :data:`RETRY_MAX`. A
receiver that answers with an error (5xx, 429, a stall) is not probed: only a delivery can tell it
is well again, and the backoff paces those.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from consumers.alert_store import AlertStore, OutboxRow
from consumers.targets import legacy_targets
from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels import channel
from pipeline.alerting.channels import send as send_alert
from pipeline.alerting.rules import RuleSpec
from pipeline.backoff import backoff_delay
from pipeline.errors import PermanentError, RetryLater, Unreachable
from pipeline.probe import accepts_connections

__all__ = ["Sender", "Probe", "Deliverer", "RETRY_BASE", "RETRY_MAX", "LEASE", "PROBE_SECONDS", "address_of"]

logger = logging.getLogger(__name__)

Sender = Callable[[ActionSpec, dict], None]
Probe = Callable[[str, int], bool]  # (host, port) -> accepts a connection now
RETRY_BASE, RETRY_MAX, LEASE = 2.0, 600.0, 60.0
PROBE_SECONDS = 1.0  # how often an unreachable receiver's address is probed


def address_of(action: ActionSpec) -> tuple[str, int] | None:
    """The (host, port) an action connects to, as its channel says; None when it has none (a log
    action, a bad URL)."""
    return channel(action.type).address(action)


class Deliverer:
    def __init__(self, rules: Mapping[str, RuleSpec], store: AlertStore, send: Sender = send_alert,
                 clock: Callable[[], float] = time.time, probe: Probe = accepts_connections) -> None:
        self.rules, self.store, self.send, self.clock, self.probe = rules, store, send, clock, probe
        self._unreachable: dict[str, tuple[tuple[str, int], float]] = {}  # target -> (address, probed at)

    def deliver_due(self) -> int:
        """Probe the receivers that did not answer, then try every delivery that is due; returns how
        many were sent."""
        self._probe_unreachable()
        failing: set[str] = set()
        sent = 0
        for row in self.store.due(self.clock()):
            action = self._action(row)
            if action is None:
                self.store.mark_failed(row.id, "rule or action no longer configured")
                continue
            row = self._current_target(row, action)
            if row.target in failing:
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
        """The configured action of the row: by index, else the one with the same target; a row an
        older version queued under its old target text (:func:`consumers.targets.legacy_targets`)
        is matched the same way."""
        rule = self.rules.get(row.rule)
        if rule is None:
            return None
        for names in (lambda a: {a.target}, legacy_targets):
            if row.action < len(rule.actions) and row.target in names(rule.actions[row.action]):
                return rule.actions[row.action]
            found = next((a for a in rule.actions if row.target in names(a)), None)
            if found is not None:
                return found
        return None

    def _current_target(self, row: OutboxRow, action: ActionSpec) -> OutboxRow:
        """The row under its action's current (masked) target, rewritten in the store if it had an old one."""
        if row.target == action.target:
            return row
        self.store.retarget(row.id, action.target)
        return replace(row, target=action.target)

    def _attempt(self, row: OutboxRow, action: ActionSpec) -> bool | None:
        """True: sent; False: to be retried (the target is failing); None: parked as failed."""
        started = self.clock()
        try:
            self.send(action, row.payload)
        except RetryLater as exc:
            self._retry_or_park(row, action, str(exc), exc.retry_after)
            if isinstance(exc, Unreachable):
                self._watch(row.target, action)
            return False
        except PermanentError as exc:
            self._park(row, str(exc))
            return None
        except Exception as exc:  # a bug rendering one alert must not stop the stage
            logger.exception("event=alert_bug rule=%s id=%s target=%s", row.rule, row.alert_id, row.target)
            self._park(row, f"{type(exc).__name__}: {exc}")
            return None
        now = self.clock()
        self._unreachable.pop(row.target, None)
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

    def _watch(self, target: str, action: ActionSpec) -> None:
        """Probe ``target`` from now on if its address refuses connections (one that accepts them
        failed for another reason, such as TLS, which the backoff paces)."""
        address = address_of(action)
        if address is not None and target not in self._unreachable and not self.probe(*address):
            self._unreachable[target] = (address, self.clock())

    def _probe_unreachable(self) -> None:
        now = self.clock()
        for target, (address, probed_at) in list(self._unreachable.items()):
            if now - probed_at < PROBE_SECONDS:
                continue
            if not self.probe(*address):
                self._unreachable[target] = (address, now)
                continue
            del self._unreachable[target]
            due = self.store.bring_forward(target, now)
            logger.info("event=receiver_reachable target=%s deliveries_due=%d", target, due)
