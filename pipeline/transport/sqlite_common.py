"""SQLite helpers shared by the embedded backends: URL to path, and connections set up for several processes."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["sqlite_path", "connect"]


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
