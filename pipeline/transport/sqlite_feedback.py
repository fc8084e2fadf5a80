"""Analysts' verdicts, kept in the state database beside the alert and feed state (every process of
one installation reaches it: the embedded default, and the Kafka + Elasticsearch set, whose state is a
SQLite file too).

``feedback_verdicts`` holds the latest verdict per (item, topic); ``feedback_history`` every verdict
and withdrawal in the order given, for the audit. A verdict older than the one stored (a replay, a
second process) does not replace it: the latest wins, and recording the same verdict again is a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.feedback import Verdict
from pipeline.transport.sqlite_common import add_columns, connect, sqlite_path

__all__ = ["FeedbackStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback_verdicts (
    item_id TEXT NOT NULL, topic TEXT NOT NULL, verdict TEXT NOT NULL, who TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (item_id, topic));
CREATE INDEX IF NOT EXISTS feedback_verdicts_at ON feedback_verdicts (at);
CREATE TABLE IF NOT EXISTS feedback_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, topic TEXT NOT NULL, verdict TEXT,
    who TEXT NOT NULL, at REAL NOT NULL);
"""


class FeedbackStore:
    def __init__(self, url: str) -> None:
        self._db = connect(sqlite_path(url))
        self._db.executescript(_SCHEMA)
        add_columns(self._db, "feedback_verdicts", {"story_id": "TEXT NOT NULL DEFAULT ''"})
        self._db.execute("CREATE INDEX IF NOT EXISTS feedback_verdicts_story ON feedback_verdicts (story_id)")

    def record(self, verdicts: Sequence[Verdict]) -> None:
        """Store the verdicts (a None verdict withdraws the topic's) in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for v in verdicts:
                self._db.execute("INSERT INTO feedback_history (item_id, topic, verdict, who, at)"
                                 " VALUES (?, ?, ?, ?, ?)", (v.item_id, v.topic, v.verdict, v.who, v.at))
                if v.verdict is None:
                    self._db.execute("DELETE FROM feedback_verdicts WHERE item_id = ? AND topic = ? AND at <= ?",
                                     (v.item_id, v.topic, v.at))
                    continue
                self._db.execute(
                    "INSERT INTO feedback_verdicts (item_id, topic, verdict, who, at, story_id)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, topic) DO UPDATE SET verdict = excluded.verdict,"
                    " who = excluded.who, at = excluded.at, story_id = excluded.story_id WHERE excluded.at >= at",
                    (v.item_id, v.topic, v.verdict, v.who, v.at, v.story_id))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def current(self, since: float | None = None) -> list[Verdict]:
        """Every standing verdict (given at or after ``since``), oldest first."""
        rows = self._db.execute("SELECT item_id, topic, verdict, who, at FROM feedback_verdicts WHERE at >= ?"
                                " ORDER BY at, item_id, topic", (since or 0.0,)).fetchall()
        return [Verdict(*row) for row in rows]

    def for_items(self, item_ids: Sequence[str]) -> list[Verdict]:
        """The standing verdicts of these items."""
        found: list[Verdict] = []
        ids = list(dict.fromkeys(item_ids))
        for start in range(0, len(ids), 500):  # within SQLite's limit on bound parameters
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._db.execute(f"SELECT item_id, topic, verdict, who, at FROM feedback_verdicts"
                                    f" WHERE item_id IN ({marks})", chunk).fetchall()
            found += [Verdict(*row) for row in rows]
        return found

    def marked_no(self, story_id: str) -> set[str]:
        """The topics an analyst said an item of this story is not about."""
        rows = self._db.execute("SELECT DISTINCT topic FROM feedback_verdicts WHERE story_id = ? AND verdict = 'no'",
                                (story_id,))
        return {row[0] for row in rows}

    def history(self, limit: int = 100) -> list[Verdict]:
        """The latest ``limit`` verdicts and withdrawals, newest first."""
        rows = self._db.execute("SELECT item_id, topic, verdict, who, at FROM feedback_history"
                                " ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [Verdict(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
