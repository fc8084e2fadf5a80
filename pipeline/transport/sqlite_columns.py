"""In-memory columns of the embedded index for facets and histograms, counted with numpy.

Counting facet values and distinct stories row by row in SQL costs about a microsecond per row,
too slow for a search page over 100,000 documents. So each :class:`~pipeline.transport.sqlite_index.SqliteIndex`
that is asked for facets keeps, per document rowid, its ``@timestamp`` and story, and per facet
field the (rowid, value) pairs, as numpy arrays. SQL still decides which documents match (it returns
their rowids in one string); the counting is vectorised.

The columns follow the file: every flush stamps the documents it writes with the next ``seq``
(writers take turns on SQLite's write lock, so ``seq`` grows in commit order), and :meth:`Columns.refresh`,
called in the same read transaction as the query, reloads only the documents with a higher ``seq``
than it has seen. Documents are never deleted from the index, only replaced.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from pipeline.transport.base import FACET_FIELDS, top_values

__all__ = ["Columns", "rowid_array", "latest_seq", "ORIGIN", "WIDTHS"]

ORIGIN = -2208988800  # 1900-01-01T00:00:00Z, a Monday: hour, day and week buckets count from there
WIDTHS = {"hour": 3600, "day": 86400, "week": 7 * 86400}
_FULL_RELOAD = 20_000  # changed documents above which reloading everything is cheaper


def rowid_array(db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> np.ndarray:
    """The rowids a ``SELECT group_concat(...)`` returns as one comma-separated string (far cheaper
    than a row per rowid)."""
    text = db.execute(sql, params).fetchone()[0]
    return np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, np.int64)


def latest_seq(db: sqlite3.Connection) -> int:
    """The number of the last flush written to the file (0 when empty)."""
    return db.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()[0]


class _Field:
    """The (rowid, value code) pairs of one facet field; ``values[code]`` is the value as written."""

    def __init__(self) -> None:
        self.rows = np.zeros(0, np.int64)
        self.codes = np.zeros(0, np.int64)
        self.values: list[str] = []
        self.code_of: dict[str, int] = {}

    def code(self, value: str) -> int:
        found = self.code_of.get(value)
        if found is None:
            found = self.code_of[value] = len(self.values)
            self.values.append(value)
        return found

    def replace(self, dropped: np.ndarray, rows: list[int], values: list[str]) -> None:
        """Drop the pairs whose rowid is marked in ``dropped`` (a mask by rowid), then add the new ones."""
        keep = ~dropped[self.rows] if len(self.rows) else np.zeros(0, bool)
        self.rows = np.concatenate([self.rows[keep], np.array(rows, np.int64)])
        self.codes = np.concatenate([self.codes[keep], np.array([self.code(v) for v in values], np.int64)])


class Columns:
    """Arrays indexed by rowid (timestamp, story code, whether a document is there) and the facet
    fields' (rowid, value) pairs, as of the flush numbered ``seq``."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.seq = 0
        self.ts = np.zeros(0, np.float64)  # by rowid; NaN: no document or no @timestamp
        self.story = np.zeros(0, np.int64)  # by rowid: story code
        self.live = np.zeros(0, bool)  # by rowid: a document exists
        self.story_code: dict[str, int] = {}
        self.fields = {name: _Field() for name in FACET_FIELDS}

    # -- keeping up with the file --------------------------------------------------------------

    def refresh(self, db: sqlite3.Connection) -> None:
        """Load what was written since the last refresh (call it inside a read transaction)."""
        latest = latest_seq(db)
        if latest == self.seq:
            return
        changed = db.execute("SELECT COUNT(*) FROM docs WHERE seq > ?", (self.seq,)).fetchone()[0]
        if self.seq == 0 or changed > _FULL_RELOAD:
            self._load_all(db)
        else:
            self._load_changed(db)
        self.seq = latest

    def _grow(self, size: int) -> None:
        if size > len(self.live):
            size = max(size, 2 * len(self.live))
            extra = size - len(self.live)
            self.ts = np.concatenate([self.ts, np.full(extra, np.nan)])
            self.story = np.concatenate([self.story, np.zeros(extra, np.int64)])
            self.live = np.concatenate([self.live, np.zeros(extra, bool)])

    def _set_docs(self, rows: list[tuple[int, float | None, str]]) -> np.ndarray:
        rowids = np.array([r[0] for r in rows], np.int64)
        self._grow(int(rowids.max()) + 1 if len(rowids) else 0)
        codes = self.story_code
        self.ts[rowids] = np.array([np.nan if r[1] is None else r[1] for r in rows], np.float64)
        self.story[rowids] = np.array([codes.setdefault(r[2], len(codes)) for r in rows], np.int64)
        self.live[rowids] = True
        return rowids

    def _load_all(self, db: sqlite3.Connection) -> None:
        self._reset()
        self._set_docs(db.execute("SELECT rowid, ts, story FROM docs").fetchall())
        for name, field in self.fields.items():
            rows, codes = [], []
            for value, ids in db.execute("SELECT value, group_concat(rowid) FROM doc_facets WHERE field = ?"
                                         " GROUP BY value", (name,)):
                rows.append(np.fromstring(ids, dtype=np.int64, sep=","))
                codes.append(np.full(len(rows[-1]), field.code(value), np.int64))
            if rows:
                field.rows, field.codes = np.concatenate(rows), np.concatenate(codes)

    def _load_changed(self, db: sqlite3.Connection) -> None:
        rowids = self._set_docs(db.execute("SELECT rowid, ts, story FROM docs WHERE seq > ?", (self.seq,)).fetchall())
        dropped = np.zeros(len(self.live), bool)
        dropped[rowids] = True
        new: dict[str, tuple[list[int], list[str]]] = {name: ([], []) for name in self.fields}
        for name, value, rowid in db.execute("SELECT field, value, rowid FROM doc_facets WHERE rowid IN"
                                             " (SELECT rowid FROM docs WHERE seq > ?)", (self.seq,)):
            new[name][0].append(rowid)
            new[name][1].append(value)
        for name, field in self.fields.items():
            field.replace(dropped, *new[name])

    # -- counting ------------------------------------------------------------------------------

    def _mask(self, rowids: np.ndarray | None) -> np.ndarray:
        if rowids is None:
            return self.live
        mask = np.zeros(len(self.live), bool)
        mask[rowids] = True
        return mask

    def facets(self, fields: Sequence[str], rowids: np.ndarray | None, size: int) -> dict[str, list[tuple[str, int]]]:
        """Per field, the ``size`` values on most of the documents (``rowids``; None: all), ties by value."""
        mask = self._mask(rowids)
        out: dict[str, list[tuple[str, int]]] = {}
        for name in fields:
            field = self.fields[name]
            counts = np.bincount(field.codes[mask[field.rows]], minlength=len(field.values))
            present = int(np.count_nonzero(counts))
            if present == 0:
                out[name] = []
                continue
            kth = np.partition(counts, -min(size, present))[-min(size, present)]
            candidates = np.nonzero(counts >= max(kth, 1))[0]
            out[name] = top_values(((field.values[c], int(counts[c])) for c in candidates), size)
        return out

    def histogram(self, rowids: np.ndarray | None, interval: str) -> list[tuple[datetime, dict[str, int]]]:
        """Distinct stories per ``interval`` bucket of @timestamp, in all and per topic, oldest first."""
        width = WIDTHS[interval]
        ids = np.nonzero(self.live)[0] if rowids is None else rowids
        ids = ids[~np.isnan(self.ts[ids])]
        bucket_of = np.zeros(len(self.live), np.int64)
        bucket_of[ids] = np.floor((self.ts[ids] - ORIGIN) / width).astype(np.int64)
        buckets: dict[int, dict[str, int]] = {b: {"all": n} for b, n in self._distinct(bucket_of[ids], self.story[ids])}
        topics = self.fields["topics"]
        mask = np.zeros(len(self.live), bool)
        mask[ids] = True
        chosen = mask[topics.rows]
        rows, codes = topics.rows[chosen], topics.codes[chosen]
        for code in _sorted_unique(codes):
            of_topic = rows[codes == code]
            for b, n in self._distinct(bucket_of[of_topic], self.story[of_topic]):
                buckets[b][topics.values[code]] = n
        return [(datetime.fromtimestamp(b * width + ORIGIN, UTC), buckets[b]) for b in sorted(buckets)]

    def _distinct(self, buckets: np.ndarray, stories: np.ndarray) -> list[tuple[int, int]]:
        """(bucket, number of distinct stories) for parallel arrays of bucket and story code."""
        if not len(buckets):
            return []
        width = len(self.story_code) + 1
        pairs = _sorted_unique(buckets * width + stories)
        numbers = pairs // width  # sorted, since the pairs are
        starts = np.flatnonzero(np.concatenate(([True], numbers[1:] != numbers[:-1])))
        counts = np.diff(np.append(starts, len(numbers)))
        return list(zip(numbers[starts].tolist(), counts.tolist()))


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (numpy 2's hash-based unique is several times slower on these sizes)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values
