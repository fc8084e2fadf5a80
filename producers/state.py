"""Persistent producer state in SQLite: per-feed validators, schedule and health, ids already
published, and content fingerprints for near-duplicate checks.

In the embedded default this lives in the log's database file; in Kafka mode in the SQLite file
named by the ``state`` setting (a small local store: the producer is one process per deployment,
so it needs no compacted topic). It survives restarts, so a restart neither re-fetches what a 304
would answer nor re-publishes items already published. Columns added since the first release are
added to an existing file on open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, field, fields

from pipeline.transport.sqlite_common import add_columns, connect, sqlite_path
from producers.fetch import Validators
from producers.fingerprint import SCHEME, Fingerprint

__all__ = ["FeedState", "FeedStateStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_state (feed_id TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT,
  next_check REAL NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  last_success REAL, last_attempt REAL, last_status TEXT, items_published INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seen_items (item_id TEXT PRIMARY KEY, feed_id TEXT NOT NULL, first_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprints (item_id TEXT PRIMARY KEY, source TEXT NOT NULL, seen REAL NOT NULL,
  shingles BLOB NOT NULL, title_words BLOB NOT NULL, numbers BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprints_source ON fingerprints(source, seen);
"""
_ADDED_COLUMNS = {"usual_gap": "REAL", "latest_item": "REAL", "health_flag": "TEXT", "first_attempt": "REAL",
                  "moved_to": "TEXT"}
_TOUCH_AFTER = 86400.0  # a listed id's last-seen time is refreshed at most once a day


@dataclass(frozen=True)
class FeedState:
    feed_id: str
    url: str
    validators: Validators = field(default_factory=Validators)
    next_check: float = 0.0
    error_count: int = 0
    last_error: str | None = None
    last_success: float | None = None
    last_attempt: float | None = None
    last_status: str | None = None
    items_published: int = 0
    usual_gap: float | None = None  # median gap between the feed's recent publish times, seconds
    latest_item: float | None = None  # newest publish time seen (fetch time for undated new items)
    health_flag: str | None = None  # "broken" or "stale" once alerted, until the feed is healthy again
    first_attempt: float | None = None
    moved_to: str | None = None  # where the feed answered a permanent redirect (301/308) to; fetched from then on


_COLUMNS = ("url", "etag", "last_modified", *(f.name for f in fields(FeedState)[3:]))


class FeedStateStore:
    def __init__(self, url: str) -> None:
        self._db = connect(sqlite_path(url))
        self._db.executescript(_SCHEMA)
        add_columns(self._db, "feed_state", _ADDED_COLUMNS)
        add_columns(self._db, "seen_items", {"last_seen": "REAL"})  # NULL: first_seen
        add_columns(self._db, "fingerprints", {"scheme": "INTEGER NOT NULL DEFAULT 1"})  # rows before: scheme 1

    def get(self, feed_id: str, url: str) -> FeedState:
        return self.get_many([(feed_id, url)])[feed_id]

    def get_many(self, feeds: Sequence[tuple[str, str]]) -> dict[str, FeedState]:
        """The state of each ``(feed_id, url)``; a fresh state for a new feed, or one whose URL changed
        in the configuration (validators and schedule forgotten, counters kept)."""
        rows = {}
        ids = [feed_id for feed_id, _ in feeds]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._db.execute(f"SELECT feed_id, {', '.join(_COLUMNS)} FROM feed_state"
                                        f" WHERE feed_id IN ({marks})", chunk):
                rows[row[0]] = row[1:]
        return {feed_id: _state(feed_id, url, rows.get(feed_id)) for feed_id, url in feeds}

    def all(self) -> list[FeedState]:
        pairs = list(self._db.execute("SELECT feed_id, url FROM feed_state ORDER BY feed_id"))
        states = self.get_many(pairs)
        return [states[feed_id] for feed_id, _ in pairs]

    def save(self, state: FeedState) -> None:
        self.save_many([state])

    def save_many(self, states: Iterable[FeedState]) -> None:
        """Write states in one transaction."""
        marks = ", ".join("?" for _ in range(len(_COLUMNS) + 1))
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS)
        sql = (f"INSERT INTO feed_state (feed_id, {', '.join(_COLUMNS)}) VALUES ({marks})"
               f" ON CONFLICT (feed_id) DO UPDATE SET {updates}")
        rows = [(s.feed_id, s.url, s.validators.etag, s.validators.last_modified, *astuple(s)[3:]) for s in states]
        self._write(lambda: self._db.executemany(sql, rows))

    def unseen(self, item_ids: Iterable[str], now: float | None = None) -> set[str]:
        """The ids among ``item_ids`` that were never published. With ``now``, the ids already published
        are noted as still listed by their feed (at most once a day), which keeps them from being pruned."""
        ids = list(dict.fromkeys(item_ids))
        seen: set[str] = set()
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            rows = self._db.execute(f"SELECT item_id FROM seen_items WHERE item_id IN ({marks})", chunk)
            seen.update(row[0] for row in rows)
        if now is not None and seen:
            self._touch(sorted(seen), now)
        return set(ids) - seen

    def _touch(self, item_ids: list[str], now: float) -> None:
        def update() -> None:
            for chunk in _chunks(item_ids):
                marks = ", ".join("?" for _ in chunk)
                self._db.execute(f"UPDATE seen_items SET last_seen = ? WHERE item_id IN ({marks})"
                                 " AND COALESCE(last_seen, first_seen) < ?", (now, *chunk, now - _TOUCH_AFTER))
        self._write(update)

    def prune_seen(self, before: float) -> int:
        """Forget published ids that no feed has listed since ``before``."""
        return self._db.execute("DELETE FROM seen_items WHERE COALESCE(last_seen, first_seen) < ?", (before,)).rowcount

    def mark_seen(self, feed_id: str, item_ids: Iterable[str], now: float) -> None:
        rows = [(i, feed_id, now, now) for i in item_ids]
        self._write(lambda: self._db.executemany(
            "INSERT OR IGNORE INTO seen_items (item_id, feed_id, first_seen, last_seen) VALUES (?, ?, ?, ?)", rows))

    def fingerprints(self, source: str, since: float) -> list[tuple[str, Fingerprint]]:
        """Fingerprints of the items of ``source`` published since ``since``, newest first."""
        rows = self._db.execute("SELECT item_id, shingles, title_words, numbers FROM fingerprints"
                                " WHERE source = ? AND seen >= ? AND scheme = ? ORDER BY seen DESC",
                                (source, since, SCHEME))
        return [(item_id, Fingerprint.from_blobs(*blobs)) for item_id, *blobs in rows]

    def add_fingerprints(self, source: str, prints: Iterable[tuple[str, Fingerprint]], now: float) -> None:
        rows = [(item_id, source, now, *fp.to_blobs(), SCHEME) for item_id, fp in prints]
        self._write(lambda: self._db.executemany(
            "INSERT OR IGNORE INTO fingerprints (item_id, source, seen, shingles, title_words, numbers, scheme)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", rows))

    def prune_fingerprints(self, before: float) -> int:
        return self._db.execute("DELETE FROM fingerprints WHERE seen < ?", (before,)).rowcount

    def _write(self, action) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            action()
        except sqlite3.Error:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _state(feed_id: str, url: str, row: tuple | None) -> FeedState:
    if row is None:
        return FeedState(feed_id, url)
    values = dict(zip(_COLUMNS, row))
    kept = {k: values[k] for k in ("items_published", "usual_gap", "latest_item", "health_flag", "first_attempt")}
    if values["url"] != url:  # the feed moved in the configuration: forget validators, schedule and redirect
        return FeedState(feed_id, url, **kept)
    rest = {k: v for k, v in values.items() if k not in ("url", "etag", "last_modified")}
    return FeedState(feed_id, url, Validators(values["etag"], values["last_modified"]), **rest)
