"""SQLite helpers shared by the embedded backends: URL to path, and connections set up for several processes."""

from __future__ import annotations

import sqlite3
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
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection
