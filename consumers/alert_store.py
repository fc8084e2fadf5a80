"""The alerter's state in SQLite (the state database): matches, claims, digests, silences and the outbox.

Tables, each with the unique key that makes it idempotent:

- ``alert_matches`` (rule, item): every item that matched a rule, with the verdict; an item seen
  again (a replay, a second alerter process) is recognised here and never decided twice; kept for
  ``MATCH_RETENTION`` (consumers/alerter.py), after which a replayed item is decided again
  (a story already alerted still does not alert twice: its claim is kept);
- ``alert_claims`` (rule, story, seq): one row per alert of a story, ``seq`` 0 then 1, 2... on
  realerts; a digest claim waits in its window until the window is closed;
- ``alert_digests`` (rule, window start): a closed digest window;
- ``alert_outbox`` (alert id, action): one delivery per action, with status ``pending``, ``sent``,
  ``failed`` (parked after the retry budget) or ``silenced``; the target (masked,
  :mod:`consumers.targets`), attempts since it was (re-)queued, all attempts and re-queues, last error,
  lease;
- ``alert_silences`` (rule, story; ``''`` = the whole rule): until when;
- the windows, claims and terms of the ``spike``, ``frequency``, ``flatline`` and ``new_term`` rule
  kinds, read and written through :class:`~consumers.rule_kinds.state.KindState`
  (:attr:`AlertTransaction.kinds` inside a decision, :meth:`AlertStore.kinds` for reads).

Every decision is taken inside one ``BEGIN IMMEDIATE`` transaction (:meth:`AlertStore.transaction`),
so processes sharing the file serialise on it; the unique keys hold even if they did not. Delivery
leases one outbox row at a time before sending it, so two processes never send a row at the same
time. The remaining edge is described in ``docs/design.md`` (Alerter). The tables and the migrations
of older databases are in :mod:`consumers.alert_schema`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from consumers.alert_schema import dumps, open_schema, title_of
from consumers.rule_kinds.state import KindState
from consumers.rules import StoryHistory
from consumers.targets import shown_target
from pipeline.errors import RetryLater
from pipeline.transport.sqlite_common import connect, sqlite_path

__all__ = ["OutboxRow", "AlertRecord", "Silence", "AlertTransaction", "AlertStore", "STATUSES"]

STATUSES = ("pending", "sent", "failed", "silenced")

_Param = str | int | float  # a value bound to a ``?`` of a query

@dataclass(frozen=True)
class OutboxRow:
    """One delivery due: the alert document for one action of its rule."""

    id: int
    alert_id: str
    action: int
    rule: str
    target: str
    attempts: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class AlertRecord:
    """One outbox row as ``newsmon alerts list`` shows it."""

    id: int
    alert_id: str
    rule: str
    kind: str
    story_id: str
    title: str
    target: str
    status: str
    attempts: int  # since it was queued or last re-queued by ``alerts retry`` (the retry budget's count)
    last_error: str | None
    created_at: float
    sent_at: float | None
    next_attempt: float
    total_attempts: int  # every attempt, across re-queues
    requeued: int  # how often ``alerts retry`` put it back in the queue


@dataclass(frozen=True)
class Silence:
    rule: str
    story_id: str  # "" = the whole rule
    until: float
    reason: str


class AlertTransaction:
    """The reads and writes of one decision, inside :meth:`AlertStore.transaction`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.kinds = KindState(db)

    def add_match(self, rule: str, item_id: str, story_id: str, now: float) -> bool:
        """Record that the item matched the rule; False when it had matched before."""
        cursor = self._db.execute("INSERT OR IGNORE INTO alert_matches (rule, item_id, story_id, matched_at)"
                                  " VALUES (?, ?, ?, ?)", (rule, item_id, story_id, now))
        return cursor.rowcount == 1

    def set_verdict(self, rule: str, item_id: str, verdict: str) -> None:
        self._db.execute("UPDATE alert_matches SET verdict = ? WHERE rule = ? AND item_id = ?",
                         (verdict, rule, item_id))

    def history(self, rule: str, story_id: str, now: float) -> StoryHistory:
        last = self._db.execute("SELECT seq, claimed_at FROM alert_claims WHERE rule = ? AND story_id = ?"
                                " ORDER BY seq DESC LIMIT 1", (rule, story_id)).fetchone()
        silenced = self._db.execute("SELECT MAX(until) FROM alert_silences WHERE rule = ? AND story_id IN ('', ?)"
                                    " AND until > ?", (rule, story_id, now)).fetchone()[0]
        return StoryHistory(last[0] if last else None, last[1] if last else None, silenced)

    def add_claim(self, payload: dict[str, Any], item_id: str, now: float,
                  window: tuple[float, float] | None = None) -> tuple[float, float] | None:
        """Claim (rule, story, seq) for the payload; a digest claim goes to ``window``, or to the next
        open window when that one was closed meanwhile. Returns the window used."""
        rule, length = payload["rule"], (window[1] - window[0]) if window else 0.0
        while window and self._db.execute("SELECT 1 FROM alert_digests WHERE rule = ? AND start = ?",
                                          (rule, window[0])).fetchone():
            window = (window[0] + length, window[1] + length)
        self._db.execute(
            "INSERT INTO alert_claims (rule, story_id, seq, item_id, claimed_at, digest_start, digest_end, in_digest,"
            " payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rule, payload["story_id"], payload["seq"], item_id, now, window and window[0], window and window[1],
             1 if window else 0, dumps(payload)),
        )
        return window

    def add_outbox(self, payload: dict[str, Any], targets: Sequence[tuple[int, str]], now: float) -> int:
        """Queue the alert for each (action index, target); returns how many rows were new."""
        created = 0
        for action, target in targets:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO alert_outbox (alert_id, action, rule, kind, story_id, title, target, payload,"
                " next_attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (payload["id"], action, payload["rule"], payload["kind"], payload.get("story_id", ""),
                 title_of(payload), target, dumps(payload), now, now),
            )
            created += cursor.rowcount
        return created

    def close_digest(self, rule: str, start: float, now: float) -> list[dict[str, Any]] | None:
        """Close the rule's digest window; its story alerts oldest first, or None when already closed."""
        cursor = self._db.execute("INSERT OR IGNORE INTO alert_digests (rule, start, closed_at) VALUES (?, ?, ?)",
                                  (rule, start, now))
        if cursor.rowcount == 0:
            return None
        rows = self._db.execute("SELECT payload FROM alert_claims WHERE rule = ? AND digest_start = ? AND in_digest = 1"
                                " ORDER BY claimed_at, story_id", (rule, start)).fetchall()
        self._db.execute("UPDATE alert_claims SET in_digest = 0 WHERE rule = ? AND digest_start = ?", (rule, start))
        return [json.loads(payload) for (payload,) in rows]


class AlertStore:
    def __init__(self, url: str) -> None:
        self._db = connect(sqlite_path(url))
        open_schema(self._db, time.time())

    @contextmanager
    def transaction(self) -> Iterator[AlertTransaction]:
        """One write transaction taken up front (``BEGIN IMMEDIATE``); a busy or failing database is RetryLater."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise RetryLater(f"alert store: {exc}") from None
        try:
            yield AlertTransaction(self._db)
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._db.execute("ROLLBACK")
            raise RetryLater(f"alert store: {exc}") from None
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def kinds(self) -> KindState:
        """The rule kinds' state, for reads outside a transaction (committed state) and single-statement prunes."""
        return KindState(self._db)

    def due_digests(self, now: float) -> list[tuple[str, float, float]]:
        """(rule, start, end) of every digest window that has ended and still holds stories."""
        return self._db.execute("SELECT DISTINCT rule, digest_start, digest_end FROM alert_claims WHERE in_digest = 1"
                                " AND digest_end <= ? ORDER BY digest_start", (now,)).fetchall()

    def due(self, now: float, limit: int = 100) -> list[OutboxRow]:
        """Pending deliveries whose time has come and that nobody holds a lease on, oldest first."""
        rows = self._db.execute(
            "SELECT id, alert_id, action, rule, target, attempts, payload FROM alert_outbox WHERE status = 'pending'"
            " AND next_attempt <= ? AND lease_until <= ? ORDER BY id LIMIT ?", (now, now, limit)).fetchall()
        return [OutboxRow(row_id, alert_id, action, rule, target, attempts, json.loads(payload))
                for row_id, alert_id, action, rule, target, attempts, payload in rows]

    def lease(self, row_id: int, now: float, seconds: float) -> bool:
        """Take the row for ``seconds`` unless another process holds it or it is no longer pending."""
        cursor = self._db.execute("UPDATE alert_outbox SET lease_until = ? WHERE id = ? AND status = 'pending'"
                                  " AND lease_until <= ?", (now + seconds, row_id, now))
        return cursor.rowcount == 1

    def mark_sent(self, row_id: int, now: float) -> None:
        self._db.execute("UPDATE alert_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                         " total_attempts = total_attempts + 1, lease_until = 0, last_error = NULL WHERE id = ?",
                         (now, row_id))

    def mark_retry(self, row_id: int, error: str, next_attempt: float) -> None:
        self._db.execute("UPDATE alert_outbox SET attempts = attempts + 1, total_attempts = total_attempts + 1,"
                         " last_error = ?, next_attempt = ?, lease_until = 0 WHERE id = ?",
                         (error, next_attempt, row_id))

    def retarget(self, row_id: int, target: str) -> None:
        """Store the row under ``target`` (a row queued by an older version under its old target text)."""
        self._db.execute("UPDATE alert_outbox SET target = ? WHERE id = ?", (target, row_id))

    def bring_forward(self, target: str, now: float) -> int:
        """Make every pending delivery to ``target`` that waits for a later retry due now (its receiver
        answers again); returns how many."""
        cursor = self._db.execute("UPDATE alert_outbox SET next_attempt = ? WHERE status = 'pending' AND target = ?"
                                  " AND next_attempt > ?", (now, target, now))
        return cursor.rowcount

    def mark_failed(self, row_id: int, error: str) -> None:
        self._db.execute("UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1,"
                         " total_attempts = total_attempts + 1, last_error = ?, lease_until = 0 WHERE id = ?",
                         (error, row_id))

    def requeue(self, now: float, ids: Sequence[int] = (), rule: str | None = None) -> int:
        """Put parked (failed) deliveries back in the queue with a fresh retry budget: the given ids,
        or with no ids every failed one (of ``rule``, when given). ``attempts`` starts again from 0;
        ``total_attempts`` keeps counting and ``requeued`` counts the re-queues. Returns how many."""
        where = "status = 'failed'"
        params: list[_Param] = [now]
        if ids:
            where += f" AND id IN ({', '.join('?' for _ in ids)})"
            params += list(ids)
        if rule:
            where += " AND rule = ?"
            params.append(rule)
        cursor = self._db.execute("UPDATE alert_outbox SET status = 'pending', attempts = 0, requeued = requeued + 1,"
                                  f" next_attempt = ?, lease_until = 0 WHERE {where}", params)
        return cursor.rowcount

    def get(self, row_id: int) -> AlertRecord | None:
        found = self.records(ids=(row_id,))
        return found[0] if found else None

    def records(self, status: str | None = None, rule: str | None = None, limit: int = 50,
                ids: Sequence[int] = ()) -> list[AlertRecord]:
        """Outbox rows, newest first, optionally of one status, one rule or the given ids."""
        clauses: list[str] = ["1 = 1"]
        params: list[_Param] = []
        for column, value in (("status", status), ("rule", rule)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if ids:
            clauses.append(f"id IN ({', '.join('?' for _ in ids)})")
            params += list(ids)
        rows = self._db.execute(
            "SELECT id, alert_id, rule, kind, story_id, title, target, status, attempts, last_error, created_at,"
            " sent_at, next_attempt, total_attempts, requeued FROM alert_outbox"
            f" WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
        return [replace(record, target=shown_target(record.target)) for record in (AlertRecord(*row) for row in rows)]

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT status, COUNT(*) FROM alert_outbox GROUP BY status").fetchall())

    def verdict_counts(self, rule: str | None = None) -> dict[str, int]:
        """How many matches got each verdict (alert, digest, duplicate, silenced)."""
        sql = "SELECT verdict, COUNT(*) FROM alert_matches" + (" WHERE rule = ?" if rule else "") + " GROUP BY verdict"
        return dict(self._db.execute(sql, (rule,) if rule else ()).fetchall())

    def silence(self, rule: str, story_id: str, until: float, reason: str, now: float) -> int:
        """Silence the rule (``story_id`` "") or one story until ``until``; pending deliveries it covers
        are set aside as ``silenced``. Returns how many were set aside."""
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO alert_silences (rule, story_id, until, created_at, reason)"
                             " VALUES (?, ?, ?, ?, ?)", (rule, story_id, until, now, reason))
            story_clause = " AND story_id = ?" if story_id else ""
            cursor = self._db.execute("UPDATE alert_outbox SET status = 'silenced', lease_until = 0 WHERE"
                                      f" status = 'pending' AND rule = ?{story_clause}",
                                      (rule, story_id) if story_id else (rule,))
        return cursor.rowcount

    def unsilence(self, rule: str, story_id: str) -> bool:
        cursor = self._db.execute("DELETE FROM alert_silences WHERE rule = ? AND story_id = ?", (rule, story_id))
        return cursor.rowcount == 1

    def prune_matches(self, before: float) -> int:
        """Forget the matches recorded before ``before`` (claims, digests and the outbox are kept)."""
        return self._db.execute("DELETE FROM alert_matches WHERE matched_at < ?", (before,)).rowcount

    def silences(self, now: float) -> list[Silence]:
        rows = self._db.execute("SELECT rule, story_id, until, reason FROM alert_silences WHERE until > ?"
                                " ORDER BY rule, story_id", (now,)).fetchall()
        return [Silence(*row) for row in rows]

    def close(self) -> None:
        self._db.close()

