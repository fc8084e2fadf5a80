"""Producer state: published ids are remembered while feeds list them and forgotten after the retention."""

from __future__ import annotations

import sqlite3

from producers.state import FeedStateStore

DAY = 86400.0


def test_published_ids_are_not_unseen(tmp_path):
    store = FeedStateStore(f"sqlite:///{tmp_path}/state.db")
    store.mark_seen("feed", ["a", "b"], now=0.0)
    assert store.unseen(["a", "b", "c"]) == {"c"}


def test_an_id_no_feed_lists_any_more_is_forgotten_after_the_retention(tmp_path):
    store = FeedStateStore(f"sqlite:///{tmp_path}/state.db")
    store.mark_seen("feed", ["old", "listed"], now=0.0)
    for day in range(1, 100):  # "listed" stays in the feed, "old" dropped out on day 0
        store.unseen(["listed"], now=day * DAY)
    assert store.prune_seen(before=100 * DAY - 90 * DAY) == 1
    assert store.unseen(["old", "listed"]) == {"old"}


def test_listed_ids_are_touched_at_most_once_a_day(tmp_path):
    path = tmp_path / "state.db"
    store = FeedStateStore(f"sqlite:///{path}")
    store.mark_seen("feed", ["a"], now=0.0)
    store.unseen(["a"], now=3600.0)  # within a day of the last touch: no write
    last_seen = sqlite3.connect(path).execute("SELECT last_seen FROM seen_items").fetchone()[0]
    assert last_seen == 0.0
    store.unseen(["a"], now=DAY + 1)
    last_seen = sqlite3.connect(path).execute("SELECT last_seen FROM seen_items").fetchone()[0]
    assert last_seen == DAY + 1


def test_a_state_file_from_before_last_seen_is_upgraded_and_keeps_its_ids(tmp_path):
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE seen_items (item_id TEXT PRIMARY KEY, feed_id TEXT NOT NULL, first_seen REAL NOT NULL)")
    db.execute("INSERT INTO seen_items VALUES ('x', 'feed', 10.0)")
    db.commit()
    db.close()
    store = FeedStateStore(f"sqlite:///{path}")
    assert store.unseen(["x"]) == set()
    assert store.prune_seen(before=5.0) == 0
    assert store.prune_seen(before=11.0) == 1
