"""SQLite helpers shared by the embedded backends: URL to path, connections set up for several processes,
and adding columns safely while other processes open the same file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["sqlite_path", "connect", "add_columns"]


def sqlite_path(url: str) -> Path:
    """``sqlite:///data/x.db`` is relative to the working directory, ``sqlite:////var/x.db`` absolute."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(f"{url!r}: expected sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return Path(url[len(prefix):])


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with a generous busy timeout, so several processes can share the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"{path}: cannot open SQLite database: {exc}") from None
    connection.execute("PRAGMA busy_timeout=30000")
    _use_wal(connection, path)
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _use_wal(connection: sqlite3.Connection, path: Path) -> None:
    """Switch to WAL once (it persists in the file). Switching needs a moment alone with the file
    and SQLite does not wait for it, so retry briefly when another connection is opening it too."""
    deadline = time.monotonic() + 30.0
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise ConfigError(f"{path}: cannot open SQLite database: {exc}") from None
            time.sleep(0.05)


def add_columns(db: sqlite3.Connection, table: str, columns: Mapping[str, str]) -> None:
    """Add the ``columns`` (name -> type) that ``table`` lacks. The check and the ``ALTER TABLE`` run
    in one write transaction: two processes opening a new file at once would otherwise both find a
    column missing, and the second to add it would fail."""
    if set(columns) <= _columns(db, table):
        return  # the usual case: nothing to add, no write lock taken
    db.execute("BEGIN IMMEDIATE")
    try:
        present = _columns(db, table)
        for name, kind in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
