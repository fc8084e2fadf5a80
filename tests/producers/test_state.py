"""Producer state: published ids are remembered while feeds list them and forgotten after the retention;
fingerprints of an older hashing scheme stay out of the near-duplicate window."""

from __future__ import annotations

import sqlite3
import zlib

from producers.fingerprint import SCHEME, content_fingerprint
from producers.state import FeedStateStore
from tests.producers.feeds import STORIES

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


def test_fingerprints_hashed_the_old_way_are_never_compared_with_new_ones(tmp_path):
    """A state file from before the CRC-32 shingles: its BLAKE2b fingerprints (scheme 1) stay out of the
    near-duplicate window, so no new item is compared with hashes of another kind; they age out."""
    path = tmp_path / "state.db"
    old = content_fingerprint(STORIES[1].title, STORIES[1].summary)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE fingerprints (item_id TEXT PRIMARY KEY, source TEXT NOT NULL, seen REAL NOT NULL,"
               " shingles BLOB NOT NULL, title_words BLOB NOT NULL, numbers BLOB NOT NULL)")
    db.execute("INSERT INTO fingerprints VALUES ('before', 'Dawn', 10.0, ?, ?, ?)", old.to_blobs())
    db.commit()
    db.close()
    store = FeedStateStore(f"sqlite:///{path}")
    assert store.fingerprints("Dawn", since=0.0) == []
    store.add_fingerprints("Dawn", [("after", old)], now=20.0)
    assert store.fingerprints("Dawn", since=0.0) == [("after", old)]
    assert store.prune_fingerprints(before=15.0) == 1  # the old row goes with the window like any other
    assert SCHEME == 2


def test_shingles_are_crc32_of_their_text():
    fingerprint = content_fingerprint("Reko Diq copper project lenders sign financing terms",
                                      "Lenders signed financing terms for the Reko Diq copper project on Monday.")
    assert zlib.crc32(b"reko diq copper") in fingerprint.shingles
    assert zlib.crc32(b"lenders") in fingerprint.title_words
