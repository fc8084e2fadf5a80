"""The story store in SQLite (the state database), shared by every classifier process.

Table ``story_bands(band PRIMARY KEY, story_id, seen_at)``: the first story to claim an LSH band
within the window owns it. :meth:`SqliteStoryStore.assign_many` looks up and claims a whole batch in
one ``BEGIN IMMEDIATE`` transaction, so processes serialise on it and never split a story between
them; a replayed item finds the bands it claimed before and gets the same story. Bands older than
the window are overwritten by a new claim and pruned now and then.

Limits: processes must share the file (one host, or a shared volume with working locks, not NFS);
pruning makes an item replayed after the window start a new story; two items that arrive in the
same batch window in different processes are ordered by whichever transaction ran first.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence

from pipeline.errors import RetryLater
from pipeline.nlp.stories import StoryCandidate, assign_story
from pipeline.transport.sqlite_common import connect, sqlite_path

__all__ = ["SqliteStoryStore"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS story_bands (band TEXT PRIMARY KEY, story_id TEXT NOT NULL, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS story_bands_seen ON story_bands(seen_at);
"""
_PRUNE_EVERY = 500


class SqliteStoryStore:
    """:class:`~pipeline.nlp.stories.StoryStore` over ``sqlite:///path.db``."""

    def __init__(self, url: str) -> None:
        self._db = connect(sqlite_path(url))
        self._db.executescript(_SCHEMA)
        self._since_prune = 0

    def assign_many(self, entries: Sequence[tuple[str, Sequence[str], float]], window: float) -> list[str]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = [self._assign(item_id, bands, seen_at, window) for item_id, bands, seen_at in entries]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:  # locked past the busy timeout, disk trouble
            raise RetryLater(f"story store: {exc}") from exc
        self._since_prune += len(entries)
        if self._since_prune >= _PRUNE_EVERY and entries:
            self._prune(max(seen for _, _, seen in entries) - 2 * window)
        return out

    def _assign(self, item_id: str, bands: Sequence[str], seen_at: float, window: float) -> str:
        if not bands:
            return item_id
        marks = ",".join("?" * len(bands))
        rows = self._db.execute(f"SELECT story_id, seen_at FROM story_bands WHERE band IN ({marks}) AND seen_at >= ?",
                                (*bands, seen_at - window)).fetchall()
        story = assign_story(item_id, (StoryCandidate(s, t) for s, t in rows))
        self._db.executemany(
            "INSERT INTO story_bands (band, story_id, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT(band) DO UPDATE SET story_id = excluded.story_id, seen_at = excluded.seen_at"
            " WHERE story_bands.seen_at < ?",
            [(band, story, seen_at, seen_at - window) for band in bands])
        return story

    def _prune(self, before: float) -> None:
        self._since_prune = 0
        deleted = self._db.execute("DELETE FROM story_bands WHERE seen_at < ?", (before,)).rowcount
        if deleted:
            logger.info("event=story_bands_pruned rows=%d", deleted)

    def close(self) -> None:
        self._db.close()
