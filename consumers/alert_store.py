"""The alert outbox in SQLite: one claim per (rule, story, action), then delivery with retries.

Claiming inserts the row under a unique key, so a story seen again (another outlet, a replay, a
second alerter process) never creates a second alert. Delivery takes a short lease on a row before
sending, so two processes do not send the same alert at once. The remaining edge: a process that
crashes after the receiver accepted but before it marked the row sent will send it again once the
lease expires.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeline.transport.sqlite_common import connect, sqlite_path

__all__ = ["PendingAlert", "AlertStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, rule TEXT NOT NULL, story_id TEXT NOT NULL,
  action INTEGER NOT NULL, item_id TEXT NOT NULL, target TEXT NOT NULL, payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
  lease_until REAL NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL, sent_at REAL,
  UNIQUE (rule, story_id, action));
CREATE INDEX IF NOT EXISTS alerts_due ON alerts(status, next_attempt);
"""


@dataclass(frozen=True)
class PendingAlert:
    id: int
    rule: str
    action: int
    attempts: int
    payload: dict[str, Any]


class AlertStore:
    def __init__(self, url: str) -> None:
        self._db = connect(sqlite_path(url))
        self._db.executescript(_SCHEMA)

    def claim(self, rule: str, story_id: str, action: int, item_id: str, target: str,
              payload: dict[str, Any], now: float) -> bool:
        """Create the alert unless this (rule, story, action) already has one; True when created."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO alerts (rule, story_id, action, item_id, target, payload, next_attempt, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rule, story_id, action, item_id, target, json.dumps(payload, ensure_ascii=False), now, now),
        )
        return cursor.rowcount == 1

    def lease_due(self, now: float, lease_seconds: float, limit: int = 50) -> list[PendingAlert]:
        """Pending alerts whose time has come, each leased to this caller for ``lease_seconds``."""
        rows = self._db.execute(
            "SELECT id, rule, action, attempts, payload FROM alerts WHERE status = 'pending' AND next_attempt <= ?"
            " AND lease_until <= ? ORDER BY id LIMIT ?", (now, now, limit),
        ).fetchall()
        leased = []
        for alert_id, rule, action, attempts, payload in rows:
            cursor = self._db.execute(
                "UPDATE alerts SET lease_until = ? WHERE id = ? AND status = 'pending' AND lease_until <= ?",
                (now + lease_seconds, alert_id, now),
            )
            if cursor.rowcount == 1:
                leased.append(PendingAlert(alert_id, rule, action, attempts, json.loads(payload)))
        return leased

    def mark_sent(self, alert_id: int, now: float) -> None:
        self._db.execute(
            "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1, lease_until = 0, last_error = NULL"
            " WHERE id = ?", (now, alert_id),
        )

    def mark_retry(self, alert_id: int, error: str, next_attempt: float) -> None:
        self._db.execute(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ?, next_attempt = ?, lease_until = 0 WHERE id = ?",
            (error, next_attempt, alert_id),
        )

    def mark_failed(self, alert_id: int, error: str) -> None:
        self._db.execute(
            "UPDATE alerts SET status = 'failed', attempts = attempts + 1, last_error = ?, lease_until = 0 WHERE id = ?",
            (error, alert_id),
        )

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall())

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT rule, story_id, item_id, target, status, attempts, last_error, created_at, sent_at FROM alerts"
            " ORDER BY id DESC LIMIT ?", (limit,),
        ).fetchall()
        keys = ("rule", "story_id", "item_id", "target", "status", "attempts", "last_error", "created_at", "sent_at")
        return [dict(zip(keys, row)) for row in rows]

    def close(self) -> None:
        self._db.close()
