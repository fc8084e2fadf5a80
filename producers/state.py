"""Persistent producer state in SQLite: per-feed validators and schedule, and ids already published.

In the embedded default this lives in the log's database file; in Kafka mode in the file named by
the ``state`` setting. It survives restarts, so a restart neither re-fetches what a 304 would
answer nor re-publishes items already published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pipeline.transport.sqlite_common import connect, sqlite_path
from producers.fetch import Validators

__all__ = ["FeedState", "FeedStateStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_state (feed_id TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT,
  next_check REAL NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  last_success REAL, last_attempt REAL, last_status TEXT, items_published INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seen_items (item_id TEXT PRIMARY KEY, feed_id TEXT NOT NULL, first_seen REAL NOT NULL);
"""


@dataclass(frozen=True)
class FeedState:
    feed_id: str
    url: str
    validators: Validators = Validators()
    next_check: float = 0.0
    error_count: int = 0
    last_error: str | None = None
    last_success: float | None = None
    last_attempt: float | None = None
    last_status: str | None = None
    items_published: int = 0


class FeedStateStore:
    def __init__(self, url: str) -> None:
        self._db = connect(sqlite_path(url))
        self._db.executescript(_SCHEMA)

    def get(self, feed_id: str, url: str) -> FeedState:
        row = self._db.execute(
            "SELECT url, etag, last_modified, next_check, error_count, last_error, last_success, last_attempt,"
            " last_status, items_published FROM feed_state WHERE feed_id = ?", (feed_id,),
        ).fetchone()
        if row is None:
            return FeedState(feed_id, url)
        stored_url, etag, modified, *rest = row
        if stored_url != url:  # the feed moved in the configuration: forget validators and schedule
            return FeedState(feed_id, url, items_published=rest[-1])
        return FeedState(feed_id, url, Validators(etag, modified), *rest)

    def all(self) -> list[FeedState]:
        ids = [r[0] for r in self._db.execute("SELECT feed_id, url FROM feed_state ORDER BY feed_id")]
        urls = dict(self._db.execute("SELECT feed_id, url FROM feed_state"))
        return [self.get(feed_id, urls[feed_id]) for feed_id in ids]

    def save(self, state: FeedState) -> None:
        self._db.execute(
            "INSERT INTO feed_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed_id) DO UPDATE SET"
            " url = excluded.url, etag = excluded.etag, last_modified = excluded.last_modified,"
            " next_check = excluded.next_check, error_count = excluded.error_count, last_error = excluded.last_error,"
            " last_success = excluded.last_success, last_attempt = excluded.last_attempt,"
            " last_status = excluded.last_status, items_published = excluded.items_published",
            (state.feed_id, state.url, state.validators.etag, state.validators.last_modified, state.next_check,
             state.error_count, state.last_error, state.last_success, state.last_attempt, state.last_status,
             state.items_published),
        )

    def unseen(self, item_ids: Iterable[str]) -> set[str]:
        """The ids among ``item_ids`` that were never published."""
        ids = list(dict.fromkeys(item_ids))
        seen: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            seen.update(r[0] for r in self._db.execute(f"SELECT item_id FROM seen_items WHERE item_id IN ({marks})", chunk))
        return set(ids) - seen

    def mark_seen(self, feed_id: str, item_ids: Iterable[str], now: float) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany(
            "INSERT OR IGNORE INTO seen_items VALUES (?, ?, ?)", [(i, feed_id, now) for i in item_ids]
        )
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
