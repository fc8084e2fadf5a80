"""In-memory evaluation of a parsed query against one index document (a dict, see :mod:`pipeline.fields`).

Used by the alerter on each streaming item and by in-memory index doubles. It gives the same answer as
the SQLite translation (:mod:`pipeline.query.sqlite`) for the same document, which the parity tests
check: text is analysed with :func:`pipeline.query.analysis.tokens` (the FTS5 tokenizer), keywords are
compared case-folded, dates are compared as instants in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pipeline.errors import SchemaError
from pipeline.fields import FieldKind, date_value, field_kind, keyword_values, number_value, text_value
from pipeline.item import parse_time
from pipeline.query.analysis import tokens
from pipeline.query.ast import (
    Bool,
    DateRange,
    Exists,
    Fuzzy,
    Keyword,
    MatchAll,
    MultiTerm,
    Node,
    NumberRange,
    Query,
    Regexp,
    Text,
    Wildcard,
)
from pipeline.query.datemath import Interval, date_interval
from pipeline.query.multiterm import accepts

__all__ = ["PreparedDocument", "prepare", "matches", "matches_prepared", "text_matches", "keyword_pattern",
           "sloppy_distance"]


class PreparedDocument:
    """One document plus the caches of its analysed text fields, shared by every query evaluated on
    it (the alerter prepares each item once for all its rules)."""

    def __init__(self, doc: dict[str, Any], now: datetime) -> None:
        self.doc = doc
        self.now = now
        self._tokens: dict[str, list[str]] = {}
        self._token_sets: dict[str, frozenset[str]] = {}

    def tokens(self, field: str) -> list[str]:
        if field not in self._tokens:
            self._tokens[field] = tokens(text_value(self.doc, field))
        return self._tokens[field]

    def token_set(self, field: str) -> frozenset[str]:
        if field not in self._token_sets:
            self._token_sets[field] = frozenset(self.tokens(field))
        return self._token_sets[field]


def prepare(doc: dict[str, Any], now: datetime) -> PreparedDocument:
    """``doc`` ready for :func:`matches_prepared`; date math is resolved against ``now``."""
    return PreparedDocument(doc, now)


def matches(query: Query, doc: dict[str, Any], now: datetime) -> bool:
    """True when ``doc`` matches ``query``; date math is resolved against ``now``."""
    return matches_prepared(query, prepare(doc, now))


def matches_prepared(query: Query, doc: PreparedDocument) -> bool:
    """:func:`matches` on a prepared document: its fields are analysed once for every query."""
    return _matches(query.root, doc)


def _matches(node: Node, doc: PreparedDocument) -> bool:
    return _EVALUATORS[type(node)](node, doc)


def _bool(node: Bool, doc: PreparedDocument) -> bool:
    if not all(_matches(child, doc) for child in node.must):
        return False
    if any(_matches(child, doc) for child in node.must_not):
        return False
    if node.should and not node.must:
        return any(_matches(child, doc) for child in node.should)
    return True


def _text(node: Text, doc: PreparedDocument) -> bool:
    if len(node.tokens) == 1 and node.slop is None and not node.prefix:  # one word: a set lookup
        return any(node.tokens[0] in doc.token_set(field) for field in node.fields)
    return any(text_matches(node, doc.tokens(field)) for field in node.fields)


def _multi_term(node: MultiTerm, doc: PreparedDocument) -> bool:
    """Any token of the document's own fields that the pattern accepts (no expansion cap: the cap
    of a fuzzy term applies to an index's whole dictionary, not to one document)."""
    return any(accepts(node, token) for field in node.fields for token in set(doc.tokens(field)))


def text_matches(node: Text, words: list[str]) -> bool:
    """Whether one field's tokens match a Text node (phrase, prefix, or sloppy phrase)."""
    if node.slop is not None:
        return _near(node.tokens, node.slop, words)
    size = len(node.tokens)
    head, last = node.tokens[:-1], node.tokens[-1]
    for start in range(len(words) - size + 1):
        if tuple(words[start:start + size - 1]) != head:
            continue
        word = words[start + size - 1]
        if word == last or (node.prefix and word.startswith(last)):
            return True
    return False


def _near(terms: tuple[str, ...], slop: int, words: list[str]) -> bool:
    """Lucene's sloppy phrase ``"t1 t2 ..."~slop`` on one field's tokens (see :func:`sloppy_distance`)."""
    positions = {term: [i for i, word in enumerate(words) if word == term] for term in terms}
    distance = sloppy_distance(terms, positions)
    return distance is not None and distance <= slop


def sloppy_distance(terms: tuple[str, ...], positions: dict[str, list[int]]) -> int | None:
    """How far a field is from holding the phrase ``terms`` exactly, as Lucene's sloppy phrase
    counts it: each term ``k`` at a position ``p`` is shifted by ``p - k`` from its place in the
    phrase, and the distance is the spread (largest minus smallest shift) of the best choice of one
    occurrence per term. So words in order with one word between are 1 apart, two neighbours in
    reverse order 2. None when a term does not occur. (A term repeated in the phrase is not kept to
    distinct positions.)"""
    shifts = sorted((p - k, k) for k, term in enumerate(terms) for p in positions.get(term, ()))
    need, seen, covered, best, low = len(terms), [0] * len(terms), 0, None, 0
    for shift, k in shifts:
        seen[k] += 1
        covered += seen[k] == 1
        while covered == need:
            spread = shift - shifts[low][0]
            best = spread if best is None or spread < best else best
            seen[shifts[low][1]] -= 1
            covered -= seen[shifts[low][1]] == 0
            low += 1
    return best


def keyword_pattern(value: str) -> re.Pattern[str]:
    """A case-folded regex for a Keyword wildcard pattern (``*``, ``?``, backslash escapes)."""
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            out.append(re.escape(value[index + 1].casefold()))
            index += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char.casefold()))
        index += 1
    return re.compile("".join(out), re.DOTALL)


def _keyword(node: Keyword, doc: PreparedDocument) -> bool:
    values = [value.casefold() for value in keyword_values(doc.doc, node.field)]
    if not node.wildcard:
        return node.value.casefold() in values
    pattern = keyword_pattern(node.value)
    return any(pattern.fullmatch(value) for value in values)


def _date_seconds(doc: PreparedDocument, field: str) -> float | None:
    text = date_value(doc.doc, field)
    if text is None:
        return None
    try:
        return parse_time(text, field).timestamp()
    except SchemaError:
        return None


def _date_range(node: DateRange, doc: PreparedDocument) -> bool:
    seconds = _date_seconds(doc, node.field)
    if seconds is None:
        return False
    interval = date_interval(node.low, node.high, node.include_low, node.include_high, doc.now)
    return Interval(
        None if interval.low is None else interval.low.timestamp(), interval.low_inclusive,
        None if interval.high is None else interval.high.timestamp(), interval.high_inclusive,
    ).contains(seconds)


def _number_range(node: NumberRange, doc: PreparedDocument) -> bool:
    value = number_value(doc.doc, node.field)
    if value is None:
        return False
    return Interval(node.low, node.include_low, node.high, node.include_high).contains(value)


def _exists(node: Exists, doc: PreparedDocument) -> bool:
    kind = field_kind(node.field)
    if kind is FieldKind.TEXT:
        return text_value(doc.doc, node.field) != ""
    if kind is FieldKind.KEYWORD:
        return bool(keyword_values(doc.doc, node.field))
    if kind is FieldKind.DATE:
        return _date_seconds(doc, node.field) is not None
    return number_value(doc.doc, node.field) is not None


_EVALUATORS: dict[type, Callable[[Any, PreparedDocument], bool]] = {
    MatchAll: lambda node, doc: True,
    Bool: _bool,
    Text: _text,
    Keyword: _keyword,
    DateRange: _date_range,
    NumberRange: _number_range,
    Exists: _exists,
    Wildcard: _multi_term,
    Fuzzy: _multi_term,
    Regexp: _multi_term,
}
