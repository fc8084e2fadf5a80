"""Translation of a parsed query to SQL over newsmon's embedded SQLite/FTS5 index.

The index schema (created by the index module)::

    docs(rowid, id, ts, published, fetched_at, classified_at, indexed_at, ...)  -- dates: epoch seconds UTC
    doc_keywords(rowid, field, value)   -- one row per keyword value, value = original.casefold()
    doc_numbers(rowid, field, value)    -- e.g. field 'scores.counterterrorism'
    docs_fts USING fts5(title, summary, body, tokenize='unicode61 remove_diacritics 2')

:func:`to_sqlite` returns a :class:`SqlFilter`. ``where`` is a boolean expression over the alias ``d``
(the ``docs`` table) with ``?`` placeholders only: user text only ever travels in ``params``, and text
terms are sent as FTS5 expressions whose every token is a quoted FTS5 string, so ``AND``, ``NEAR``,
``"`` or ``*`` typed by a user cannot change the MATCH syntax. Every leaf is two-valued (never NULL),
so ``NOT`` behaves as in the in-memory evaluator for documents missing a field.

``match`` is an FTS5 expression OR-ing the positive text clauses, for ranking with ``bm25()`` only.
It is not a filter (``where`` alone decides what matches: ``a OR topics:x`` matches documents without
``a``), so join it with a LEFT JOIN, for example::

    SELECT d.id FROM docs d
    LEFT JOIN (SELECT rowid, bm25(docs_fts) AS rank FROM docs_fts WHERE docs_fts MATCH :match) r
           ON r.rowid = d.rowid
    WHERE <where> ORDER BY r.rank IS NULL, r.rank, d.ts DESC
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipeline.fields import DEFAULT_TEXT_FIELDS, FieldKind, field_kind
from pipeline.query.ast import (
    Bool,
    DateRange,
    Exists,
    Keyword,
    MatchAll,
    MultiTerm,
    Node,
    NumberRange,
    Query,
    Text,
    positive_text_leaves,
)
from pipeline.query.datemath import date_interval

__all__ = ["SqlFilter", "TermLookup", "to_sqlite", "fts_expression", "fts_match_expression", "glob_pattern"]


class TermLookup(Protocol):
    """What the translation asks the index for the leaves FTS5 cannot answer alone."""

    def expand(self, node: MultiTerm) -> list[str]:
        """The terms of the index's dictionary that a wildcard, fuzzy or regexp leaf matches."""

    def sloppy(self, node: Text) -> list[int]:
        """The rowids where a proximity leaf (``slop`` set) matches as Lucene's sloppy phrase."""

# Column of each date field in ``docs``: fixed identifiers, never user text.
_DATE_COLUMNS = {"@timestamp": "ts", "published": "published", "fetched_at": "fetched_at",
                 "classified_at": "classified_at", "indexed_at": "indexed_at"}
_TEXT_COLUMNS = {name: name for name in DEFAULT_TEXT_FIELDS}

_Sql = tuple[str, tuple]


@dataclass(frozen=True)
class SqlFilter:
    """``where``: SQL boolean over alias ``d``; ``params``: its ``?`` values in order;
    ``match``: FTS5 MATCH expression of the positive text clauses (ranking only), or None."""

    where: str
    params: tuple
    match: str | None


def to_sqlite(query: Query, now: datetime, terms: TermLookup | None = None) -> SqlFilter:
    """Translate ``query``; date math is resolved against ``now``. Wildcard, fuzzy and regexp leaves
    become the OR of the terms ``terms`` finds for them in the index's dictionary, proximity leaves
    the rowids it finds by their token positions (both need ``terms``)."""
    where, params = _Translation(now, terms).sql(query.root)
    return SqlFilter(where=f"({where})", params=params, match=fts_match_expression(query.root))


class _Translation:
    def __init__(self, now: datetime, terms: TermLookup | None) -> None:
        self.now, self._terms = now, terms

    @property
    def terms(self) -> TermLookup:
        if self._terms is None:
            raise ValueError("to_sqlite: wildcard, fuzzy, regexp and proximity leaves need the index's TermLookup")
        return self._terms

    def sql(self, node: Node) -> _Sql:
        if isinstance(node, MatchAll):
            return "1", ()
        if isinstance(node, Bool):
            return self._bool(node)
        if isinstance(node, Text) and node.slop is not None:
            return "d.rowid IN (SELECT value FROM json_each(?))", (json.dumps(self.terms.sloppy(node)),)
        if isinstance(node, Text):
            return _FTS_MATCH, (fts_expression(node),)
        if isinstance(node, Keyword):
            return _keyword(node)
        if isinstance(node, DateRange):
            return _date_range(node, self.now)
        if isinstance(node, NumberRange):
            return _number_range(node)
        if isinstance(node, Exists):
            return _exists(node)
        return self._multi_term(node)

    def _bool(self, node: Bool) -> _Sql:
        clauses = [self.sql(child) for child in node.must]
        if node.should and not node.must:
            clauses.append(_join([self.sql(child) for child in node.should], "OR"))
        for child in node.must_not:
            sql, params = self.sql(child)
            clauses.append((f"NOT ({sql})", params))
        return _join(clauses, "AND") if clauses else ("1", ())

    def _multi_term(self, node: MultiTerm) -> _Sql:
        terms = self.terms.expand(node)
        if not terms:
            return "0", ()
        columns = "{" + " ".join(_TEXT_COLUMNS[field] for field in node.fields) + "}"
        return _FTS_MATCH, (f"{columns} : ({' OR '.join(_quote(term) for term in terms)})",)


_FTS_MATCH = "d.rowid IN (SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?)"


def _join(parts: list[_Sql], operator: str) -> _Sql:
    sql = f" {operator} ".join(f"({part})" for part, _ in parts)
    return sql, tuple(value for _, params in parts for value in params)


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def fts_expression(node: Text) -> str:
    """The FTS5 query of one Text node, with its column filter."""
    columns = "{" + " ".join(_TEXT_COLUMNS[field] for field in node.fields) + "}"
    quoted = [_quote(token) for token in node.tokens]
    if node.slop is not None:
        return f"{columns} : NEAR({' '.join(quoted)}, {int(node.slop)})"
    return f"{columns} : {' + '.join(quoted)}{' *' if node.prefix else ''}"


def fts_match_expression(root: Node) -> str | None:
    """OR of the Text leaves not under a must_not, for bm25 ranking; None when there are none."""
    leaves = [f"({fts_expression(leaf)})" for leaf in positive_text_leaves(root)]
    return " OR ".join(leaves) or None


def glob_pattern(value: str) -> str:
    """A case-folded SQLite GLOB pattern for a Keyword wildcard pattern."""
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            char, index = value[index + 1], index + 2
            out.append(f"[{char}]" if char in "*?[" else char.casefold())
            continue
        out.append(char if char in "*?" else "[[]" if char == "[" else char.casefold())
        index += 1
    return "".join(out)


def _keyword(node: Keyword) -> _Sql:
    if node.wildcard:
        return ("d.rowid IN (SELECT rowid FROM doc_keywords WHERE field = ? AND value GLOB ?)",
                (node.field, glob_pattern(node.value)))
    return ("d.rowid IN (SELECT rowid FROM doc_keywords WHERE field = ? AND value = ?)",
            (node.field, node.value.casefold()))


def _bounds(column: str, low: float | None, low_inclusive: bool, high: float | None,
            high_inclusive: bool) -> _Sql:
    conditions: list[str] = []
    params: list[float] = []
    if low is not None:
        conditions.append(f"{column} {'>=' if low_inclusive else '>'} ?")
        params.append(low)
    if high is not None:
        conditions.append(f"{column} {'<=' if high_inclusive else '<'} ?")
        params.append(high)
    return " AND ".join(conditions), tuple(params)


def _date_range(node: DateRange, now: datetime) -> _Sql:
    column = "d." + _DATE_COLUMNS[node.field]
    interval = date_interval(node.low, node.high, node.include_low, node.include_high, now)
    sql, params = _bounds(
        column,
        None if interval.low is None else interval.low.timestamp(), interval.low_inclusive,
        None if interval.high is None else interval.high.timestamp(), interval.high_inclusive,
    )
    return f"{column} IS NOT NULL AND {sql}" if sql else f"{column} IS NOT NULL", params


def _number_range(node: NumberRange) -> _Sql:
    sql, params = _bounds("value", node.low, node.include_low, node.high, node.include_high)
    where = " AND ".join(part for part in ("field = ?", sql) if part)
    return f"d.rowid IN (SELECT rowid FROM doc_numbers WHERE {where})", (node.field, *params)


def _exists(node: Exists) -> _Sql:
    kind = field_kind(node.field)
    if kind is FieldKind.TEXT:
        column = _TEXT_COLUMNS[node.field]
        return f"d.rowid IN (SELECT rowid FROM docs_fts WHERE {column} <> '')", ()
    if kind is FieldKind.DATE:
        return f"d.{_DATE_COLUMNS[node.field]} IS NOT NULL", ()
    table = "doc_keywords" if kind is FieldKind.KEYWORD else "doc_numbers"
    return f"d.rowid IN (SELECT rowid FROM {table} WHERE field = ?)", (node.field,)
