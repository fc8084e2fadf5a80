"""The alerter's tables in the state database, and the migrations that bring an older database up to date.

The tables of the windowed and new-term rule kinds (``alert_window_*``, ``alert_terms``,
``alert_rule_starts``, :mod:`consumers.rule_kinds.state`) are new tables, created where missing; an
older database needs no migration for them.

:func:`open_schema` creates what is missing and runs, once per database, each migration not yet
recorded in ``alert_migrations`` (one ``BEGIN IMMEDIATE`` transaction each, so processes opening the
same file at once apply it once):

- ``first-outbox``: the rows of the first outbox table (``alerts``), if it is there, move to
  ``alert_claims`` and ``alert_outbox``;
- ``attempt-totals``: ``total_attempts`` (every attempt, never reset) and ``requeued`` (how often
  ``alerts retry`` put the row back) are added; a row's total starts at the attempts it already had;
- ``masked-targets``: stored ``webhook:<url>`` targets, which printed a token carried in the URL's
  path, are rewritten in the masked form (:func:`consumers.targets.shown_target`); delivery still
  recognises the old texts (:func:`consumers.targets.legacy_targets`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from consumers.targets import shown_target

__all__ = ["SCHEMA", "open_schema", "dumps", "title_of"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_matches (rule TEXT NOT NULL, item_id TEXT NOT NULL, story_id TEXT NOT NULL,
  matched_at REAL NOT NULL, verdict TEXT NOT NULL DEFAULT '', PRIMARY KEY (rule, item_id));
CREATE TABLE IF NOT EXISTS alert_claims (rule TEXT NOT NULL, story_id TEXT NOT NULL, seq INTEGER NOT NULL,
  item_id TEXT NOT NULL, claimed_at REAL NOT NULL, digest_start REAL, digest_end REAL,
  in_digest INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL, PRIMARY KEY (rule, story_id, seq));
CREATE INDEX IF NOT EXISTS alert_claims_open_digests ON alert_claims(digest_end) WHERE in_digest = 1;
CREATE TABLE IF NOT EXISTS alert_digests (rule TEXT NOT NULL, start REAL NOT NULL, closed_at REAL NOT NULL,
  PRIMARY KEY (rule, start));
CREATE TABLE IF NOT EXISTS alert_outbox (id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, action INTEGER NOT NULL,
  rule TEXT NOT NULL, kind TEXT NOT NULL, story_id TEXT NOT NULL, title TEXT NOT NULL, target TEXT NOT NULL,
  payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt REAL NOT NULL, lease_until REAL NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL,
  sent_at REAL, UNIQUE (alert_id, action));
CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox(status, next_attempt);
CREATE INDEX IF NOT EXISTS alert_matches_time ON alert_matches(matched_at);
CREATE TABLE IF NOT EXISTS alert_silences (rule TEXT NOT NULL, story_id TEXT NOT NULL, until REAL NOT NULL,
  created_at REAL NOT NULL, reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (rule, story_id));
CREATE TABLE IF NOT EXISTS alert_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alert_window_stories (rule TEXT NOT NULL, key TEXT NOT NULL, start REAL NOT NULL,
  story_id TEXT NOT NULL, label TEXT NOT NULL, item_id TEXT NOT NULL, event_at REAL NOT NULL, added_at REAL NOT NULL,
  brief TEXT NOT NULL, PRIMARY KEY (rule, key, start, story_id));
CREATE INDEX IF NOT EXISTS alert_window_stories_start ON alert_window_stories(rule, start);
CREATE TABLE IF NOT EXISTS alert_window_marks (rule TEXT PRIMARY KEY, closed_until REAL NOT NULL,
  watch_from REAL NOT NULL, closed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alert_window_claims (rule TEXT NOT NULL, key TEXT NOT NULL, start REAL NOT NULL,
  kind TEXT NOT NULL, alert_id TEXT NOT NULL, count INTEGER NOT NULL, claimed_at REAL NOT NULL,
  PRIMARY KEY (rule, key, start));
CREATE TABLE IF NOT EXISTS alert_terms (rule TEXT NOT NULL, term TEXT NOT NULL, label TEXT NOT NULL,
  first_seen REAL NOT NULL, last_seen REAL NOT NULL, PRIMARY KEY (rule, term));
CREATE TABLE IF NOT EXISTS alert_rule_starts (rule TEXT PRIMARY KEY, started REAL NOT NULL);
"""


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def title_of(payload: dict[str, Any]) -> str:
    """What ``alerts list`` shows of an alert: the story's title, how many stories a digest holds, a
    window's count (and key), or the new term."""
    kind = payload.get("kind")
    if kind == "digest":
        return f"digest of {len(payload.get('stories') or [])} stories"
    if kind in ("spike", "frequency", "flatline"):
        key = f" {payload.get('group_by')}={payload['key']}" if payload.get("key") else ""
        count = int(payload.get("count") or 0)
        return f"{kind}{key}: {count} {'story' if count == 1 else 'stories'}"
    if kind == "new_term":
        return f"new {payload.get('field')} {payload.get('term')}: {(payload.get('item') or {}).get('title') or ''}"
    return str((payload.get("item") or {}).get("title") or "")


def _first_outbox(db: sqlite3.Connection) -> None:
    """Carry alerts of the first outbox table (``alerts``, one row per rule, story, action) over."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").fetchone():
        return
    rows = db.execute("SELECT rule, story_id, action, item_id, target, payload, status, attempts, next_attempt,"
                      " last_error, created_at, sent_at FROM alerts").fetchall()
    for rule, story_id, action, item_id, target, old, status, attempts, due, error, created, sent in rows:
        payload = {"schema": "newsmon.alert/1", "id": f"{rule}/story/{story_id}/0", "kind": "story", "rule": rule,
                   "severity": "warning", "query": "", "story_id": story_id, "seq": 0, **json.loads(old)}
        payload.setdefault("created_at", payload.get("matched_at", ""))
        db.execute("INSERT OR IGNORE INTO alert_claims (rule, story_id, seq, item_id, claimed_at, payload)"
                   " VALUES (?, ?, 0, ?, ?, ?)", (rule, story_id, item_id, created, dumps(payload)))
        db.execute("INSERT OR IGNORE INTO alert_outbox (alert_id, action, rule, kind, story_id, title, target, payload,"
                   " status, attempts, next_attempt, last_error, created_at, sent_at)"
                   " VALUES (?, ?, ?, 'story', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (payload["id"], action, rule, story_id, title_of(payload),
                    target if target == "log" else f"webhook:{target}", dumps(payload), status,
                    attempts, due, error, created, sent))
    db.execute("DROP TABLE alerts")


def _attempt_totals(db: sqlite3.Connection) -> None:
    columns = {row[1] for row in db.execute("PRAGMA table_info(alert_outbox)")}
    if "total_attempts" not in columns:
        db.execute("ALTER TABLE alert_outbox ADD COLUMN total_attempts INTEGER NOT NULL DEFAULT 0")
        db.execute("UPDATE alert_outbox SET total_attempts = attempts")
    if "requeued" not in columns:
        db.execute("ALTER TABLE alert_outbox ADD COLUMN requeued INTEGER NOT NULL DEFAULT 0")


def _masked_targets(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id, target FROM alert_outbox WHERE target LIKE 'webhook:%'").fetchall()
    for row_id, target in rows:
        shown = shown_target(target)
        if shown != target:
            db.execute("UPDATE alert_outbox SET target = ? WHERE id = ?", (shown, row_id))


_MIGRATIONS: tuple[tuple[str, Callable[[sqlite3.Connection], None]], ...] = (
    ("first-outbox", _first_outbox), ("attempt-totals", _attempt_totals), ("masked-targets", _masked_targets))


def open_schema(db: sqlite3.Connection, now: float) -> None:
    """Create the tables and apply the migrations this database has not had yet."""
    db.executescript(SCHEMA)
    done = {name for (name,) in db.execute("SELECT name FROM alert_migrations")}
    for name, migrate in _MIGRATIONS:
        if name not in done:
            _apply(db, name, migrate, now)


def _apply(db: sqlite3.Connection, name: str, migrate: Callable[[sqlite3.Connection], None], now: float) -> None:
    """One migration in one write transaction, unless another process applied it meanwhile."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if not db.execute("SELECT 1 FROM alert_migrations WHERE name = ?", (name,)).fetchone():
            migrate(db)
            db.execute("INSERT INTO alert_migrations (name, applied_at) VALUES (?, ?)", (name, now))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
