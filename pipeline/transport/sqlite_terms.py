"""The SQLite index's term dictionary and token positions, for what FTS5 cannot answer alone.

A wildcard (``*stan``), fuzzy (``talib~1``) or regexp (``/talib[a-z]n/``) leaf is expanded against
the tokens FTS5 has indexed, read through an ``fts5vocab`` table, and searched as the OR of the
terms it matches (:mod:`pipeline.query.sqlite`), as Lucene rewrites such a query against its term
dictionary. The dictionary is read once and kept until a flush writes to the index (its ``seq``
changes), so the search page's hits, facets and histogram of one query read it once.

A proximity leaf (``"suicide attack"~3``) is Lucene's sloppy phrase: FTS5 ``NEAR`` with a window
wide enough to hold every match finds the candidates, then the terms' positions (an ``fts5vocab``
``instance`` table) decide with :func:`pipeline.query.evaluate.sloppy_distance`, the evaluator's
own definition, so a field matches when the phrase is at most ``slop`` moves away.

The expansion uses the terms of all three text fields together; Lucene expands each field's own
terms. They differ only for a fuzzy term with more than 50 candidates in one field (which 50 are
kept) — see docs/search.md.
"""

from __future__ import annotations

import bisect
import re
import sqlite3
from collections import OrderedDict

from pipeline.query.ast import Fuzzy, MultiTerm, Text, Wildcard
from pipeline.query.evaluate import sloppy_distance
from pipeline.query.multiterm import expand
from pipeline.query.sqlite import fts_expression
from pipeline.transport.sqlite_columns import latest_seq

__all__ = ["TermDictionary"]

_VOCABULARY = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.docs_terms USING fts5vocab(main, docs_fts, row)"
_INSTANCES = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.docs_instances USING fts5vocab(main, docs_fts, instance)"
_RECENT_SLOPPY = 16  # proximity answers kept, per (leaf, flush)
_LITERAL_START = re.compile(r"[^*?\\]*")


class TermDictionary:
    """The sorted distinct tokens of one index file, re-read after each flush."""

    def __init__(self) -> None:
        self._seq: int | None = None
        self._terms: list[str] = []
        self._by_length: dict[int, list[str]] = {}
        self.sloppy_answers: OrderedDict[tuple[Text, int], list[int]] = OrderedDict()

    def lookup(self, db: sqlite3.Connection) -> _Lookup:
        """The :class:`pipeline.query.sqlite.TermLookup` of ``db`` as it is now."""
        return _Lookup(self, db)

    def expand(self, db: sqlite3.Connection, node: MultiTerm) -> list[str]:
        self._refresh(db)
        return expand(node, self._candidates(node))

    def _refresh(self, db: sqlite3.Connection) -> None:
        seq = latest_seq(db)
        if seq == self._seq:
            return
        db.execute(_VOCABULARY)
        self._terms = [term for (term,) in db.execute("SELECT term FROM temp.docs_terms ORDER BY term")]
        self._by_length = {}
        for term in self._terms:
            self._by_length.setdefault(len(term), []).append(term)
        self._seq = seq

    def _candidates(self, node: MultiTerm) -> list[str]:
        """The terms worth testing: for a fuzzy term those of a length within its edits, for a
        wildcard those starting with its literal beginning, else all."""
        if isinstance(node, Fuzzy):
            size = len(node.term)
            return [term for length in range(size - node.max_edits, size + node.max_edits + 1)
                    for term in self._by_length.get(length, ())]
        if isinstance(node, Wildcard):
            literal = _LITERAL_START.match(node.pattern)
            start = literal.group(0) if literal else ""
            if start:
                low = bisect.bisect_left(self._terms, start)
                high = bisect.bisect_left(self._terms, start + "\U0010ffff")
                return self._terms[low:high]
        return self._terms


class _Lookup:
    def __init__(self, terms: TermDictionary, db: sqlite3.Connection) -> None:
        self._terms, self._db = terms, db

    def expand(self, node: MultiTerm) -> list[str]:
        return self._terms.expand(self._db, node)

    def sloppy(self, node: Text) -> list[int]:
        """Rowids with a field where ``node``'s words are within ``node.slop`` moves of the phrase; the
        last few answers are kept until the next flush (the page asks for one query several times)."""
        key = (node, latest_seq(self._db))
        recent = self._terms.sloppy_answers
        if key not in recent:
            recent[key] = self._sloppy(node)
            while len(recent) > _RECENT_SLOPPY:
                recent.popitem(last=False)
        return recent[key]

    def _sloppy(self, node: Text) -> list[int]:
        slop = node.slop or 0
        window = Text(node.fields, node.tokens, slop=slop + len(node.tokens))  # every match lies inside
        candidates = {rowid for (rowid,) in self._db.execute(
            "SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?", (fts_expression(window),))}
        if not candidates:
            return []
        self._db.execute(_INSTANCES)
        words = sorted(set(node.tokens))
        positions: dict[tuple[int, str], dict[str, list[int]]] = {}
        rows = self._db.execute(f"SELECT doc, col, term, offset FROM temp.docs_instances WHERE term IN"
                                f" ({', '.join('?' for _ in words)})", words)
        for rowid, column, term, offset in rows:
            if rowid in candidates and column in node.fields:
                positions.setdefault((rowid, column), {}).setdefault(term, []).append(offset)
        matched = {rowid for (rowid, _), found in positions.items()
                   if (distance := sloppy_distance(node.tokens, found)) is not None and distance <= slop}
        return sorted(matched)
