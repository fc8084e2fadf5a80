"""The state of the windowed and new-term rule kinds in the state database (tables in
:mod:`consumers.alert_schema`), each with the key that makes it idempotent:

- ``alert_window_stories`` (rule, key, window start, story): the distinct stories counted in a
  window, per value of the rule's ``group_by`` (``''`` without one), with a brief of the item
  (title, source, link...) for the alert; a second item of a story in the window adds nothing;
- ``alert_window_marks`` (rule): how far the rule's windows were closed (``closed_until``): an item
  of a window ending at or before it is late; and ``watch_from``, the start of the first window
  that began after the rule's first close (the first a flatline rule judges: it saw it whole);
- ``alert_window_claims`` (rule, key, window start): one row per alert, inserted in the transaction
  that queues it, so a (rule, key, window) alerts once whatever the processes, restarts and
  replays; for ``new_term`` the window start is the first mention's event time;
- ``alert_terms`` (rule, term): when each value was first and last named (event time);
- ``alert_rule_starts`` (rule): the event time of the first story the rule counted (where its
  history, and a new_term rule's warmup, begin).

:class:`KindState` only reads and writes; the caller holds the transaction
(:meth:`consumers.alert_store.AlertStore.transaction`), reads outside one see committed state.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consumers.alert_schema import dumps

__all__ = ["WindowStory", "WindowCount", "KindState"]


@dataclass(frozen=True)
class WindowStory:
    story_id: str
    label: str  # the key as this story's item wrote it
    event_at: float
    added_at: float
    brief: dict[str, Any]


@dataclass(frozen=True)
class WindowCount:
    key: str
    label: str
    start: float
    count: int


class KindState:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def mark(self, rule: str) -> float | None:
        row = self._db.execute("SELECT closed_until FROM alert_window_marks WHERE rule = ?", (rule,)).fetchone()
        return None if row is None else float(row[0])

    def watch_from(self, rule: str) -> float | None:
        row = self._db.execute("SELECT watch_from FROM alert_window_marks WHERE rule = ?", (rule,)).fetchone()
        return None if row is None else float(row[0])

    def set_mark(self, rule: str, closed_until: float, watch_from: float, now: float) -> None:
        """Move the mark forward to ``closed_until``; ``watch_from`` is kept from the first close."""
        self._db.execute("INSERT INTO alert_window_marks (rule, closed_until, watch_from, closed_at)"
                         " VALUES (?, ?, ?, ?) ON CONFLICT (rule) DO UPDATE SET"
                         " closed_until = MAX(closed_until, excluded.closed_until), closed_at = excluded.closed_at",
                         (rule, closed_until, watch_from, now))

    def started(self, rule: str, moment: float) -> float:
        """The rule's first story's event time, ``moment`` when this is the first."""
        self._db.execute("INSERT OR IGNORE INTO alert_rule_starts (rule, started) VALUES (?, ?)", (rule, moment))
        return float(self._db.execute("SELECT started FROM alert_rule_starts WHERE rule = ?", (rule,)).fetchone()[0])

    def first_story(self, rule: str) -> float | None:
        row = self._db.execute("SELECT started FROM alert_rule_starts WHERE rule = ?", (rule,)).fetchone()
        return None if row is None else float(row[0])

    def add_story(self, rule: str, key: str, start: float, story: WindowStory, item_id: str) -> bool:
        """Count the story in the key's window; False when it was counted there already."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO alert_window_stories (rule, key, start, story_id, label, item_id, event_at,"
            " added_at, brief) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rule, key, start, story.story_id, story.label, item_id, story.event_at, story.added_at,
             dumps(story.brief)))
        return cursor.rowcount == 1

    def count(self, rule: str, key: str, start: float) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM alert_window_stories WHERE rule = ? AND key = ?"
                                    " AND start = ?", (rule, key, start)).fetchone()[0])

    def counts(self, rule: str, key: str, since: float, until: float) -> dict[float, int]:
        """Stories per window start of the key, for the windows starting in ``[since, until)``."""
        rows = self._db.execute("SELECT start, COUNT(*) FROM alert_window_stories WHERE rule = ? AND key = ?"
                                " AND start >= ? AND start < ? GROUP BY start", (rule, key, since, until))
        return {float(start): int(n) for start, n in rows}

    def stories(self, rule: str, key: str, start: float, limit: int) -> list[WindowStory]:
        """The window's stories, in event-time order."""
        rows = self._db.execute("SELECT story_id, label, event_at, added_at, brief FROM alert_window_stories"
                                " WHERE rule = ? AND key = ? AND start = ? ORDER BY event_at, story_id LIMIT ?",
                                (rule, key, start, limit)).fetchall()
        return [WindowStory(story_id, label, event_at, added_at, json.loads(brief))
                for story_id, label, event_at, added_at, brief in rows]

    def window_counts(self, rule: str) -> list[WindowCount]:
        """Every window of the rule that holds stories, per key, oldest first."""
        rows = self._db.execute("SELECT key, MIN(label), start, COUNT(*) FROM alert_window_stories WHERE rule = ?"
                                " GROUP BY key, start ORDER BY start, key", (rule,)).fetchall()
        return [WindowCount(key, label, float(start), int(n)) for key, label, start, n in rows]

    def claimed(self, rule: str, key: str, start: float) -> bool:
        return self._db.execute("SELECT 1 FROM alert_window_claims WHERE rule = ? AND key = ? AND start = ?",
                                (rule, key, start)).fetchone() is not None

    def claim(self, rule: str, key: str, start: float, kind: str, alert_id: str, count: int, now: float) -> bool:
        """Claim the (rule, key, window) alert; False when it was claimed before (by anyone)."""
        cursor = self._db.execute("INSERT OR IGNORE INTO alert_window_claims (rule, key, start, kind, alert_id, count,"
                                  " claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  (rule, key, start, kind, alert_id, count, now))
        return cursor.rowcount == 1

    def last_seen(self, rule: str, term: str) -> float | None:
        row = self._db.execute("SELECT last_seen FROM alert_terms WHERE rule = ? AND term = ?", (rule, term)).fetchone()
        return None if row is None else float(row[0])

    def see_term(self, rule: str, term: str, label: str, moment: float, new: bool) -> None:
        """Record a mention: a new term starts again from ``moment``, a known one keeps its latest mention."""
        if new:
            self._db.execute("INSERT OR REPLACE INTO alert_terms (rule, term, label, first_seen, last_seen)"
                             " VALUES (?, ?, ?, ?, ?)", (rule, term, label, moment, moment))
        else:
            self._db.execute("UPDATE alert_terms SET last_seen = MAX(last_seen, ?) WHERE rule = ? AND term = ?",
                             (moment, rule, term))

    def terms(self, rule: str) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM alert_terms WHERE rule = ?", (rule,)).fetchone()[0])

    def prune_windows(self, rule: str, before: float) -> int:
        """Forget the rule's counted stories of the windows starting before ``before``."""
        return self._db.execute("DELETE FROM alert_window_stories WHERE rule = ? AND start < ?",
                                (rule, before)).rowcount

    def prune_terms(self, rule: str, before: float) -> int:
        """Forget the rule's terms last named before ``before`` (they would be new again anyway)."""
        return self._db.execute("DELETE FROM alert_terms WHERE rule = ? AND last_seen < ?", (rule, before)).rowcount

    def prune_stale(self, before: float, configured: Sequence[str]) -> int:
        """Forget claims made before ``before``, and the stories counted before it for rules not in
        ``configured`` (the configured ones are pruned by their own horizon)."""
        keep = ", ".join("?" for _ in configured) or "''"
        removed = self._db.execute(f"DELETE FROM alert_window_stories WHERE added_at < ? AND rule NOT IN ({keep})",
                                   (before, *configured)).rowcount
        return removed + self._db.execute("DELETE FROM alert_window_claims WHERE claimed_at < ?", (before,)).rowcount
