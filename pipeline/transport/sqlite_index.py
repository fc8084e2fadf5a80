"""The embedded search index: SQLite FTS5 with bm25 ranking, keyword/number side tables for filters.

Schema (the query translator in :mod:`pipeline.query.sqlite` relies on the first four):

- ``docs``: one narrow row per item id: dates as Unix seconds (``ts`` = @timestamp), ``story`` (the
  case-folded ``story_id``, see :func:`~pipeline.transport.base.story_key`) and ``seq``, the
  number of the flush that last wrote it;
- ``doc_keywords``: one row per keyword value (case-folded), e.g. (rowid, 'topics', 'counterterrorism');
- ``doc_numbers``: one row per number field, e.g. (rowid, 'scores.counterterrorism', 0.93);
- ``docs_fts``: FTS5 over title, summary and body (``unicode61 remove_diacritics 2``), rowid = docs.rowid;
  an external-content table over the view ``doc_text`` (those three fields of ``doc_json``), so the
  text is stored once: FTS5 keeps only its inverted index;
- ``doc_json``: the JSON document, apart, so that filtering on ``docs`` reads small pages;
- ``doc_facets``: the values of the facet fields as written (original case), for facets.

Facets and histograms count over the matching rowids with the in-memory columns of
:mod:`pipeline.transport.sqlite_columns`, brought up to date from ``docs.seq`` before each use.
Indexing an id that exists replaces the document, so replays never create a second copy. A file
written by an older newsmon (schema 0: JSON inside ``docs``; schema 1: FTS5 holding its own copy of
the text) is converted once, when it is opened; the full-text index is then rebuilt from ``doc_json``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import ConfigError, RetryLater
from pipeline.fields import DATE_FIELDS, TEXT_FIELDS, keyword_fields, keyword_values
from pipeline.item import parse_time
from pipeline.query import Query, to_sqlite
from pipeline.query.ast import MatchAll
from pipeline.query.sqlite import TermLookup
from pipeline.transport.base import (
    ENTITY_FIELDS,
    FACET_FIELDS,
    Hit,
    Rejection,
    SearchFilters,
    SearchResult,
    check_facets,
    check_interval,
    story_key,
)
from pipeline.transport.sqlite_columns import Columns, latest_seq, rowid_array
from pipeline.transport.sqlite_common import connect, sqlite_path
from pipeline.transport.sqlite_terms import TermDictionary

__all__ = ["SqliteIndex"]

logger = logging.getLogger(__name__)

_RECENT = 8  # rowid sets kept for the next calls
_VERSION = 2  # PRAGMA user_version of this schema; 0: before doc_json and doc_facets; 1: FTS5 with its own text
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, ts REAL, published REAL,
  fetched_at REAL, classified_at REAL, indexed_at REAL, story TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS docs_ts ON docs(ts);
CREATE INDEX IF NOT EXISTS docs_seq ON docs(seq);
CREATE TABLE IF NOT EXISTS doc_json (rowid INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS doc_keywords (rowid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS doc_keywords_fv ON doc_keywords(field, value, rowid);
CREATE INDEX IF NOT EXISTS doc_keywords_row ON doc_keywords(rowid);
CREATE TABLE IF NOT EXISTS doc_numbers (rowid INTEGER NOT NULL, field TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS doc_numbers_fv ON doc_numbers(field, value, rowid);
CREATE INDEX IF NOT EXISTS doc_numbers_row ON doc_numbers(rowid);
CREATE TABLE IF NOT EXISTS doc_facets (field TEXT NOT NULL, value TEXT NOT NULL, rowid INTEGER NOT NULL,
  PRIMARY KEY (field, value, rowid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_facets_row ON doc_facets(rowid);
CREATE VIEW IF NOT EXISTS doc_text AS SELECT rowid, json_extract(doc, '$.title') AS title,
  json_extract(doc, '$.summary') AS summary, json_extract(doc, '$.body') AS body FROM doc_json;
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(title, summary, body, content='doc_text', content_rowid='rowid',
  tokenize='unicode61 remove_diacritics 2')
"""
# FTS5 must be told the text it indexed to forget it: both statements read it from doc_text.
_FTS_FORGET = ("INSERT INTO docs_fts (docs_fts, rowid, title, summary, body)"
               " SELECT 'delete', rowid, title, summary, body FROM doc_text WHERE rowid = ?")
_FTS_ADD = ("INSERT INTO docs_fts (rowid, title, summary, body)"
            " SELECT rowid, title, summary, body FROM doc_text WHERE rowid IN (SELECT value FROM json_each(?))")
_KNOWN_IDS = "SELECT rowid FROM docs WHERE id IN (SELECT value FROM json_each(?))"
assert TEXT_FIELDS == ("title", "summary", "body")  # the columns of doc_text and docs_fts
_DATE_COLUMNS = {"@timestamp": "ts", "published": "published", "fetched_at": "fetched_at",
                 "classified_at": "classified_at", "indexed_at": "indexed_at"}
assert set(_DATE_COLUMNS) == set(DATE_FIELDS)
_UPSERT = (
    f"INSERT INTO docs (id, story, seq, {', '.join(_DATE_COLUMNS.values())}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET story = excluded.story, seq = excluded.seq, "
    + ", ".join(f"{c} = excluded.{c}" for c in _DATE_COLUMNS.values()) + " RETURNING rowid"
)


def _epoch(doc: dict[str, Any], name: str) -> float | None:
    value = doc.get(name)
    return parse_time(value, name).timestamp() if isinstance(value, str) and value else None


def _facet_rows(rowid: int, doc: dict[str, Any],
                known: dict[str, list[str]] | None = None) -> list[tuple[str, str, int]]:
    """The document's ``doc_facets`` rows; ``known`` holds keyword values already worked out."""
    known = known or {}
    return list({(name, value, rowid) for name in FACET_FIELDS
                 for value in (known[name] if name in known else keyword_values(doc, name))})


def _side_rows(rowid: int, doc: dict[str, Any]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The document's rows of ``doc_keywords``, ``doc_facets`` and ``doc_numbers``."""
    values = {name: keyword_values(doc, name) for name in keyword_fields(doc)}
    keywords = [(rowid, name, value.casefold()) for name, found in values.items() for value in found]
    facets = _facet_rows(rowid, doc, values)
    scores = doc.get("scores") or {}
    numbers = [(rowid, f"scores.{topic}", float(score)) for topic, score in scores.items()]
    return keywords, facets, numbers


def _prepare(db: sqlite3.Connection, path: Any) -> None:
    """Create the schema, or convert a file of schema version 0, once; concurrent openers take turns."""
    if db.execute("PRAGMA user_version").fetchone()[0] == _VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > _VERSION:
            raise ConfigError(f"{path}: search index schema {version} is newer than this newsmon's ({_VERSION})")
        if version < _VERSION:
            old = "doc" in {row[1] for row in db.execute("PRAGMA table_info(docs)")}
            own_text = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs_fts'").fetchone() is not None
            if own_text:
                logger.warning("event=index_upgrade path=%s from_schema=%d to_schema=%d hint=converting once and"
                               " rebuilding the full-text index; a large file takes a minute or more",
                               path, version, _VERSION)
                db.execute("DROP TABLE docs_fts")
            if old:
                db.execute("ALTER TABLE docs RENAME TO docs_v0")
                db.execute("DROP INDEX IF EXISTS docs_ts")
            for statement in _SCHEMA.split(";"):
                db.execute(statement)
            if old:
                _convert_v0(db)
            if own_text:
                db.execute("INSERT INTO docs_fts (docs_fts) VALUES ('rebuild')")
            db.execute(f"PRAGMA user_version = {_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _convert_v0(db: sqlite3.Connection, chunk: int = 1000) -> None:
    """Move the JSON out of ``docs_v0`` and derive ``story`` and ``doc_facets`` from it."""
    db.execute("INSERT INTO doc_json (rowid, doc) SELECT rowid, doc FROM docs_v0")
    last = 0
    while rows := db.execute("SELECT rowid, id, ts, published, fetched_at, classified_at, indexed_at, doc"
                             " FROM docs_v0 WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, chunk)).fetchall():
        for rowid, *columns, text in rows:
            doc = json.loads(text)
            db.execute("INSERT INTO docs (rowid, id, ts, published, fetched_at, classified_at, indexed_at, story, seq)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)", (rowid, *columns, story_key(doc)))
            db.executemany("INSERT OR IGNORE INTO doc_facets VALUES (?, ?, ?)", _facet_rows(rowid, doc))
        last = rows[-1][0]
    db.execute("DROP TABLE docs_v0")


class SqliteIndex:
    """:class:`~pipeline.transport.base.SearchIndex` (writer and reader) on one SQLite file."""

    concurrent_reads = False  # one connection, kept in the thread that opened it

    def __init__(self, url: str, settings: object = None) -> None:
        self.path = sqlite_path(url)
        self._db = connect(self.path)
        _prepare(self._db, self.path)
        self._pending: dict[str, dict[str, Any]] = {}
        self._columns: Columns | None = None  # made on the first facets or histogram
        self._recent: OrderedDict[tuple, Any] = OrderedDict()  # (where, params, seq) -> rowids
        self._terms = TermDictionary()  # read on the first wildcard, fuzzy, regexp or proximity query

    def setup(self) -> str:
        """Nothing to set up: opening the file created (or converted) the schema."""
        return ""

    def ready(self) -> bool:
        """No probe: a locked file is retried after the loop's backoff."""
        return False

    def index(self, docs: Sequence[dict[str, Any]]) -> None:
        for doc in docs:
            self._pending[doc["id"]] = doc

    def flush(self) -> list[Rejection]:
        """Write every queued document in one transaction; SQLite rejects none of them."""
        if not self._pending:
            return []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM docs").fetchone()[0]
            self._write(list(self._pending.values()), seq)
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise RetryLater(f"{self.path}: cannot write to the index: {exc}") from exc
        self._pending.clear()
        return []

    def _write(self, docs: list[dict[str, Any]], seq: int) -> None:
        """Upsert ``docs`` (distinct ids) in the open transaction: a document already here first loses
        its side rows and its words in the full-text index, then every document gets them anew."""
        existing = {rowid for (rowid,) in self._db.execute(_KNOWN_IDS, (json.dumps([d["id"] for d in docs]),))}
        rowids = [self._db.execute(_UPSERT, (doc["id"], story_key(doc), seq,
                                             *[_epoch(doc, name) for name in _DATE_COLUMNS])).fetchone()[0]
                  for doc in docs]
        replaced = [(rowid,) for rowid in rowids if rowid in existing]
        if replaced:
            for table in ("doc_keywords", "doc_numbers", "doc_facets"):
                self._db.executemany(f"DELETE FROM {table} WHERE rowid = ?", replaced)
            self._db.executemany(_FTS_FORGET, replaced)  # reads the text being replaced: before doc_json
        self._db.executemany("INSERT OR REPLACE INTO doc_json (rowid, doc) VALUES (?, ?)",
                             [(rowid, json.dumps(doc, ensure_ascii=False)) for rowid, doc in zip(rowids, docs)])
        self._db.execute(_FTS_ADD, (json.dumps(rowids),))
        keywords, facets, numbers = [], [], []
        for rowid, doc in zip(rowids, docs):
            doc_keywords, doc_facets, doc_numbers = _side_rows(rowid, doc)
            keywords += doc_keywords
            facets += doc_facets
            numbers += doc_numbers
        self._db.executemany("INSERT INTO doc_keywords VALUES (?, ?, ?)", keywords)
        self._db.executemany("INSERT INTO doc_facets VALUES (?, ?, ?)", facets)
        self._db.executemany("INSERT INTO doc_numbers VALUES (?, ?, ?)", numbers)

    def search(self, query: Query, filters: SearchFilters, *, limit: int = 20, offset: int = 0,
               sort: str = "relevance", now: datetime | None = None) -> SearchResult:
        translated, where, params = _where(query, filters, now, self._terms.lookup(self._db))
        if translated.match and sort == "relevance":
            page = ("SELECT d.rowid, r.rank FROM docs d LEFT JOIN (SELECT rowid, bm25(docs_fts) AS rank"
                    f" FROM docs_fts WHERE docs_fts MATCH ?) r ON r.rowid = d.rowid WHERE {where}"
                    " ORDER BY r.rank IS NULL, r.rank, d.ts DESC LIMIT ? OFFSET ?")
            page_params = [translated.match, *params, limit, offset]
        else:
            page = (f"SELECT d.rowid, NULL AS rank FROM docs d WHERE {where}"
                    " ORDER BY d.ts DESC, d.rowid DESC LIMIT ? OFFSET ?")
            page_params = [*params, limit, offset]
        with _snapshot(self._db):
            rowids = self._rowids(query, filters, where, params)
            total = self.count() if rowids is None else len(rowids)
            ranked = self._db.execute(page, page_params).fetchall()  # the page's rowids first, then only its JSON
            docs = dict(self._db.execute("SELECT rowid, doc FROM doc_json WHERE rowid IN"
                                         " (SELECT value FROM json_each(?))", (json.dumps([r for r, _ in ranked]),)))
        hits = [Hit(json.loads(docs[rowid]), None if rank is None else round(-rank, 4)) for rowid, rank in ranked]
        return SearchResult(total, hits)

    def facets(self, query: Query, filters: SearchFilters, fields: Sequence[str], *, size: int = 10,
               now: datetime | None = None) -> dict[str, list[tuple[str, int]]]:
        check_facets(fields, size)
        columns, rowids = self._matching(query, filters, now)
        return columns.facets(list(dict.fromkeys(fields)), rowids, size)

    def histogram(self, query: Query, filters: SearchFilters, *, interval: str,
                  now: datetime | None = None) -> list[tuple[datetime, dict[str, int]]]:
        check_interval(interval)
        columns, rowids = self._matching(query, filters, now)
        return columns.histogram(rowids, interval)

    def _matching(self, query: Query, filters: SearchFilters, now: datetime | None) -> tuple[Columns, Any]:
        """The up-to-date columns and the rowids of the matching documents, read in one snapshot."""
        _, where, params = _where(query, filters, now, self._terms.lookup(self._db))
        if self._columns is None:
            self._columns = Columns()
        with _snapshot(self._db):
            self._columns.refresh(self._db)
            return self._columns, self._rowids(query, filters, where, params)

    def _rowids(self, query: Query, filters: SearchFilters, where: str, params: list[Any]) -> Any:
        """The rowids matching ``where`` (None: every document). The last few answers are kept while
        nothing is written: the search page asks for hits, facets and a histogram of one query (and
        facets of each filter field without that field's filter)."""
        if isinstance(query.root, MatchAll) and filters == SearchFilters():
            return None
        key = (where, tuple(params), latest_seq(self._db))
        if key in self._recent:
            self._recent.move_to_end(key)
        else:
            sql = f"SELECT group_concat(d.rowid) FROM docs d WHERE {where}"
            self._recent[key] = rowid_array(self._db, sql, params)
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
        return self._recent[key]

    def get(self, item_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT j.doc FROM docs d JOIN doc_json j ON j.rowid = d.rowid WHERE d.id = ?",
                               (item_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class _snapshot:
    """A read transaction, so that several statements see the same state of the file."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, *exc: object) -> None:
        self.db.execute("COMMIT")


def _keyword_filter(fields: tuple[str, ...], values: tuple[str, ...], params: list[Any]) -> str:
    params.extend(fields)
    params.extend(v.casefold() for v in values)
    names = ", ".join("?" for _ in fields)
    marks = ", ".join("?" for _ in values)
    return f"d.rowid IN (SELECT rowid FROM doc_keywords WHERE field IN ({names}) AND value IN ({marks}))"


def _where(query: Query, filters: SearchFilters, now: datetime | None,
           terms: TermLookup) -> tuple[Any, str, list[Any]]:
    """The query translated to SQL, and the WHERE clause with its parameters once the filters are added."""
    translated = to_sqlite(query, now or datetime.now(UTC), terms)
    return (translated, *_with_filters(translated.where, list(translated.params), filters))


def _with_filters(where: str, params: list[Any], filters: SearchFilters) -> tuple[str, list[Any]]:
    clauses = [f"({where})"]
    for fields, values in ((("topics",), filters.topics), (("countries",), filters.countries),
                           (("source",), filters.sources), (ENTITY_FIELDS, filters.entities)):
        if values:
            clauses.append(_keyword_filter(fields, values, params))
    if filters.since is not None:
        clauses.append("d.ts >= ?")
        params.append(filters.since.timestamp())
    if filters.until is not None:
        clauses.append("d.ts < ?")
        params.append(filters.until.timestamp())
    return " AND ".join(clauses), params
