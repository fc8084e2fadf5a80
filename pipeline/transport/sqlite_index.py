"""The embedded search index: SQLite FTS5 with bm25 ranking, keyword/number side tables for filters.

Schema (the query translator in :mod:`pipeline.query.sqlite` relies on it):

- ``docs``: one row per item id, the JSON document, and dates as Unix seconds (``ts`` = @timestamp);
- ``doc_keywords``: one row per keyword value (case-folded), e.g. (rowid, 'topics', 'counterterrorism');
- ``doc_numbers``: one row per number field, e.g. (rowid, 'scores.counterterrorism', 0.93);
- ``docs_fts``: FTS5 over title, summary and body (``unicode61 remove_diacritics 2``), rowid = docs.rowid.

Indexing an id that exists replaces the document, so replays never create a second copy.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any, Sequence

from pipeline.errors import RetryLater
from pipeline.fields import DATE_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS, keyword_values
from pipeline.item import parse_time
from pipeline.query import Query, to_sqlite
from pipeline.transport.base import Hit, Rejection, SearchFilters, SearchResult
from pipeline.transport.sqlite_common import connect, sqlite_path

__all__ = ["SqliteIndex"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, doc TEXT NOT NULL,
  ts REAL, published REAL, fetched_at REAL, classified_at REAL, indexed_at REAL);
CREATE INDEX IF NOT EXISTS docs_ts ON docs(ts);
CREATE TABLE IF NOT EXISTS doc_keywords (rowid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS doc_keywords_fv ON doc_keywords(field, value, rowid);
CREATE INDEX IF NOT EXISTS doc_keywords_row ON doc_keywords(rowid);
CREATE TABLE IF NOT EXISTS doc_numbers (rowid INTEGER NOT NULL, field TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS doc_numbers_fv ON doc_numbers(field, value, rowid);
CREATE INDEX IF NOT EXISTS doc_numbers_row ON doc_numbers(rowid);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(title, summary, body, tokenize='unicode61 remove_diacritics 2');
"""
_DATE_COLUMNS = {"@timestamp": "ts", "published": "published", "fetched_at": "fetched_at",
                 "classified_at": "classified_at", "indexed_at": "indexed_at"}
assert set(_DATE_COLUMNS) == set(DATE_FIELDS)


def _epoch(doc: dict[str, Any], name: str) -> float | None:
    value = doc.get(name)
    return parse_time(value, name).timestamp() if isinstance(value, str) and value else None


class SqliteIndex:
    def __init__(self, url: str, settings: object = None) -> None:
        self.path = sqlite_path(url)
        self._db = connect(self.path)
        self._db.executescript(_SCHEMA)
        self._pending: dict[str, dict[str, Any]] = {}

    def index(self, docs: Sequence[dict[str, Any]]) -> None:
        for doc in docs:
            self._pending[doc["id"]] = doc

    def flush(self) -> list[Rejection]:
        """Write every queued document in one transaction; SQLite rejects none of them."""
        if not self._pending:
            return []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for doc in self._pending.values():
                self._write(doc)
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise RetryLater(f"{self.path}: cannot write to the index: {exc}") from exc
        self._pending.clear()
        return []

    def _write(self, doc: dict[str, Any]) -> None:
        dates = [_epoch(doc, name) for name in _DATE_COLUMNS]
        columns = ", ".join(_DATE_COLUMNS.values())
        rowid = self._db.execute(
            f"INSERT INTO docs (id, doc, {columns}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            f" doc = excluded.doc, " + ", ".join(f"{c} = excluded.{c}" for c in _DATE_COLUMNS.values())
            + " RETURNING rowid",
            (doc["id"], json.dumps(doc, ensure_ascii=False), *dates),
        ).fetchone()[0]
        for table in ("doc_keywords", "doc_numbers", "docs_fts"):
            self._db.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
        self._db.executemany(
            "INSERT INTO doc_keywords VALUES (?, ?, ?)",
            [(rowid, name, value.casefold()) for name in KEYWORD_FIELDS for value in keyword_values(doc, name)],
        )
        scores = doc.get("scores") or {}
        self._db.executemany(
            "INSERT INTO doc_numbers VALUES (?, ?, ?)",
            [(rowid, f"scores.{topic}", float(score)) for topic, score in scores.items()],
        )
        self._db.execute(
            "INSERT INTO docs_fts (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
            (rowid, *[doc.get(name) or "" for name in TEXT_FIELDS]),
        )

    def search(self, query: Query, filters: SearchFilters, *, limit: int = 20, offset: int = 0,
               sort: str = "relevance", now: datetime | None = None) -> SearchResult:
        translated = to_sqlite(query, now or datetime.now(timezone.utc))
        where, params = _with_filters(translated.where, list(translated.params), filters)
        total = self._db.execute(f"SELECT COUNT(*) FROM docs d WHERE {where}", params).fetchone()[0]
        if translated.match and sort == "relevance":
            sql = (
                "SELECT d.doc, r.rank FROM docs d LEFT JOIN (SELECT rowid, bm25(docs_fts) AS rank FROM docs_fts"
                f" WHERE docs_fts MATCH ?) r ON r.rowid = d.rowid WHERE {where}"
                " ORDER BY r.rank IS NULL, r.rank, d.ts DESC LIMIT ? OFFSET ?"
            )
            rows = self._db.execute(sql, [translated.match, *params, limit, offset]).fetchall()
        else:
            sql = f"SELECT d.doc, NULL FROM docs d WHERE {where} ORDER BY d.ts DESC, d.rowid DESC LIMIT ? OFFSET ?"
            rows = self._db.execute(sql, [*params, limit, offset]).fetchall()
        hits = [Hit(json.loads(doc), None if rank is None else round(-rank, 4)) for doc, rank in rows]
        return SearchResult(total, hits)

    def get(self, item_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT doc FROM docs WHERE id = ?", (item_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    def close(self) -> None:
        self._db.close()


def _keyword_filter(field: str, values: tuple[str, ...], params: list[Any]) -> str:
    params.append(field)
    params.extend(v.casefold() for v in values)
    marks = ", ".join("?" for _ in values)
    return f"d.rowid IN (SELECT rowid FROM doc_keywords WHERE field = ? AND value IN ({marks}))"


def _with_filters(where: str, params: list[Any], filters: SearchFilters) -> tuple[str, list[Any]]:
    clauses = [f"({where})"]
    for field, values in (("topics", filters.topics), ("countries", filters.countries), ("source", filters.sources)):
        if values:
            clauses.append(_keyword_filter(field, values, params))
    if filters.since is not None:
        clauses.append("d.ts >= ?")
        params.append(filters.since.timestamp())
    if filters.until is not None:
        clauses.append("d.ts < ?")
        params.append(filters.until.timestamp())
    return " AND ".join(clauses), params
