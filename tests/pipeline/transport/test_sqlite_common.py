"""pipeline.transport.sqlite_common.add_columns: a column is added once however many processes open a
new or old file at the same moment; the stores that add columns (feed state, analysts' verdicts) open
side by side on a fresh file without "duplicate column name"."""

from __future__ import annotations

import threading

import pytest

from pipeline.transport import sqlite_common
from pipeline.transport.sqlite_common import add_columns, connect
from pipeline.transport.sqlite_feedback import FeedbackStore
from producers.state import FeedStateStore


def test_missing_columns_are_added_and_present_ones_left(tmp_path):
    db = connect(tmp_path / "x.db")
    db.execute("CREATE TABLE t (id TEXT, kept REAL)")
    add_columns(db, "t", {"kept": "REAL", "added": "TEXT NOT NULL DEFAULT ''"})
    add_columns(db, "t", {"kept": "REAL", "added": "TEXT NOT NULL DEFAULT ''"})  # again: nothing to do
    assert [row[1] for row in db.execute("PRAGMA table_info(t)")] == ["id", "kept", "added"]


def test_a_column_another_process_added_after_the_first_look_is_not_added_twice(tmp_path, monkeypatch):
    mine, theirs = connect(tmp_path / "x.db"), connect(tmp_path / "x.db")
    mine.execute("CREATE TABLE t (id TEXT)")
    columns, looks = sqlite_common._columns, []

    def look(db, table):
        looks.append(db)
        found = columns(db, table)
        if len(looks) == 1:  # between this process's first look and its ALTER, the other one adds it
            theirs.execute("ALTER TABLE t ADD COLUMN extra REAL")
        return found

    monkeypatch.setattr(sqlite_common, "_columns", look)
    add_columns(mine, "t", {"extra": "REAL"})
    assert columns(mine, "t") == {"id", "extra"} and len(looks) == 2  # looked again under the write lock


def open_at_once(store, url: str, count: int = 4) -> list[Exception]:
    """Open ``store(url)`` from ``count`` threads released together; what they raised."""
    start, errors = threading.Barrier(count), []

    def open_store():
        start.wait()
        try:
            store(url).close()
        except Exception as exc:  # collected: the caller's assertion names it
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.parametrize("store", [FeedStateStore, FeedbackStore])
def test_stores_open_side_by_side_on_a_new_file(tmp_path, store):
    for round_ in range(10):
        assert open_at_once(store, f"sqlite:///{tmp_path}/state-{round_}.db") == []
