"""The embedded log: one append-only SQLite table per topic, committed offsets per consumer group.

Offsets are the table's ``INTEGER PRIMARY KEY AUTOINCREMENT`` values. SQLite serialises writers,
so a reader never sees a later offset before an earlier one: a consumer reading "offset > last" in
order misses nothing. Every topic has one partition (0). Several processes may share the file
(WAL mode); two consumers of the same group each read every record, which the stages' idempotent
writes absorb.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Sequence

from pipeline.errors import RetryLater
from pipeline.transport.base import PartitionLag, Record
from pipeline.transport.sqlite_common import connect, sqlite_path

__all__ = ["SqliteLog"]

_POLL_INTERVAL = 0.05


def _table(topic: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", topic):
        raise ValueError(f"invalid topic name {topic!r}")
    return "log_" + re.sub(r"[^A-Za-z0-9]", "_", topic)


class SqliteLog:
    def __init__(self, url: str, settings: object = None) -> None:
        self.path = sqlite_path(url)
        self._db = connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS consumer_offsets (group_id TEXT NOT NULL, topic TEXT NOT NULL,"
            " partition INTEGER NOT NULL, next_offset INTEGER NOT NULL, committed_at REAL NOT NULL,"
            " PRIMARY KEY (group_id, topic, partition))"
        )
        self._known: set[str] = set()

    def ensure_topics(self, topics: Sequence[str]) -> None:
        for topic in topics:
            if topic not in self._known:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {_table(topic)} (offset INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " key TEXT NOT NULL, value BLOB NOT NULL, ts REAL NOT NULL)"
                )
                self._known.add(topic)

    def producer(self) -> SqliteProducer:
        return SqliteProducer(self)

    def consumer(self, group: str, topics: Sequence[str]) -> SqliteConsumer:
        self.ensure_topics(topics)
        return SqliteConsumer(self, group, tuple(topics))

    def append(self, records: list[tuple[str, str, bytes]]) -> None:
        """Append (topic, key, value) records in one transaction."""
        self.ensure_topics(sorted({topic for topic, _, _ in records}))
        now = time.time()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for topic, key, value in records:
                self._db.execute(f"INSERT INTO {_table(topic)} (key, value, ts) VALUES (?, ?, ?)", (key, value, now))
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise RetryLater(f"{self.path}: cannot append to the log: {exc}") from exc

    def read(self, topic: str, after: int, limit: int) -> list[Record]:
        rows = self._db.execute(
            f"SELECT offset, key, value, ts FROM {_table(topic)} WHERE offset > ? ORDER BY offset LIMIT ?",
            (after, limit),
        ).fetchall()
        return [Record(topic, 0, offset, key, bytes(value), ts) for offset, key, value, ts in rows]

    def committed(self, group: str, topic: str) -> int:
        """The next offset the group will read (0 when it never committed)."""
        row = self._db.execute(
            "SELECT next_offset FROM consumer_offsets WHERE group_id = ? AND topic = ? AND partition = 0",
            (group, topic),
        ).fetchone()
        return row[0] if row else 0

    def lag(self, group: str, topic: str) -> list[PartitionLag]:
        self.ensure_topics([topic])
        row = self._db.execute(
            "SELECT next_offset, committed_at FROM consumer_offsets WHERE group_id = ? AND topic = ? AND partition = 0",
            (group, topic),
        ).fetchone()
        committed, committed_at = row if row else (None, None)
        end, behind, start = self._db.execute(
            f"SELECT COALESCE(MAX(offset), 0) + 1, COUNT(*) FILTER (WHERE offset >= ?),"
            f" COALESCE(MIN(offset), MAX(offset) + 1, 1) FROM {_table(topic)}",
            (committed or 0,),
        ).fetchone()
        return [PartitionLag(topic, 0, end, committed, behind, committed_at, start)]

    def read_from_start(self, topic: str, limit: int) -> list[Record]:
        self.ensure_topics([topic])
        return self.read(topic, 0, limit)

    def commit(self, group: str, offsets: dict[tuple[str, int], int]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for (topic, partition), next_offset in offsets.items():
                self._db.execute(
                    "INSERT INTO consumer_offsets VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, topic, partition)"
                    " DO UPDATE SET next_offset = excluded.next_offset, committed_at = excluded.committed_at",
                    (group, topic, partition, next_offset, time.time()),
                )
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise RetryLater(f"{self.path}: cannot commit offsets: {exc}") from exc

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()


class SqliteProducer:
    """Buffers records and appends them in one transaction on flush."""

    def __init__(self, log: SqliteLog) -> None:
        self._log = log
        self._pending: list[tuple[str, str, bytes]] = []

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self._pending.append((topic, key, value))

    def flush(self) -> None:
        if self._pending:
            self._log.append(self._pending)
            self._pending = []

    def ready(self) -> bool:
        """A local file: its only failure is a writer holding the lock past the busy timeout."""
        return True

    def close(self) -> None:
        self.flush()


class SqliteConsumer:
    def __init__(self, log: SqliteLog, group: str, topics: tuple[str, ...]) -> None:
        self._log, self._group, self._topics = log, group, topics
        # position = the last offset handed out, per topic; starts at the group's committed offset
        self._position = {topic: log.committed(group, topic) - 1 for topic in topics}

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        deadline = time.monotonic() + timeout
        while True:
            records: list[Record] = []
            for topic in self._topics:
                batch = self._log.read(topic, self._position[topic], max_records - len(records))
                if batch:
                    self._position[topic] = batch[-1].offset
                    records.extend(batch)
                if len(records) >= max_records:
                    break
            if records or time.monotonic() >= deadline:
                return records
            time.sleep(_POLL_INTERVAL)

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        self._log.commit(self._group, offsets)

    def lag(self) -> dict[str, int]:
        return {t: self._log.lag(self._group, t)[0].lag for t in self._topics}

    def close(self) -> None:
        pass
